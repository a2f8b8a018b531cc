package backoffice

import (
	"encoding/csv"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/gorilla/mux"

	"github.com/storefleet/storefleet/internal/marketplace"
	"github.com/storefleet/storefleet/internal/web"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

// rejectionsShown is how many rejected rows the import page lists; the
// CSV has them all.
const rejectionsShown = 200

type importShowPage struct {
	page
	Import     *importView
	Rejections []marketplace.Rejection
	More       bool // more rejected rows than shown
	CanWrite   bool
}

// loadImport reads the import named in the path, as a 404 if there is none.
func loadImport(r *http.Request, t *tenant.Tenant) (*marketplace.Import, error) {
	id, _ := strconv.ParseInt(mux.Vars(r)["id"], 10, 64)
	imp, err := marketplace.GetImport(r.Context(), t.Pool, id)
	if errors.Is(err, marketplace.ErrNotFound) {
		return nil, &web.Error{Status: http.StatusNotFound, Message: "There is no such import in this shop."}
	}
	return imp, err
}

// GET /admin/imports/{id}: progress (the page refreshes itself while the
// import runs), the outcome and the rejected rows.
func (h *Handler) importShow(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	imp, err := loadImport(r, t)
	if err != nil {
		return err
	}
	wakeStalled(ctx, h, t, marketplace.WorkImports, imp)
	p := importShowPage{page: h.page(r, fmt.Sprintf("Import %d", imp.ID)), Import: h.viewImport(t, imp),
		CanWrite: Current(ctx).Can("catalog.write")}
	if imp.RowsRejected > 0 {
		rej, err := marketplace.Rejections(ctx, t.Pool, imp.ID, 0, rejectionsShown+1)
		if err != nil {
			return err
		}
		if len(rej) > rejectionsShown {
			rej, p.More = rej[:rejectionsShown], true
		}
		p.Rejections = rej
	}
	return h.templates.Render(w, http.StatusOK, "admin_import", p)
}

// GET /admin/imports/{id}/progress: the import's counters as JSON, for
// the page's live progress.
func (h *Handler) importProgress(w http.ResponseWriter, r *http.Request) error {
	t := tenant.FromContext(r.Context())
	imp, err := loadImport(r, t)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, imp)
	return nil
}

// GET /admin/imports/{id}/rejections.csv: every rejected row with its line
// and reason. Cells that a spreadsheet would run as a formula are escaped.
func (h *Handler) importRejectionsCSV(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	imp, err := loadImport(r, t)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="import-%d-rejected-rows.csv"`, imp.ID))
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"line", "id", "reason"})
	err = marketplace.EachRejection(ctx, t.Pool, imp.ID, func(rej marketplace.Rejection) error {
		return cw.Write([]string{strconv.FormatInt(rej.Line, 10), csvCell(rej.ItemID), csvCell(rej.Reason)})
	})
	cw.Flush()
	if err != nil {
		// The header is out: all that can be done is to cut the file short
		// and say so in the log.
		h.log.Error("rejected rows export stopped", "vendor", t.Entry.Slug, "import", imp.ID, "err", err)
	}
	return nil
}

// POST /admin/imports/{id}/cancel
func (h *Handler) importCancel(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	imp, err := loadImport(r, t)
	if err != nil {
		return err
	}
	_, err = marketplace.CancelImport(ctx, t.Pool, imp.ID, actor(r, Current(ctx)))
	switch {
	case errors.Is(err, marketplace.ErrNotCancellable):
		h.sessions.Put(ctx, keyFlashError, "The import has ended already; there is nothing to cancel.")
	case err != nil:
		return err
	case imp.State == marketplace.StateRunning:
		h.sessions.Put(ctx, keyFlash, "The import stops after the rows it is loading now; those stay in staging.")
	default:
		h.sessions.Put(ctx, keyFlash, "The import is cancelled.")
	}
	http.Redirect(w, r, fmt.Sprintf("%s/admin/imports/%d", t.Base, imp.ID), http.StatusSeeOther)
	return nil
}
