package backoffice

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/gorilla/mux"
	"github.com/jackc/pgx/v5"

	"github.com/storefleet/storefleet/internal/database"
	"github.com/storefleet/storefleet/internal/money"
	"github.com/storefleet/storefleet/internal/staff"
	"github.com/storefleet/storefleet/internal/web"
	"github.com/storefleet/storefleet/tenantapp/internal/storefront"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

// shippingMethod is one way of sending an order, with its rate.
type shippingMethod struct {
	ID          int64
	Name        string
	Description string
	Price       int64
	FreeOver    *int64 // free when the goods cost at least this much; nil: never
	Countries   []string
	Active      bool
	Position    int
}

// shippingInput is the method form as typed.
type shippingInput struct {
	Name, Description, Price, FreeOver, Countries string
}

// shippingRow is a method as the list shows it.
type shippingRow struct {
	shippingMethod
	PriceText, FreeOverText, Where string
	First, Last                    bool
}

type shippingPage struct {
	page
	Currency string
	Methods  []shippingRow
	// Method is the method being edited (the edit page); Input and Errors
	// are the form's values and what is wrong with them.
	Method *shippingMethod
	Input  shippingInput
	Errors map[string]string
}

const shippingColumns = `id, name, description, price_minor, free_over_minor, countries, active, position`

func scanShipping(row pgx.Row) (*shippingMethod, error) {
	var m shippingMethod
	err := row.Scan(&m.ID, &m.Name, &m.Description, &m.Price, &m.FreeOver, &m.Countries, &m.Active, &m.Position)
	if err != nil {
		return nil, err
	}
	return &m, nil
}

func listShipping(ctx context.Context, q interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}) ([]*shippingMethod, error) {
	rows, err := q.Query(ctx, `SELECT `+shippingColumns+` FROM shipping_methods ORDER BY position, id`)
	if err != nil {
		return nil, fmt.Errorf("list shipping methods: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*shippingMethod, error) { return scanShipping(row) })
	if err != nil {
		return nil, fmt.Errorf("list shipping methods: %w", err)
	}
	return out, nil
}

func (m *shippingMethod) input(digits int) shippingInput {
	in := shippingInput{Name: m.Name, Description: m.Description, Price: money.FormatAmount(m.Price, digits),
		Countries: strings.Join(m.Countries, ", ")}
	if m.FreeOver != nil {
		in.FreeOver = money.FormatAmount(*m.FreeOver, digits)
	}
	return in
}

// GET /admin/shipping: the shop's shipping methods in the order shoppers
// see them, and a form to add one.
func (h *Handler) shippingList(w http.ResponseWriter, r *http.Request) error {
	return h.renderShipping(w, r, http.StatusOK, nil, shippingInput{}, nil)
}

func (h *Handler) renderShipping(w http.ResponseWriter, r *http.Request, status int, edit *shippingMethod, in shippingInput, errs map[string]string) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	cur, _, err := shopCurrency(ctx, t)
	if err != nil {
		return err
	}
	p := shippingPage{page: h.page(r, "Shipping"), Currency: cur, Method: edit, Input: in, Errors: errs}
	if edit != nil {
		p.Title = "Shipping: " + edit.Name
		return h.templates.Render(w, status, "admin_shipping_form", p)
	}
	list, err := listShipping(ctx, t.Pool)
	if err != nil {
		return err
	}
	for i, m := range list {
		row := shippingRow{shippingMethod: *m, PriceText: money.Format(m.Price, cur), Where: "Everywhere",
			First: i == 0, Last: i == len(list)-1}
		if m.Price == 0 {
			row.PriceText = "Free"
		}
		if m.FreeOver != nil {
			row.FreeOverText = money.Format(*m.FreeOver, cur)
		}
		if len(m.Countries) > 0 {
			row.Where = strings.Join(m.Countries, ", ")
		}
		p.Methods = append(p.Methods, row)
	}
	return h.templates.Render(w, status, "admin_shipping", p)
}

func shippingForm(r *http.Request) shippingInput {
	f := r.PostFormValue
	return shippingInput{Name: f("name"), Description: f("description"), Price: f("price"), FreeOver: f("free_over"),
		Countries: f("countries")}
}

// parse checks the form and returns the method it describes, or what is
// wrong by field.
func (in shippingInput) parse(digits int) (shippingMethod, map[string]string) {
	errs := map[string]string{}
	m := shippingMethod{Name: strings.TrimSpace(in.Name), Description: strings.TrimSpace(in.Description)}
	switch n := len([]rune(m.Name)); {
	case n == 0:
		errs["name"] = "Give the method a name shoppers understand, such as “Standard delivery”."
	case n > 100:
		errs["name"] = "Use at most 100 characters."
	}
	if len([]rune(m.Description)) > 300 {
		errs["description"] = "Use at most 300 characters."
	}
	price, err := money.ParseAmount(in.Price, digits)
	if err != nil {
		errs["price"] = err.Error()
	}
	m.Price = price
	if s := strings.TrimSpace(in.FreeOver); s != "" {
		v, err := money.ParseAmount(s, digits)
		if err != nil {
			errs["free_over"] = err.Error()
		} else {
			m.FreeOver = &v
		}
	}
	countries, msg := parseCountries(in.Countries)
	if msg != "" {
		errs["countries"] = msg
	}
	m.Countries = countries
	if len(errs) == 0 {
		return m, nil
	}
	return m, errs
}

// parseCountries reads a list of ISO 3166-1 alpha-2 codes separated by
// commas, semicolons or spaces, in capitals, each once, sorted.
func parseCountries(s string) ([]string, string) {
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' || r == ' ' || r == '\t' || r == '\n' || r == '\r' })
	out := []string{}
	var bad []string
	for _, f := range fields {
		c := strings.ToUpper(f)
		if !isoCountries[c] {
			bad = append(bad, f)
			continue
		}
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	if len(bad) > 0 {
		return out, fmt.Sprintf("%s: not a country code. Use two-letter ISO codes such as DE, FR, US, separated by commas.", strings.Join(bad, ", "))
	}
	if len(out) > 250 {
		return out, "Too many countries."
	}
	slices.Sort(out)
	return out, ""
}

// shippingFields are a method as audit entries show it.
func shippingFields(m *shippingMethod) map[string]any {
	var free any
	if m.FreeOver != nil {
		free = *m.FreeOver
	}
	return map[string]any{"name": m.Name, "description": m.Description, "price_minor": m.Price, "free_over_minor": free,
		"countries": strings.Join(m.Countries, ","), "active": m.Active}
}

// POST /admin/shipping: add a method at the end of the list.
func (h *Handler) shippingCreate(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	_, digits, err := shopCurrency(ctx, t)
	if err != nil {
		return err
	}
	in := shippingForm(r)
	m, errs := in.parse(digits)
	if errs != nil {
		return h.renderShipping(w, r, http.StatusUnprocessableEntity, nil, in, errs)
	}
	m.Active = true
	err = database.Transact(ctx, t.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `LOCK TABLE shipping_methods IN SHARE ROW EXCLUSIVE MODE`); err != nil {
			return fmt.Errorf("lock shipping methods: %w", err)
		}
		err := tx.QueryRow(ctx, `INSERT INTO shipping_methods (name, description, price_minor, free_over_minor, countries, position)
			VALUES ($1, $2, $3, $4, $5, (SELECT coalesce(max(position) + 1, 0) FROM shipping_methods)) RETURNING id, position`,
			m.Name, m.Description, m.Price, m.FreeOver, m.Countries).Scan(&m.ID, &m.Position)
		if err != nil {
			return fmt.Errorf("add shipping method: %w", err)
		}
		e := actor(r, Current(ctx))
		e.Action, e.TargetType, e.TargetID, e.After = "shipping.created", "shipping_method", strconv.FormatInt(m.ID, 10), shippingFields(&m)
		return staff.Audit(ctx, tx, e)
	})
	if err != nil {
		return err
	}
	h.sessions.Put(ctx, keyFlash, fmt.Sprintf("“%s” is offered at checkout now.", m.Name))
	http.Redirect(w, r, t.Base+"/admin/shipping", http.StatusSeeOther)
	return nil
}

var errNoShipping = &web.Error{Status: http.StatusNotFound, Message: "There is no such shipping method (any more)."}

func shippingID(r *http.Request) int64 {
	id, _ := strconv.ParseInt(mux.Vars(r)["id"], 10, 64)
	return id
}

func shippingByID(ctx context.Context, q storefront.Querier, id int64, lock bool) (*shippingMethod, error) {
	sql := `SELECT ` + shippingColumns + ` FROM shipping_methods WHERE id = $1`
	if lock {
		sql += ` FOR UPDATE`
	}
	m, err := scanShipping(q.QueryRow(ctx, sql, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errNoShipping
	}
	if err != nil {
		return nil, fmt.Errorf("read shipping method %d: %w", id, err)
	}
	return m, nil
}

// GET /admin/shipping/{id}: the method's form.
func (h *Handler) shippingEdit(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	m, err := shippingByID(ctx, t.Pool, shippingID(r), false)
	if err != nil {
		return err
	}
	_, digits, err := shopCurrency(ctx, t)
	if err != nil {
		return err
	}
	return h.renderShipping(w, r, http.StatusOK, m, m.input(digits), nil)
}

// POST /admin/shipping/{id}: save the method, recording what changed.
func (h *Handler) shippingUpdate(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	id := shippingID(r)
	current, err := shippingByID(ctx, t.Pool, id, false)
	if err != nil {
		return err
	}
	_, digits, err := shopCurrency(ctx, t)
	if err != nil {
		return err
	}
	in := shippingForm(r)
	m, errs := in.parse(digits)
	if errs != nil {
		return h.renderShipping(w, r, http.StatusUnprocessableEntity, current, in, errs)
	}
	changed := false
	err = database.Transact(ctx, t.Pool, func(tx pgx.Tx) error {
		before, err := shippingByID(ctx, tx, id, true)
		if err != nil {
			return err
		}
		m.ID, m.Active, m.Position = id, before.Active, before.Position
		b, a := shippingFields(before), shippingFields(&m)
		for k := range a {
			if a[k] == b[k] {
				delete(a, k)
				delete(b, k)
			}
		}
		if changed = len(a) > 0; !changed {
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE shipping_methods SET name = $2, description = $3, price_minor = $4,
			free_over_minor = $5, countries = $6 WHERE id = $1`, id, m.Name, m.Description, m.Price, m.FreeOver, m.Countries); err != nil {
			return fmt.Errorf("save shipping method %d: %w", id, err)
		}
		e := actor(r, Current(ctx))
		e.Action, e.TargetType, e.TargetID, e.Before, e.After = "shipping.updated", "shipping_method", strconv.FormatInt(id, 10), b, a
		return staff.Audit(ctx, tx, e)
	})
	if err != nil {
		return err
	}
	if changed {
		h.sessions.Put(ctx, keyFlash, fmt.Sprintf("“%s” saved. New checkouts use it at once.", m.Name))
	} else {
		h.sessions.Put(ctx, keyFlash, "Nothing changed.")
	}
	http.Redirect(w, r, t.Base+"/admin/shipping", http.StatusSeeOther)
	return nil
}

// POST /admin/shipping/{id}/active: active=1 offers the method at
// checkout, active=0 stops offering it (orders made with it keep it).
func (h *Handler) shippingActive(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	id := shippingID(r)
	var want bool
	switch r.PostFormValue("active") {
	case "1":
		want = true
	case "0":
	default:
		return web.FieldError("active", "Say whether to offer the method (active=1) or not (active=0).")
	}
	var name string
	err := database.Transact(ctx, t.Pool, func(tx pgx.Tx) error {
		m, err := shippingByID(ctx, tx, id, true)
		if err != nil {
			return err
		}
		name = m.Name
		if m.Active == want {
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE shipping_methods SET active = $2 WHERE id = $1`, id, want); err != nil {
			return fmt.Errorf("change shipping method %d: %w", id, err)
		}
		e := actor(r, Current(ctx))
		e.Action = "shipping.deactivated"
		if want {
			e.Action = "shipping.activated"
		}
		e.TargetType, e.TargetID = "shipping_method", strconv.FormatInt(id, 10)
		e.Before, e.After = map[string]any{"active": m.Active}, map[string]any{"active": want}
		return staff.Audit(ctx, tx, e)
	})
	if err != nil {
		return err
	}
	if want {
		h.sessions.Put(ctx, keyFlash, fmt.Sprintf("“%s” is offered at checkout again.", name))
	} else {
		h.sessions.Put(ctx, keyFlash, fmt.Sprintf("“%s” is no longer offered at checkout. Orders that used it keep it.", name))
	}
	http.Redirect(w, r, t.Base+"/admin/shipping", http.StatusSeeOther)
	return nil
}

// POST /admin/shipping/{id}/move: direction=up or down swaps the method
// with its neighbour; positions are renumbered 0, 1, 2, … on the way.
func (h *Handler) shippingMove(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	id := shippingID(r)
	dir := r.PostFormValue("direction")
	if dir != "up" && dir != "down" {
		return web.FieldError("direction", "Say which way to move the method: up or down.")
	}
	err := database.Transact(ctx, t.Pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id FROM shipping_methods ORDER BY position, id FOR UPDATE`)
		if err != nil {
			return fmt.Errorf("lock shipping methods: %w", err)
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return fmt.Errorf("lock shipping methods: %w", err)
		}
		i := slices.Index(ids, id)
		if i < 0 {
			return errNoShipping
		}
		j := i - 1
		if dir == "down" {
			j = i + 1
		}
		if j < 0 || j >= len(ids) {
			return nil // first or last already
		}
		ids[i], ids[j] = ids[j], ids[i]
		if _, err := tx.Exec(ctx, `UPDATE shipping_methods s SET position = o.pos - 1
			FROM unnest($1::bigint[]) WITH ORDINALITY AS o(id, pos) WHERE s.id = o.id AND s.position <> o.pos - 1`, ids); err != nil {
			return fmt.Errorf("reorder shipping methods: %w", err)
		}
		e := actor(r, Current(ctx))
		e.Action, e.TargetType, e.TargetID = "shipping.moved", "shipping_method", strconv.FormatInt(id, 10)
		e.Before, e.After = map[string]any{"position": i}, map[string]any{"position": j}
		return staff.Audit(ctx, tx, e)
	})
	if err != nil {
		return err
	}
	http.Redirect(w, r, t.Base+"/admin/shipping", http.StatusSeeOther)
	return nil
}

// isoCountries are the ISO 3166-1 alpha-2 country codes.
var isoCountries = func() map[string]bool {
	m := map[string]bool{}
	for _, c := range strings.Fields(`AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO
		BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER
		ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN
		IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH
		MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN
		PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ
		TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW`) {
		m[c] = true
	}
	return m
}()
