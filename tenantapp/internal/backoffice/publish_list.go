package backoffice

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/storefleet/storefleet/internal/marketplace"
	"github.com/storefleet/storefleet/internal/staff"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

// publishView is a publish as the pages show it.
type publishView struct {
	*marketplace.Publish
	URL        string
	StateClass string
	When       string
	UndoneWhen string
	Took       string
	Percent    int // of the items done
}

func (h *Handler) viewPublish(t *tenant.Tenant, p *marketplace.Publish) *publishView {
	v := &publishView{Publish: p, URL: fmt.Sprintf("%s/admin/publishes/%d", t.Base, p.ID),
		When: p.CreatedAt.Format("2 Jan 2006 15:04")}
	switch p.State {
	case marketplace.StateFinished:
		v.StateClass = "ok"
	case marketplace.StateFailed:
		v.StateClass = "bad"
	case marketplace.StateUndone:
		v.StateClass = "muted"
	default:
		v.StateClass = "info"
	}
	if p.UndoneAt != nil {
		v.UndoneWhen = p.UndoneAt.Format("2 Jan 2006 15:04")
	}
	if p.FinishedAt != nil {
		v.Took = "under a second"
		if d := p.FinishedAt.Sub(p.CreatedAt); d >= time.Second {
			v.Took = d.Round(time.Second).String()
		}
	}
	if p.ItemsTotal > 0 {
		v.Percent = min(100, p.ItemsDone*100/p.ItemsTotal)
	}
	return v
}

type publishListPage struct {
	page
	Publishes []*publishView
	NextURL   string
	Running   bool // a publish is open: the page refreshes itself
	CanWrite  bool
}

// GET /admin/publishes: every publish, newest first, with its state,
// counts, who asked for it and who undid it.
func (h *Handler) publishList(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	before, _ := strconv.ParseInt(r.URL.Query().Get("before"), 10, 64)
	const perPage = 25
	list, err := marketplace.ListPublishes(ctx, t.Pool, before, perPage+1)
	if err != nil {
		return err
	}
	p := publishListPage{page: h.page(r, "Publishes"), CanWrite: Current(ctx).Can("catalog.write")}
	if len(list) > perPage {
		list = list[:perPage]
		p.NextURL = t.Base + "/admin/publishes?" + url.Values{"before": {strconv.FormatInt(list[perPage-1].ID, 10)}}.Encode()
	}
	for _, pub := range list {
		p.Publishes = append(p.Publishes, h.viewPublish(t, pub))
		p.Running = p.Running || pub.Open()
	}
	wakeStalled(ctx, h, t, marketplace.WorkPublishes, list...)
	return h.templates.Render(w, http.StatusOK, "admin_publishes", p)
}

// createPublish queues a publish and asks for it to be run, for the page
// and the API alike.
func (h *Handler) createPublish(r *http.Request, t *tenant.Tenant, sel marketplace.Selection, opts marketplace.PublishOptions, audit staff.Entry) (*marketplace.Publish, error) {
	pub, err := marketplace.CreatePublish(r.Context(), t.Pool, sel, opts, audit)
	if err != nil {
		return nil, err
	}
	h.requestWork(r.Context(), t, marketplace.WorkPublishes)
	return pub, nil
}
