package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/storefleet/storefleet/internal/platform"
)

// bulkMax is the most vendors one bulk action takes.
const bulkMax = 100

// bulkActions are the actions the vendor list offers for many vendors.
var bulkActions = []struct{ Value, Label, Verb string }{
	{"suspend", "Suspend", "Suspend"},
	{"resume", "Resume", "Resume"},
	{"plan", "Change plan", "Change the plan of"},
	{"backup", "Back up now", "Back up"},
}

func bulkActionVerb(action string) string {
	for _, a := range bulkActions {
		if a.Value == action {
			return a.Verb
		}
	}
	return ""
}

// bulkRequest is a bulk action as the forms carry it.
type bulkRequest struct {
	Action string
	IDs    []int64
	Plan   string
	Reason string
}

// parseBulk reads a bulk action from a query or a form. A problem with the
// vendors or the action itself is returned as a message for the vendor
// list; field problems (reason, plan) go back to the confirmation page.
func parseBulk(v url.Values) (bulkRequest, string) {
	req := bulkRequest{Action: v.Get("action"), Plan: v.Get("plan"), Reason: strings.TrimSpace(v.Get("reason"))}
	if bulkActionVerb(req.Action) == "" {
		return req, "Choose an action for the selected vendors."
	}
	seen := map[int64]bool{}
	for _, s := range v["id"] {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id <= 0 {
			return req, fmt.Sprintf("%q is not a vendor id.", s)
		}
		if !seen[id] {
			seen[id] = true
			req.IDs = append(req.IDs, id)
		}
	}
	switch {
	case len(req.IDs) == 0:
		return req, "Select the vendors first: tick the boxes in the list."
	case len(req.IDs) > bulkMax:
		return req, fmt.Sprintf("Select at most %d vendors at once.", bulkMax)
	}
	return req, ""
}

// fieldErrors checks what the confirmation page asks for.
func (req bulkRequest) fieldErrors() map[string]string {
	errs := map[string]string{}
	switch req.Action {
	case "suspend":
		switch {
		case req.Reason == "":
			errs["reason"] = "Say why the shops are suspended; it goes into the audit log."
		case utf8.RuneCountInString(req.Reason) > maxReason:
			errs["reason"] = "Keep the reason under 500 characters."
		}
	case "plan":
		if !platform.ValidPlan(req.Plan) {
			errs["plan"] = "Choose the plan to put the vendors on."
		}
	}
	return errs
}

// bulkVendors loads the vendors of a request, in the order given. A vendor
// id that does not exist is an error.
func (h *Handler) bulkVendors(ctx context.Context, ids []int64) ([]*platform.Vendor, map[int64]string, error) {
	out := make([]*platform.Vendor, 0, len(ids))
	for _, id := range ids {
		v, err := h.store.VendorByID(ctx, id)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, v)
	}
	plans, err := h.store.VendorPlans(ctx, ids)
	if err != nil {
		return nil, nil, err
	}
	return out, plans, nil
}

// GET /admin/vendors/bulk?action=&id=&id=…[&plan=]
//
// The confirmation page: the vendors and the action, with the reason (to
// suspend) or the plan to confirm. Nothing changes until it is posted.
func (h *Handler) vendorBulkConfirm(w http.ResponseWriter, r *http.Request) error {
	req, problem := parseBulk(r.URL.Query())
	if problem != "" {
		h.flashError(r.Context(), "%s", problem)
		return redirect(w, r, "/admin/vendors")
	}
	return h.renderBulkConfirm(w, r, http.StatusOK, req, nil)
}

func (h *Handler) renderBulkConfirm(w http.ResponseWriter, r *http.Request, status int, req bulkRequest, errs map[string]string) error {
	vendors, plans, err := h.bulkVendors(r.Context(), req.IDs)
	if err != nil {
		return err
	}
	if errs == nil {
		errs = map[string]string{}
	}
	return h.render(w, r, status, "vendor_bulk", map[string]any{
		"Title": "Confirm: " + bulkActionVerb(req.Action) + " vendors", "Nav": "vendors",
		"Req": req, "Verb": bulkActionVerb(req.Action), "Vendors": vendors, "Plans": plans, "PlanChoices": platform.Plans,
		"Errors": errs,
	})
}

// bulkResult is one vendor's outcome of a bulk action.
type bulkResult struct {
	Vendor  *platform.Vendor
	OK      bool
	Message string
}

// POST /admin/vendors/bulk
//
// Runs the confirmed action on each vendor in turn and shows a result per
// vendor. One vendor failing does not stop the others; each vendor's
// outcome is in the audit log (the action's own row, or vendor.bulk_failed).
func (h *Handler) vendorBulk(w http.ResponseWriter, r *http.Request) error {
	req, problem := parseBulk(r.PostForm)
	if problem != "" {
		h.flashError(r.Context(), "%s", problem)
		return redirect(w, r, "/admin/vendors")
	}
	if errs := req.fieldErrors(); len(errs) > 0 {
		return h.renderBulkConfirm(w, r, http.StatusUnprocessableEntity, req, errs)
	}
	ctx := r.Context()
	vendors, _, err := h.bulkVendors(ctx, req.IDs)
	if err != nil {
		return err
	}
	results := make([]bulkResult, 0, len(vendors))
	failed := 0
	for _, v := range vendors {
		msg, err := h.bulkOne(ctx, r, req, v)
		if err != nil {
			failed++
			results = append(results, bulkResult{Vendor: v, Message: err.Error()})
			if aerr := h.auditBulkFailure(ctx, r, req, v, err); aerr != nil {
				return aerr
			}
			continue
		}
		results = append(results, bulkResult{Vendor: v, OK: true, Message: msg})
	}
	h.log.Info("bulk vendor action", "action", req.Action, "vendors", len(vendors), "failed", failed, slogAdmin(adminFrom(ctx)))
	return h.render(w, r, http.StatusOK, "vendor_bulk_result", map[string]any{
		"Title": bulkActionVerb(req.Action) + " vendors: results", "Nav": "vendors",
		"Req": req, "Verb": bulkActionVerb(req.Action), "Results": results, "Failed": failed, "Succeeded": len(results) - failed,
		"PlanLabel": platform.PlanLabel(req.Plan),
	})
}

// bulkOne runs the action on one vendor and says what happened.
func (h *Handler) bulkOne(ctx context.Context, r *http.Request, req bulkRequest, v *platform.Vendor) (string, error) {
	if v.State == platform.StateDeleted {
		return "", errors.New("the vendor is deleted")
	}
	switch req.Action {
	case "suspend":
		if _, err := h.prov.Suspend(ctx, actor(r), v.Slug, req.Reason); err != nil {
			return "", err
		}
		return "Suspended: its storefront answers 503 until it is resumed.", nil
	case "resume":
		if _, err := h.prov.Resume(ctx, actor(r), v.Slug); err != nil {
			return "", err
		}
		return "Active again.", nil
	case "plan":
		changed, err := h.store.SetVendorPlan(ctx, actor(r), v.ID, req.Plan)
		if err != nil {
			return "", unwrapPlanError(err)
		}
		if !changed {
			return "Already on " + platform.PlanLabel(req.Plan) + "; nothing changed.", nil
		}
		return "Now on " + platform.PlanLabel(req.Plan) + ".", nil
	case "backup":
		op, err := h.backups.StartBackup(ctx, actor(r), v)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("Backup started (operation %d); its page shows the outcome.", op.ID), nil
	}
	return "", fmt.Errorf("unknown action %q", req.Action)
}

// unwrapPlanError keeps the reason of a refused plan change for people.
func unwrapPlanError(err error) error {
	if errors.Is(err, platform.ErrNotFound) {
		return errors.New("the vendor no longer exists")
	}
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		msg = msg[i+2:]
	}
	return errors.New(msg)
}

// auditBulkFailure records that the action failed for one vendor.
func (h *Handler) auditBulkFailure(ctx context.Context, r *http.Request, req bulkRequest, v *platform.Vendor, cause error) error {
	after := map[string]any{"action": req.Action, "error": cause.Error()}
	if req.Action == "plan" {
		after["plan"] = req.Plan
	}
	if req.Action == "suspend" {
		after["reason"] = req.Reason
	}
	return h.store.Transact(ctx, func(tx pgx.Tx) error {
		return platform.Audit(ctx, tx, actor(r), platform.AuditEntry{Action: "vendor.bulk_failed", TargetType: "vendor",
			TargetID: strconv.FormatInt(v.ID, 10), After: after})
	})
}
