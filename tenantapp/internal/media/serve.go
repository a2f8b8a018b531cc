package media

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/gorilla/mux"
	"github.com/jackc/pgx/v5"
	"github.com/minio/minio-go/v7"

	core "github.com/storefleet/storefleet/internal/media"
	"github.com/storefleet/storefleet/internal/web"
	"github.com/storefleet/storefleet/tenantapp/internal/tenant"
)

// Routes registers GET and HEAD /media/{id}/{size} on the shop's router:
// size is "original" or one of Sizes. A nil Service answers 503.
func (s *Service) Routes(r *mux.Router, rs *web.Responder) {
	r.Handle("/media/{id:[0-9]{1,18}}/{size}", rs.Wrap(s.serve)).Methods(http.MethodGet, http.MethodHead)
}

// URL is the path of an image in a shop with the given base ("" or
// "/vendor/<slug>"); size is "original" or a size from Sizes.
func URL(base string, id int64, size string) string {
	return fmt.Sprintf("%s/media/%d/%s", base, id, size)
}

var errNoImage = &web.Error{Status: http.StatusNotFound, Message: "There is no such image in this shop."}

// serve sends an image from the shop's bucket, with its stored type (one
// of four image types, never from the request), nosniff, and a long cache
// life: an image's objects never change once made. A size not made yet
// is answered with the original, cached briefly.
func (s *Service) serve(w http.ResponseWriter, r *http.Request) error {
	if s == nil {
		return &web.Error{Status: http.StatusServiceUnavailable, Message: "Images are not available on this server."}
	}
	ctx := r.Context()
	t := tenant.FromContext(ctx)
	id, err := strconv.ParseInt(mux.Vars(r)["id"], 10, 64)
	if err != nil {
		return errNoImage
	}
	sizeName := mux.Vars(r)["size"]
	size := 0
	if sizeName != "original" {
		for _, sz := range Sizes {
			if strconv.Itoa(sz) == sizeName {
				size = sz
			}
		}
		if size == 0 {
			return &web.Error{Status: http.StatusNotFound, Message: "Images come in these sizes: original, " + sizeList() + "."}
		}
	}
	var key, ctype, name string
	var sum []byte
	var vKey, vType *string
	err = t.Pool.QueryRow(ctx, `SELECT m.object_key, m.content_type, m.original_name, m.sha256, v.object_key, v.content_type
		FROM media m LEFT JOIN media_variants v ON v.media_id = m.id AND v.size = $2 WHERE m.id = $1`, id, size).
		Scan(&key, &ctype, &name, &sum, &vKey, &vType)
	if errors.Is(err, pgx.ErrNoRows) {
		return errNoImage
	}
	if err != nil {
		return fmt.Errorf("look up media %d: %w", id, err)
	}
	cache := "public, max-age=31536000, immutable"
	etag := fmt.Sprintf(`"%s-%s"`, hex.EncodeToString(sum[:12]), sizeName)
	if size != 0 {
		if vKey != nil {
			key, ctype = *vKey, *vType
		} else {
			cache = "public, max-age=60" // the size is on its way
			etag = fmt.Sprintf(`"%s-original"`, hex.EncodeToString(sum[:12]))
		}
	}
	if !core.AllowedType(ctype) {
		return fmt.Errorf("media %d has the content type %q", id, ctype)
	}
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", cache)
	h.Set("ETag", etag)
	if match := r.Header.Get("If-None-Match"); match != "" && etagMatch(match, etag) {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	cl, err := s.objects.client(t.Entry.Bucket)
	if err != nil {
		return unavailable(err)
	}
	obj, err := cl.GetObject(ctx, t.Entry.Bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return unavailable(err)
	}
	defer obj.Close()
	info, err := obj.Stat()
	if err != nil {
		var resp minio.ErrorResponse
		if errors.As(err, &resp) && resp.Code == "NoSuchKey" {
			return errNoImage
		}
		return unavailable(err)
	}
	h.Set("Cache-Control", cache)
	h.Set("Content-Type", ctype)
	h.Set("Content-Length", strconv.FormatInt(info.Size, 10))
	// Opened on its own, the image can run nothing.
	h.Set("Content-Security-Policy", "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox")
	if d := mime.FormatMediaType("inline", map[string]string{"filename": name}); d != "" {
		h.Set("Content-Disposition", d)
	}
	h.Set("Cross-Origin-Resource-Policy", "cross-origin") // shop images may be shown in e-mails and feeds
	if r.Method == http.MethodHead {
		w.WriteHeader(http.StatusOK)
		return nil
	}
	w.WriteHeader(http.StatusOK)
	_, _ = io.Copy(w, obj)
	return nil
}

func etagMatch(header, etag string) bool {
	for _, p := range strings.Split(header, ",") {
		p = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(p), "W/"))
		if p == etag || p == "*" {
			return true
		}
	}
	return false
}

func sizeList() string {
	s := make([]string, len(Sizes))
	for i, sz := range Sizes {
		s[i] = strconv.Itoa(sz)
	}
	return strings.Join(s, ", ")
}
