package backoffice

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/storefleet/storefleet/internal/marketplace"
	"github.com/storefleet/storefleet/tenantapp/internal/catalog"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

// previewChanges is how many items the preview lists with their fields
// before and after.
const previewChanges = 100

// publishRequest is a selection and publish options read from the staging
// page's form (or the preview's "Publish" form, which carries the same
// fields), with what is wrong with them.
type publishRequest struct {
	Query stagingQuery
	Form  publishForm
	Sel   marketplace.Selection
	Opts  marketplace.PublishOptions
	Errs  marketplace.FieldErrors
}

// readPublishRequest reads the form: ids (ticked items) or all=1 with the
// filter's fields (q, brand, ...), and the options stock_from_availability,
// stock_quantity and new_state. Every problem is collected, so that the
// page shows them all at once.
func readPublishRequest(r *http.Request) (*publishRequest, error) {
	ctx := r.Context()
	_ = r.ParseForm()
	v := r.PostForm
	pr := &publishRequest{Query: readStagingQuery(v), Errs: marketplace.FieldErrors{}}
	pr.Form = publishForm{All: v.Get("all") == "1", StockFromAvailability: v.Get("stock_from_availability") == "1",
		StockQuantity: strings.TrimSpace(v.Get("stock_quantity")), NewState: v.Get("new_state")}
	for _, s := range v["ids"] {
		if id, err := strconv.ParseInt(s, 10, 64); err == nil && id > 0 {
			pr.Form.IDs = append(pr.Form.IDs, id)
		}
	}
	pr.Opts = marketplace.PublishOptions{StockFromAvailability: pr.Form.StockFromAvailability, NewState: pr.Form.NewState}
	if pr.Form.StockFromAvailability {
		n, err := strconv.Atoi(pr.Form.StockQuantity)
		switch {
		case pr.Form.StockQuantity == "":
			pr.Errs["stock_quantity"] = "Enter how many each item in stock gets, such as 10."
		case err != nil:
			pr.Errs["stock_quantity"] = "Enter a whole number, such as 10."
		default:
			pr.Opts.StockQuantity = n
		}
	}
	cur, digits, err := shopCurrency(ctx, tenant.FromContext(ctx))
	if err != nil {
		return nil, err
	}
	f, ferrs := pr.Query.filter(cur, digits)
	if pr.Form.All {
		pr.Sel = marketplace.SelectMatching(f)
		mergeErrors(pr.Errs, ferrs)
	} else {
		pr.Sel = marketplace.SelectIDs(pr.Form.IDs...)
	}
	mergeErrors(pr.Errs, pr.Sel.Check())
	mergeErrors(pr.Errs, pr.Opts.Check())
	if pr.Form.NewState == "" {
		pr.Form.NewState = pr.Opts.NewState
	}
	return pr, nil
}

// mergeErrors adds the problems of from that dst does not have yet.
func mergeErrors(dst, from marketplace.FieldErrors) {
	for k, v := range from {
		if _, ok := dst[k]; !ok {
			dst[k] = v
		}
	}
}

// fieldDiff is one field of a product before and after a publish.
type fieldDiff struct{ Label, Before, After string }

// changeView is an item whose product a publish would update.
type changeView struct {
	marketplace.ItemChange
	StagedURL, ProductURL string
	Diffs                 []fieldDiff
}

type publishPreviewPage struct {
	page
	Preview    *marketplace.Preview
	Changes    []changeView
	More       int // updated items not listed
	Selection  string
	Options    []string
	Hidden     []hiddenField
	BackURL    string
	Publishing int // items the publish would write or link
}

// POST /admin/staging/preview: what publishing the chosen items would do,
// without writing anything: how many products it creates, updates,
// leaves as they are and skips (and why), and for products it updates
// each changed field before and after. The "Publish" button posts the
// same selection and options to POST /admin/publishes.
func (h *Handler) stagingPreview(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	pr, err := readPublishRequest(r)
	if err != nil {
		return err
	}
	if len(pr.Errs) > 0 {
		return h.renderStaging(w, r, http.StatusUnprocessableEntity, pr.Query, pr.Form, pr.Errs)
	}
	pv, err := marketplace.PreviewPublish(ctx, t.Pool, pr.Sel, pr.Opts, previewChanges)
	var fe marketplace.FieldErrors
	if errors.As(err, &fe) {
		return h.renderStaging(w, r, http.StatusUnprocessableEntity, pr.Query, pr.Form, fe)
	}
	if err != nil {
		return err
	}
	if pv.Selected == 0 {
		return h.renderStaging(w, r, http.StatusUnprocessableEntity, pr.Query, pr.Form,
			marketplace.FieldErrors{"selection": "None of the chosen items is in the staging area any more."})
	}
	p := publishPreviewPage{page: h.page(r, "Preview the publish"), Preview: pv, Hidden: pr.Form.hidden(pr.Query),
		BackURL: stagingURL(t.Base, pr.Query), Publishing: pv.Create + pv.Update + pv.Unchanged,
		More: pv.Update - len(pv.Changes)}
	p.Selection = itemCount(pv.Selected) + " chosen one by one"
	if pr.Form.All {
		p.Selection = "all " + itemCount(pv.Selected) + " that match the search"
	}
	if pr.Opts.StockFromAvailability {
		p.Options = append(p.Options, fmt.Sprintf("Stock from availability: %d on hand for items in stock, none left to sell for items out of stock; preorder, backorder and no availability leave stock alone.", pr.Opts.StockQuantity))
	} else {
		p.Options = append(p.Options, "Stock is left as it is.")
	}
	p.Options = append(p.Options, "New products are created as "+map[string]string{"draft": "drafts (not in the shop yet).", "active": "active products, in the shop at once."}[pr.Opts.NewState])
	for _, c := range pv.Changes {
		p.Changes = append(p.Changes, changeView{ItemChange: c, StagedURL: fmt.Sprintf("%s/admin/staging/%d", t.Base, c.StagedID),
			ProductURL: fmt.Sprintf("%s/admin/products/%d", t.Base, c.ProductID), Diffs: diffs(c)})
	}
	return h.templates.Render(w, http.StatusOK, "admin_publish_preview", p)
}

// diffs are the fields a publish changes on a product, before and after,
// for people.
func diffs(c marketplace.ItemChange) []fieldDiff {
	b, a := &c.Before, &c.After
	orNone := func(s string) string {
		if s == "" {
			return "none"
		}
		return s
	}
	sale := func(v *marketplace.ProductValues) string {
		if v.SalePriceMinor == nil {
			return "none"
		}
		return catalog.Display(*v.SalePriceMinor, v.Currency)
	}
	var out []fieldDiff
	for _, f := range c.Fields {
		switch f {
		case marketplace.FieldTitle:
			out = append(out, fieldDiff{"Title", b.Title, a.Title})
		case marketplace.FieldDescription:
			out = append(out, fieldDiff{"Description", orNone(shorten(b.Description, 120)), orNone(shorten(a.Description, 120))})
		case marketplace.FieldPrice:
			out = append(out, fieldDiff{"Price", catalog.Display(b.PriceMinor, b.Currency), catalog.Display(a.PriceMinor, a.Currency)})
		case marketplace.FieldSalePrice:
			out = append(out, fieldDiff{"Sale price", sale(b), sale(a)})
		case marketplace.FieldCurrency:
			out = append(out, fieldDiff{"Currency", b.Currency, a.Currency})
		case marketplace.FieldGTIN:
			out = append(out, fieldDiff{"GTIN", orNone(b.GTIN), orNone(a.GTIN)})
		case marketplace.FieldBrand:
			out = append(out, fieldDiff{"Brand", orNone(b.Brand), orNone(a.Brand)})
		case marketplace.FieldStock:
			out = append(out, fieldDiff{"Stock on hand", strconv.FormatInt(b.StockOnHand, 10), strconv.FormatInt(a.StockOnHand, 10)})
		}
	}
	return out
}

// itemCount says how many items: "1 item", "3 items".
func itemCount(n int) string {
	if n == 1 {
		return "1 item"
	}
	return strconv.Itoa(n) + " items"
}

// shorten cuts s to at most n characters, with an ellipsis.
func shorten(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return strings.TrimSpace(string(r[:n-1])) + "…"
}

// POST /admin/publishes: queue a publish of the chosen items with the
// chosen options (the preview's "Publish" button), ask the job system to
// run it, and go to its page.
func (h *Handler) publishCreate(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	pr, err := readPublishRequest(r)
	if err != nil {
		return err
	}
	if len(pr.Errs) > 0 {
		return h.renderStaging(w, r, http.StatusUnprocessableEntity, pr.Query, pr.Form, pr.Errs)
	}
	pub, err := h.createPublish(r, t, pr.Sel, pr.Opts, actor(r, Current(ctx)))
	var fe marketplace.FieldErrors
	if errors.As(err, &fe) {
		return h.renderStaging(w, r, http.StatusUnprocessableEntity, pr.Query, pr.Form, fe)
	}
	if err != nil {
		return err
	}
	h.sessions.Put(ctx, keyFlash, fmt.Sprintf("Publish #%d of %s is queued. This page shows its progress.", pub.ID, itemCount(pub.ItemsTotal)))
	http.Redirect(w, r, fmt.Sprintf("%s/admin/publishes/%d", t.Base, pub.ID), http.StatusSeeOther)
	return nil
}
