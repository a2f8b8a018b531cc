package app_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/storefleet/storefleet/internal/auth"
	"github.com/storefleet/storefleet/internal/mail/mailtest"
)

// chromium finds Debian's Chromium (deploy/local/tools.sh installs it).
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no Chromium for the browser tests: run `deploy/local/tools.sh chromium` (apt-get install chromium)")
	return ""
}

// newBrowser starts a headless Chromium for one test.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.NoSandbox, // CI runs as root
		chromedp.DisableGPU,
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelCtx(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil { // starts the browser, with no deadline
		t.Fatalf("start Chromium: %v", err)
	}
	return ctx
}

// TestShopperJourneyInABrowser is the whole purchase in a real browser: a
// shopper searches, adds to the cart, registers, checks out, pays and
// sees the confirmation; the vendor finds the order in the back office
// and marks it shipped; the confirmation and the shipping notice arrive
// by e-mail.
func TestShopperJourneyInABrowser(t *testing.T) {
	s := newShopEnv(t)
	s.e.UseMailer(t)
	startJobs(t, s)
	inbox := mailtest.New(t, s.e.Vars["STOREFLEET_MAILPIT_URL"])
	v := s.e.CreateVendor(t, "trailco", "Trail Co")
	pool, _ := shopReady(t, s, v)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `INSERT INTO products (sku, title, handle, description, brand, price_minor, state, stock_on_hand)
		VALUES ('TRS-1', 'Trail running shoes', 'trail-running-shoes', 'Light shoes for running on rough trails.', 'Peakstep', 8900, 'active', 4),
		       ('HAT-1', 'Sun hat', 'sun-hat', 'A wide hat.', 'Peakstep', 1900, 'active', 10)`); err != nil {
		t.Fatal(err)
	}
	hash, err := auth.Hash("vendor password 123")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `UPDATE staff SET password_hash = $1, status = 'active' WHERE is_owner`, hash); err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(s.srv.URL, "http://"))
	shop := fmt.Sprintf("http://trailco.localhost:%s", port) // Chromium sends *.localhost to the loopback
	email := mailtest.UniqueAddress("shopper", "example.com")

	b := newBrowser(t)
	var text string
	run := func(step string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		ctx, cancel := context.WithTimeout(b, time.Minute)
		defer cancel()
		if err := chromedp.Do(ctx, actions...); err != nil {
			html, _ := chromedp.Run(b, chromedp.OuterHTML(chromedp.CSS("body")))
			if dir := os.Getenv("STOREFLEET_TEST_ARTIFACTS"); dir != "" {
				_ = os.WriteFile(dir+"/journey.html", []byte(html), 0o644)
			}
			t.Fatalf("%s: %v\npage:\n%.3000s", step, err, html)
		}
	}

	run("search from the home page",
		chromedp.Navigate(shop+"/"),
		chromedp.WaitVisible(chromedp.CSS(`#shop-search`)),
		chromedp.SendKeys(chromedp.CSS(`#shop-search`), "trail shoes"),
		chromedp.Submit(chromedp.CSS(`#shop-search`)),
		chromedp.WaitVisible(chromedp.CSS(`main a[href="/products/trail-running-shoes"]`)),
	)
	run("open the product and add it to the cart",
		chromedp.Click(chromedp.CSS(`main a[href="/products/trail-running-shoes"]`)),
		chromedp.WaitVisible(chromedp.CSS(`form.add-to-cart button[type="submit"]`)),
		chromedp.SetValue(chromedp.CSS(`#quantity`), "2"),
		chromedp.Click(chromedp.CSS(`form.add-to-cart button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`table.cart-lines`)),
	)
	text = pageText(t, b)
	if !strings.Contains(text, "Trail running shoes") || !strings.Contains(text, "€178.00") {
		t.Fatalf("cart:\n%s", text)
	}
	run("register",
		chromedp.Navigate(shop+"/account/register?next=%2Fcheckout"),
		chromedp.WaitVisible(chromedp.CSS(`#email`)),
		chromedp.SendKeys(chromedp.CSS(`#name`), "Ada Shopper"),
		chromedp.SendKeys(chromedp.CSS(`#email`), email),
		chromedp.SendKeys(chromedp.CSS(`#password`), "correct horse battery"),
		chromedp.SendKeys(chromedp.CSS(`#password_again`), "correct horse battery"),
		chromedp.Submit(chromedp.CSS(`#email`)),
		chromedp.WaitVisible(chromedp.CSS(`input[name="line1"]`)),
	)
	run("check out",
		chromedp.SendKeys(chromedp.CSS(`input[name="name"]`), "Ada Shopper"),
		chromedp.SendKeys(chromedp.CSS(`input[name="line1"]`), "12 Rue du Fort"),
		chromedp.SendKeys(chromedp.CSS(`input[name="postal_code"]`), "2419"),
		chromedp.SendKeys(chromedp.CSS(`input[name="city"]`), "Luxembourg"),
		chromedp.SetValue(chromedp.CSS(`select[name="country"]`), "LU"),
		chromedp.Click(chromedp.CSS(`form.checkout-grid button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action$="/pay"] button`)),
	)
	run("pay and see the confirmation",
		chromedp.Click(chromedp.CSS(`form[action$="/pay"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`.badge.ok`)),
	)
	text = pageText(t, b)
	if !strings.Contains(text, "Payment received") || !strings.Contains(text, "Thank you") {
		t.Fatalf("confirmation page:\n%s", text)
	}
	var orderID int64
	if err := pool.QueryRow(ctx, `SELECT id FROM orders WHERE email = $1 AND status = 'paid'`, email).Scan(&orderID); err != nil {
		t.Fatalf("the paid order: %v", err)
	}
	confirmation := inbox.Wait(t, email, fmt.Sprintf("Thank you for your order %d", orderID))

	run("the vendor signs in and finds the order",
		chromedp.Navigate(shop+"/admin/login"),
		chromedp.WaitVisible(chromedp.CSS(`input[name="email"]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name="email"]`), v.OwnerEmail),
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), "vendor password 123"),
		chromedp.Submit(chromedp.CSS(`input[name="password"]`)),
		chromedp.WaitVisible(chromedp.CSS(`nav.topbar`)),
		chromedp.Click(chromedp.CSS(`nav.topbar a[href="/admin/orders"]`)),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`a[href="/admin/orders/%d"]`, orderID))),
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`a[href="/admin/orders/%d"]`, orderID))),
		chromedp.WaitVisible(chromedp.CSS(`input[name="tracking_number"]`)),
	)
	run("the vendor marks it shipped",
		chromedp.SendKeys(chromedp.CSS(`input[name="carrier"]`), "Post Luxembourg"),
		chromedp.SendKeys(chromedp.CSS(`input[name="tracking_number"]`), "LU123456789"),
		chromedp.Submit(chromedp.CSS(`input[name="tracking_number"]`)),
	)
	waitFor(t, func() bool {
		var status string
		err := pool.QueryRow(ctx, `SELECT status FROM orders WHERE id = $1`, orderID).Scan(&status)
		return err == nil && status == "shipped"
	})
	if text = pageText(t, b); !strings.Contains(text, "LU123456789") {
		t.Errorf("the order page does not show the tracking number:\n%s", text)
	}
	notice := inbox.Wait(t, email, fmt.Sprintf("Your order %d", orderID))
	if !strings.Contains(notice.Text, "LU123456789") {
		t.Errorf("the shipping notice has no tracking number:\n%s", notice.Text)
	}
	if !strings.Contains(confirmation.Text, "Trail running shoes") || !strings.Contains(confirmation.Text, "http://trailco.localhost") {
		t.Errorf("the confirmation lacks the product or the shop's link:\n%s", confirmation.Text)
	}
}

// pageText is the text of the page's main element.
func pageText(t *testing.T, b context.Context) string {
	t.Helper()
	text, err := chromedp.Run(b, chromedp.Text(chromedp.CSS("main")))
	if err != nil {
		t.Fatalf("read the page: %v", err)
	}
	return text
}
