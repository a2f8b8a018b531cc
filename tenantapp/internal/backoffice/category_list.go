package backoffice

import (
	"fmt"
	"net/http"

	"github.com/storefleet/storefleet/internal/web"
	"github.com/storefleet/storefleet/tenantapp/internal/catalog"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

type categoryPage struct {
	page
	Categories []catalog.Category
	Name       string // the new category's name as typed
	Errors     catalog.FieldErrors
	EditID     int64 // the category whose rename failed
	EditName   string
	EditErrors catalog.FieldErrors
}

var errNoCategory = &web.Error{Status: http.StatusNotFound, Message: "There is no such category; it may have been deleted."}

func (h *Handler) renderCategories(w http.ResponseWriter, r *http.Request, status int, d categoryPage) error {
	cats, err := catalog.Categories(r.Context(), tenant.FromContext(r.Context()).Pool)
	if err != nil {
		return err
	}
	d.page, d.Categories = h.page(r, "Categories"), cats
	return h.templates.Render(w, status, "admin_categories", d)
}

// GET /admin/categories
func (h *Handler) categoryList(w http.ResponseWriter, r *http.Request) error {
	return h.renderCategories(w, r, http.StatusOK, categoryPage{})
}

// POST /admin/categories
func (h *Handler) categoryCreate(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	name := r.PostFormValue("name")
	c, err := catalog.CreateCategory(ctx, t.Pool, name, actor(r, Current(ctx)))
	if fe, ok := catalog.AsFieldErrors(err); ok {
		return h.renderCategories(w, r, http.StatusUnprocessableEntity, categoryPage{Name: name, Errors: fe})
	}
	if err != nil {
		return err
	}
	h.sessions.Put(ctx, keyFlash, fmt.Sprintf("The category %s is added.", c.Name))
	http.Redirect(w, r, t.Base+"/admin/categories", http.StatusSeeOther)
	return nil
}

// POST /admin/categories/{id}: rename.
func (h *Handler) categoryRename(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	id, err := catalogID(r)
	if err != nil {
		return errNoCategory
	}
	name := r.PostFormValue("name")
	err = catalog.RenameCategory(ctx, t.Pool, id, name, actor(r, Current(ctx)))
	if fe, ok := catalog.AsFieldErrors(err); ok {
		return h.renderCategories(w, r, http.StatusUnprocessableEntity, categoryPage{EditID: id, EditName: name, EditErrors: fe})
	}
	if err != nil {
		return orNotFound(err, errNoCategory)
	}
	h.sessions.Put(ctx, keyFlash, "The category is renamed.")
	http.Redirect(w, r, t.Base+"/admin/categories", http.StatusSeeOther)
	return nil
}

// POST /admin/categories/{id}/delete: its products stay, outside it.
func (h *Handler) categoryDelete(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	id, err := catalogID(r)
	if err != nil {
		return errNoCategory
	}
	if err := catalog.DeleteCategory(ctx, t.Pool, id, actor(r, Current(ctx))); err != nil {
		return orNotFound(err, errNoCategory)
	}
	h.sessions.Put(ctx, keyFlash, "The category is deleted; its products are kept.")
	http.Redirect(w, r, t.Base+"/admin/categories", http.StatusSeeOther)
	return nil
}
