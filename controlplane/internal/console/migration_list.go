package console

import (
	"net/http"
)

// runsShown is how many rollouts the migrations page lists.
const runsShown = 50

// GET /admin/migrations
//
// Where every vendor's schema stands (newest version, vendors per version,
// failed vendors, templates per server) and the newest rollouts.
func (h *Handler) migrationList(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	st, err := h.rollouts.Status(ctx)
	if err != nil {
		return err
	}
	runs, err := h.rollouts.Runs(ctx, runsShown)
	if err != nil {
		return err
	}
	atHead := 0
	for _, vc := range st.Versions {
		if vc.Version == st.Head {
			atHead = vc.Vendors
		}
	}
	templatesBehind := 0
	for _, t := range st.Templates {
		if t.Version != st.Head {
			templatesBehind++
		}
	}
	data := map[string]any{
		"Title": "Migrations", "Nav": "migrations", "Status": st, "Runs": runs,
		"AtHead": atHead, "TemplatesBehind": templatesBehind, "Set": h.rollouts.Set().Name,
		"MoreRuns": len(runs) == runsShown,
	}
	for i := range runs {
		if runs[i].Running() {
			data["Running"] = &runs[i]
			break
		}
	}
	return h.render(w, r, http.StatusOK, "migration_list", data)
}
