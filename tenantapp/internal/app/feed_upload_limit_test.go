package app_test

import (
	"io"
	"net/http"
	"testing"
)

// zeros reads as an endless run of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// Only signed-in staff may send a body as large as a feed: an anonymous
// client posting to the upload address is held to the small limit and
// refused before the body is read.
func TestFeedSizedBodiesOnlyForStaff(t *testing.T) {
	t.Parallel()
	s := newShopEnv(t)
	_, owner := signedInOwner(t, s, "bigfeed", "Big Feed")
	post := func(cookie string) int {
		req, _ := http.NewRequest("POST", s.srv.URL+"/admin/imports", io.LimitReader(zeros{}, 100<<20))
		req.Host = "bigfeed.localhost"
		req.Header.Set("Content-Type", "multipart/form-data; boundary=b")
		req.ContentLength = 100 << 20 // the answer comes before the body is read
		if cookie != "" {
			req.AddCookie(&http.Cookie{Name: "sf_staff", Value: cookie})
		}
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post(""); code != http.StatusRequestEntityTooLarge {
		t.Errorf("anonymous 100 MB upload: %d", code)
	}
	if code := post(owner.cookie); code == http.StatusRequestEntityTooLarge {
		t.Errorf("the owner's 100 MB upload was refused for its size")
	}
}
