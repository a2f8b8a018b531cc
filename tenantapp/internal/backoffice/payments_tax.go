package backoffice

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/storefleet/storefleet/internal/database"
	"github.com/storefleet/storefleet/internal/staff"
	"github.com/storefleet/storefleet/tenantapp/internal/storefront"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

// taxSettings are the shop's tax settings.
type taxSettings struct {
	RateBP          int // basis points: 2000 = 20 %
	IncludeInPrices bool
	Label           string
}

// taxInput is the tax form as typed.
type taxInput struct {
	Rate, Included, Label string
}

type taxPage struct {
	page
	Input  taxInput
	Errors map[string]string
}

func loadTax(ctx context.Context, q storefront.Querier) (taxSettings, error) {
	var s taxSettings
	err := q.QueryRow(ctx, `SELECT tax_rate_bp, prices_include_tax, tax_label FROM shop_profile`).
		Scan(&s.RateBP, &s.IncludeInPrices, &s.Label)
	if err != nil {
		return s, fmt.Errorf("read the shop's tax settings: %w", err)
	}
	return s, nil
}

func (s taxSettings) input() taxInput {
	in := taxInput{Rate: strings.TrimSuffix(percent(s.RateBP), " %"), Included: "no", Label: s.Label}
	if s.IncludeInPrices {
		in.Included = "yes"
	}
	return in
}

func (s taxSettings) fields() map[string]any {
	return map[string]any{"tax_rate_bp": s.RateBP, "prices_include_tax": s.IncludeInPrices, "tax_label": s.Label}
}

// GET /admin/tax: the tax rate, its label, and whether catalog prices
// include it.
func (h *Handler) taxForm(w http.ResponseWriter, r *http.Request) error {
	s, err := loadTax(r.Context(), tenant.FromContext(r.Context()).Pool)
	if err != nil {
		return err
	}
	return h.renderTax(w, r, http.StatusOK, s.input(), nil)
}

func (h *Handler) renderTax(w http.ResponseWriter, r *http.Request, status int, in taxInput, errs map[string]string) error {
	return h.templates.Render(w, status, "admin_tax", taxPage{page: h.page(r, "Tax"), Input: in, Errors: errs})
}

// parse checks the form.
func (in taxInput) parse() (taxSettings, map[string]string) {
	errs := map[string]string{}
	var s taxSettings
	bp, msg := parsePercent(in.Rate)
	if msg != "" {
		errs["rate"] = msg
	}
	s.RateBP = bp
	switch in.Included {
	case "yes":
		s.IncludeInPrices = true
	case "no":
	default:
		errs["included"] = "Say whether your catalog prices already include the tax."
	}
	s.Label = strings.TrimSpace(in.Label)
	switch n := len([]rune(s.Label)); {
	case n == 0:
		errs["label"] = "Give the tax the name shoppers know, such as VAT, GST or Sales tax."
	case n > 30:
		errs["label"] = "Use at most 30 characters."
	}
	if len(errs) > 0 {
		return s, errs
	}
	return s, nil
}

// parsePercent reads a percentage from 0 to 100 with at most two decimal
// places ("20", "7.5", "19,25") as basis points.
func parsePercent(s string) (int, string) {
	s = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "%"))
	if s == "" {
		return 0, "Enter the tax rate as a percentage, such as 20 or 7.5 (0 if you charge no tax)."
	}
	whole, frac, _ := strings.Cut(strings.Replace(s, ",", ".", 1), ".")
	if whole == "" || !allDigits(whole) || (frac != "" && !allDigits(frac)) || strings.Contains(frac, ".") {
		return 0, "Enter the rate with digits and at most one decimal point, such as 20 or 7.5."
	}
	frac = strings.TrimRight(frac, "0")
	if len(frac) > 2 {
		return 0, "Use at most two decimal places, such as 7.75."
	}
	if len(whole) > 3 {
		return 0, "The rate cannot be more than 100 %."
	}
	bp := 0
	for _, c := range whole {
		bp = bp*10 + int(c-'0')
	}
	frac += strings.Repeat("0", 2-len(frac))
	bp = bp*100 + int(frac[0]-'0')*10 + int(frac[1]-'0')
	if bp > 10000 {
		return 0, "The rate cannot be more than 100 %."
	}
	return bp, ""
}

func allDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// POST /admin/tax: save the tax settings, recording what changed. Orders
// keep the settings they were made with.
func (h *Handler) taxSave(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	in := taxInput{Rate: r.PostFormValue("rate"), Included: r.PostFormValue("included"), Label: r.PostFormValue("label")}
	s, errs := in.parse()
	if errs != nil {
		return h.renderTax(w, r, http.StatusUnprocessableEntity, in, errs)
	}
	changed := false
	err := database.Transact(ctx, t.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT FROM shop_profile FOR UPDATE`); err != nil {
			return fmt.Errorf("lock shop settings: %w", err)
		}
		before, err := loadTax(ctx, tx)
		if err != nil {
			return err
		}
		b, a := before.fields(), s.fields()
		for k := range a {
			if a[k] == b[k] {
				delete(a, k)
				delete(b, k)
			}
		}
		if changed = len(a) > 0; !changed {
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE shop_profile SET tax_rate_bp = $1, prices_include_tax = $2, tax_label = $3`,
			s.RateBP, s.IncludeInPrices, s.Label); err != nil {
			return fmt.Errorf("save the shop's tax settings: %w", err)
		}
		e := actor(r, Current(ctx))
		e.Action, e.TargetType, e.TargetID, e.Before, e.After = "tax.updated", "settings", "tax", b, a
		return staff.Audit(ctx, tx, e)
	})
	if err != nil {
		return err
	}
	if changed {
		h.sessions.Put(ctx, keyFlash, "Tax settings saved. New orders use them; orders placed before keep theirs.")
	} else {
		h.sessions.Put(ctx, keyFlash, "Nothing changed.")
	}
	http.Redirect(w, r, t.Base+"/admin/tax", http.StatusSeeOther)
	return nil
}
