package backoffice

import (
	"net/http"

	"github.com/gorilla/mux"
)

// shopRoutes declares the back office's shop routes on the signed-in
// subrouter. Media library, settings and theme, dashboard data, the vendor audit log viewer (issue 5, items 5-8).
// The dashboard itself (GET /admin/, dashboard.read) is declared in Routes.
func (h *Handler) shopRoutes(in *mux.Router) {
	// Media library (images are served to everyone at /media/{id}/{size},
	// by the media package).
	in.Handle("/media", h.can("media.read", h.mediaList)).Methods(http.MethodGet)
	in.Handle("/media", h.can("media.write", h.mediaUpload)).Methods(http.MethodPost)
	in.Handle("/media/{id:[0-9]{1,18}}", h.can("media.read", h.mediaShow)).Methods(http.MethodGet)
	in.Handle("/media/{id:[0-9]{1,18}}", h.can("media.write", h.mediaUpdate)).Methods(http.MethodPost)
	in.Handle("/media/{id:[0-9]{1,18}}/delete", h.can("media.write", h.mediaDelete)).Methods(http.MethodPost)

	// Settings and theme.
	in.Handle("/settings", h.can("settings.write", h.settingsForm)).Methods(http.MethodGet)
	in.Handle("/settings", h.can("settings.write", h.settingsSave)).Methods(http.MethodPost)

	// The vendor's audit log.
	in.Handle("/audit", h.can("audit.read", h.auditList)).Methods(http.MethodGet)
	in.Handle("/audit.csv", h.can("audit.read", h.auditExport)).Methods(http.MethodGet)
}
