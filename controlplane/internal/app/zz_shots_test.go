package app_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/storefleet/storefleet/internal/backup"
	"github.com/storefleet/storefleet/internal/platform"
)

func TestZZShots(t *testing.T) {
	if os.Getenv("SHOTS") == "" {
		t.Skip()
	}
	c := start(t)
	ctx := context.Background()
	v := c.shop("acme", 40)
	c.shop("bolt", 3)
	c.AddSecondServer(t)
	actor := platform.Actor{Kind: "cli", Name: "tester"}
	b1, _ := c.Backups.Run(ctx, actor, "acme", "manual")
	c.Backups.Verify(ctx, actor, b1.ID)
	b2, _ := c.Backups.Run(ctx, actor, "acme", "scheduled")
	c.corrupt(b2)
	c.Backups.Verify(ctx, actor, b2.ID)
	c.Backups.Run(ctx, actor, "acme", "manual")
	backup.Alert(ctx, c.Store, "warning", "disk.filling", 0, "The backups bucket is 85% full.")
	_ = v
	br := c.browser()
	br.mustLogin()
	shot := func(name, path string, body string) {
		if body == "" {
			body = br.get(path).Body
		}
		body = strings.Replace(body, "<head>", `<head><base href="`+c.URL+`/">`, 1)
		f := "/tmp/shots/" + name + ".html"
		os.WriteFile(f, []byte(body), 0o644)
		out, err := exec.Command("chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
			"--window-size=1280,2600", "--screenshot=/tmp/shots/"+name+".png", "file://"+f).CombinedOutput()
		if err != nil {
			t.Logf("chromium: %v %s", err, out)
		}
	}
	// a running operation: hold the lock
	locked, release := make(chan struct{}), make(chan struct{})
	go c.Prov.WithVendorLock(ctx, v.ID, func() error { close(locked); <-release; return nil })
	<-locked
	br.submit("/admin/vendors/acme", fmt.Sprintf("/admin/backups/%d/verify", b1.ID), nil)
	shot("vendor_running", "/admin/vendors/acme", "")
	close(release)
	br.waitVendorOp("acme")
	shot("vendor", "/admin/vendors/acme", "")
	p := br.submit("/admin/vendors/acme", "/admin/vendors/acme/restore", url.Values{"confirm": {"x"}, "backup_id": {"1"}})
	shot("vendor_422", "", p.Body)
	shot("backups", "/admin/backups", "")
	shot("dashboard", "/admin/", "")
}
