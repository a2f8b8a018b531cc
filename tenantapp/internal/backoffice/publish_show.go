package backoffice

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/gorilla/mux"

	"github.com/storefleet/storefleet/internal/marketplace"
	"github.com/storefleet/storefleet/internal/web"
	"github.com/storefleet/storefleet/tenantapp/internal/catalog"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

// keyUndoSummary keeps what an undo did for the publish page shown after
// it (a JSON undoSummary).
const keyUndoSummary = "publish_undo"

// undoListed is how many products of each kind the undo summary names.
const undoListed = 20

// undoSummary is what an undo did, as the publish page shows it once.
type undoSummary struct {
	PublishID      int64                     `json:"publish_id"`
	Restored       int                       `json:"restored"`
	Deleted        int                       `json:"deleted"`
	Archived       []marketplace.UndoProduct `json:"archived"`
	ArchivedN      int                       `json:"archived_n"`
	Skipped        []marketplace.UndoProduct `json:"skipped"`
	SkippedN       int                       `json:"skipped_n"`
	StockReversed  int                       `json:"stock_reversed"`
	StockSkipped   []marketplace.UndoProduct `json:"stock_skipped"`
	StockSkippedN  int                       `json:"stock_skipped_n"`
	StagedRestored int                       `json:"staged_restored"`
}

func summarizeUndo(id int64, res *marketplace.UndoResult) undoSummary {
	first := func(ps []marketplace.UndoProduct) []marketplace.UndoProduct {
		return ps[:min(len(ps), undoListed)]
	}
	return undoSummary{PublishID: id, Restored: len(res.Restored), Deleted: len(res.Deleted),
		Archived: first(res.Archived), ArchivedN: len(res.Archived), Skipped: first(res.Skipped), SkippedN: len(res.Skipped),
		StockReversed: res.StockReversed, StockSkipped: first(res.StockSkipped), StockSkippedN: len(res.StockSkipped),
		StagedRestored: res.StagedRestored}
}

// outcomeTab is one of the publish page's item filters.
type outcomeTab struct {
	Label, URL string
	Count      int
	Active     bool
}

// publishItemView is an item of a publish.
type publishItemView struct {
	marketplace.PublishItem
	StagedURL, ProductURL string
	OutcomeClass          string
	Before                string // the product before an update, for people
}

// undoConflict is an undo refused because later publishes changed the
// same products.
type undoConflict struct {
	Message string
	Later   []laterPublish
}

type laterPublish struct {
	ID  int64
	URL string
}

type publishShowPage struct {
	page
	Publish          *publishView
	Items            []publishItemView
	Outcome          string
	Tabs             []outcomeTab
	PageNo           int
	PrevURL, NextURL string
	CanWrite         bool
	Undo             *undoSummary
	Conflict         *undoConflict
	Refused          string // why an undo was refused, if not a conflict
}

var errNoPublish = &web.Error{Status: http.StatusNotFound, Message: "There is no such publish in this shop."}

// loadPublish reads the publish named in the path, as a 404 if there is
// none.
func loadPublish(r *http.Request, t *tenant.Tenant) (*marketplace.Publish, error) {
	id, _ := strconv.ParseInt(mux.Vars(r)["id"], 10, 64)
	p, err := marketplace.GetPublish(r.Context(), t.Pool, id)
	if errors.Is(err, marketplace.ErrNotFound) {
		return nil, errNoPublish
	}
	return p, err
}

// outcomes are the publish page's item filters, in order.
var outcomes = []struct{ key, label string }{{"", "All"}, {marketplace.OutcomeCreated, "Created"},
	{marketplace.OutcomeUpdated, "Updated"}, {marketplace.OutcomeUnchanged, "Unchanged"}, {marketplace.OutcomeSkipped, "Skipped"}}

func validOutcome(s string) bool {
	for _, o := range outcomes {
		if o.key == s {
			return true
		}
	}
	return false
}

func outcomeClass(o string) string {
	switch o {
	case marketplace.OutcomeCreated:
		return "ok"
	case marketplace.OutcomeUpdated:
		return "info"
	case marketplace.OutcomeSkipped:
		return "warn"
	}
	return ""
}

// GET /admin/publishes/{id}: progress while the publish runs (live, and
// refreshed without JavaScript too), its counts, its items filtered by
// outcome, and the undo button.
func (h *Handler) publishShow(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	pub, err := loadPublish(r, t)
	if err != nil {
		return err
	}
	wakeStalled(ctx, h, t, marketplace.WorkPublishes, pub)
	d := &publishShowPage{}
	if raw := h.sessions.PopString(ctx, keyUndoSummary); raw != "" {
		var s undoSummary
		if json.Unmarshal([]byte(raw), &s) == nil && s.PublishID == pub.ID {
			d.Undo = &s
		}
	}
	return h.renderPublish(w, r, http.StatusOK, pub, d)
}

func (h *Handler) renderPublish(w http.ResponseWriter, r *http.Request, status int, pub *marketplace.Publish, d *publishShowPage) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	q := r.URL.Query()
	d.page = h.page(r, fmt.Sprintf("Publish %d", pub.ID))
	d.Publish, d.CanWrite = h.viewPublish(t, pub), Current(ctx).Can("catalog.write")
	d.Outcome = q.Get("outcome")
	if !validOutcome(d.Outcome) {
		d.Outcome = ""
	}
	d.PageNo, _ = strconv.Atoi(q.Get("page"))
	d.PageNo = min(max(d.PageNo, 1), marketplace.MaxPage)
	link := func(outcome string, page int) string {
		v := url.Values{}
		if outcome != "" {
			v.Set("outcome", outcome)
		}
		if page > 1 {
			v.Set("page", strconv.Itoa(page))
		}
		u := d.Publish.URL
		if len(v) > 0 {
			u += "?" + v.Encode()
		}
		return u + "#items"
	}
	counts := map[string]int{"": pub.ItemsTotal, marketplace.OutcomeCreated: pub.Created, marketplace.OutcomeUpdated: pub.Updated,
		marketplace.OutcomeUnchanged: pub.Unchanged, marketplace.OutcomeSkipped: pub.Skipped}
	for _, o := range outcomes {
		d.Tabs = append(d.Tabs, outcomeTab{Label: o.label, URL: link(o.key, 1), Count: counts[o.key], Active: o.key == d.Outcome})
	}
	items, err := marketplace.PublishItems(ctx, t.Pool, pub.ID, d.Outcome, d.PageNo)
	if err != nil {
		return err
	}
	if d.PageNo > 1 {
		d.PrevURL = link(d.Outcome, d.PageNo-1)
	}
	if items.HasNext {
		d.NextURL = link(d.Outcome, d.PageNo+1)
	}
	for _, it := range items.Items {
		v := publishItemView{PublishItem: it, StagedURL: fmt.Sprintf("%s/admin/staging/%d", t.Base, it.StagedID),
			OutcomeClass: outcomeClass(it.Outcome)}
		if it.ProductID != nil && it.ProductSKU != "" {
			v.ProductURL = fmt.Sprintf("%s/admin/products/%d", t.Base, *it.ProductID)
		}
		if b := it.Before; b != nil {
			v.Before = b.Title + " · " + catalog.Display(b.PriceMinor, b.Currency)
			if b.SalePriceMinor != nil {
				v.Before += ", on sale for " + catalog.Display(*b.SalePriceMinor, b.Currency)
			}
			v.Before += fmt.Sprintf(" · %d on hand", b.StockOnHand)
		}
		d.Items = append(d.Items, v)
	}
	return h.templates.Render(w, status, "admin_publish", d)
}

// GET /admin/publishes/{id}/progress: the publish's counters as JSON, for
// the page's live progress.
func (h *Handler) publishProgress(w http.ResponseWriter, r *http.Request) error {
	t := tenant.FromContext(r.Context())
	pub, err := loadPublish(r, t)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, pub)
	return nil
}

// POST /admin/publishes/{id}/undo: take the publish back (see
// marketplace.UndoPublish), then show what that did on its page. A publish
// that later publishes built on, or that cannot be undone (still running,
// undone already), gets its page back with a 409 and why.
func (h *Handler) publishUndo(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	pub, err := loadPublish(r, t)
	if err != nil {
		return err
	}
	res, err := marketplace.UndoPublish(ctx, t.Pool, pub.ID, actor(r, Current(ctx)))
	var conflict *marketplace.UndoConflictError
	if errors.As(err, &conflict) || errors.Is(err, marketplace.ErrNotUndoable) {
		// Show the publish as it is now (another member may have undone it
		// a moment ago).
		if now, gerr := marketplace.GetPublish(ctx, t.Pool, pub.ID); gerr == nil {
			pub = now
		}
	}
	switch {
	case errors.As(err, &conflict):
		d := &publishShowPage{Conflict: &undoConflict{Message: conflict.Error()}}
		for _, id := range conflict.Later {
			d.Conflict.Later = append(d.Conflict.Later, laterPublish{ID: id, URL: fmt.Sprintf("%s/admin/publishes/%d", t.Base, id)})
		}
		return h.renderPublish(w, r, http.StatusConflict, pub, d)
	case errors.Is(err, marketplace.ErrNotUndoable):
		d := &publishShowPage{Refused: "This publish cannot be undone now: " + notUndoableReason(pub)}
		return h.renderPublish(w, r, http.StatusConflict, pub, d)
	case errors.Is(err, marketplace.ErrNotFound):
		return errNoPublish
	case err != nil:
		return err
	}
	raw, err := json.Marshal(summarizeUndo(pub.ID, res))
	if err != nil {
		return err
	}
	h.sessions.Put(ctx, keyUndoSummary, string(raw))
	h.sessions.Put(ctx, keyFlash, fmt.Sprintf("Publish #%d is undone. What that changed is listed below.", pub.ID))
	http.Redirect(w, r, fmt.Sprintf("%s/admin/publishes/%d", t.Base, pub.ID), http.StatusSeeOther)
	return nil
}

// notUndoableReason says why a publish cannot be undone, from its state.
func notUndoableReason(p *marketplace.Publish) string {
	switch p.State {
	case marketplace.StateUndone:
		return "it was undone already."
	case marketplace.StateQueued, marketplace.StateRunning:
		return "it is still running. Wait until it ends, then undo it."
	}
	return "it has not finished."
}
