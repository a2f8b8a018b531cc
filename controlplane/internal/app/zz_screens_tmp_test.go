package app_test

import (
	"fmt"
	"os"
	"regexp"
	"testing"
	"time"
)

func TestZZScreens(t *testing.T) {
	dir := os.Getenv("SCREENS")
	if dir == "" {
		t.Skip()
	}
	f := startRollout(t)
	b := f.browser()
	b.mustLogin()
	css := regexp.MustCompile(`/static/(css|vendor)/([^"?]+)\?v=[0-9a-f]+`)
	save := func(name, path string) {
		p := b.get(path)
		body := css.ReplaceAllString(p.Body, "file:///work/main/static/$1/$2")
		if err := os.WriteFile(dir+"/"+name+".html", []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	save("list-failed", "/admin/migrations")
	save("run-failed", "/admin/migrations/1")
	save("vendor-failed", "/admin/vendors/"+f.pricey.Slug)
	f.fixData()
	b.submit("/admin/migrations/1", "/admin/migrations/1/resume", nil)
	save("run-running", "/admin/migrations/1")
	save("list-running", "/admin/migrations")
	time.Sleep(3 * time.Second)
	save("run-finished", "/admin/migrations/1")
	save("list-finished", "/admin/migrations")
	save("vendor-finished", "/admin/vendors/"+f.pricey.Slug)
	fmt.Println("saved")
}
