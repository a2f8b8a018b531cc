package console

import (
	"net/http"
	"net/url"
	"strconv"
)

// noticesPerPage is how many notifications a page shows.
const noticesPerPage = 50

// GET /admin/notifications?unread=1&page=
func (h *Handler) notificationList(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	q := r.URL.Query()
	unread := q.Get("unread") == "1"
	page, _ := strconv.Atoi(q.Get("page"))
	page = max(page, 1)
	list, total, err := h.store.Notices(ctx, adminFrom(ctx).ID, unread, page, noticesPerPage)
	if err != nil {
		return err
	}
	link := func(p int) string {
		v := url.Values{}
		if unread {
			v.Set("unread", "1")
		}
		if p > 1 {
			v.Set("page", strconv.Itoa(p))
		}
		if len(v) == 0 {
			return "/admin/notifications"
		}
		return "/admin/notifications?" + v.Encode()
	}
	data := map[string]any{"Title": "Notifications", "Nav": "notifications", "Notices": list, "Total": total,
		"UnreadOnly": unread, "Page": page, "Pages": pages(total, noticesPerPage), "Self": link(page)}
	if page > 1 {
		data["PrevURL"] = link(page - 1)
	}
	if page*noticesPerPage < total {
		data["NextURL"] = link(page + 1)
	}
	return h.render(w, r, http.StatusOK, "notification_list", data)
}

// pages is how many pages n items fill, at least 1.
func pages(n, per int) int { return max(1, (n+per-1)/per) }
