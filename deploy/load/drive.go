package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// kind is a kind of request, with a latency row of its own in the report.
type kind int

const (
	kHome kind = iota
	kCatalog
	kProduct
	kSearch
	kSuggest
	kCartAdd
	kCartView
	kQuote
	kCheckout
	kPay
	kOrder
	nKinds
)

var kindNames = [nKinds]string{"home", "catalog", "product", "search", "suggest", "cart_add", "cart_view",
	"checkout_quote", "checkout", "pay", "order_page"}

// kindWhat says what each kind sends (for the report).
var kindWhat = [nKinds]string{
	"GET /",
	"GET /products?filters&sort&page, /categories/{id}",
	"GET /products/{handle}",
	"GET /search?q= (a fifth with a typo)",
	"GET /search/suggest?q=",
	"POST /api/v1/shop/cart/lines",
	"GET /cart",
	"GET /api/v1/shop/checkout?shipping_method_id=",
	"POST /api/v1/shop/checkout",
	"POST /api/v1/shop/orders/{token}/pay (test card)",
	"GET /orders/{token}",
}

// recorder is one virtual shopper's tally; they are merged at the end.
type recorder struct {
	lat     [nKinds][]time.Duration
	errs    [nKinds]map[string]int
	soldOut [nKinds]int
	samples []string
	orders  []placedOrder
	// uncertain counts, per vendor, the checkouts whose outcome the
	// driver does not know (a transport error or timeout, an unexpected
	// status, an answer it could not read): each may have placed an order
	// it never saw. The consistency check allows that many orders unknown
	// to the driver in the vendor's database, and no more.
	uncertain map[int]int
}

func (r *recorder) ok(k kind, d time.Duration) { r.lat[k] = append(r.lat[k], d) }

func (r *recorder) fail(k kind, code, sample string) {
	if r.errs[k] == nil {
		r.errs[k] = map[string]int{}
	}
	r.errs[k][code]++
	if len(r.samples) < 5 {
		r.samples = append(r.samples, kindNames[k]+" "+code+": "+sample)
	}
}

func (r *recorder) merge(o *recorder) {
	for k := range nKinds {
		r.lat[k] = append(r.lat[k], o.lat[k]...)
		r.soldOut[k] += o.soldOut[k]
		for c, n := range o.errs[k] {
			if r.errs[k] == nil {
				r.errs[k] = map[string]int{}
			}
			r.errs[k][c] += n
		}
	}
	for _, s := range o.samples {
		if len(r.samples) < 20 {
			r.samples = append(r.samples, s)
		}
	}
	r.orders = append(r.orders, o.orders...)
	for v, n := range o.uncertain {
		if r.uncertain == nil {
			r.uncertain = map[int]int{}
		}
		r.uncertain[v] += n
	}
}

// uncertainCheckout records a checkout of vendor vi whose outcome is not
// known.
func (r *recorder) uncertainCheckout(vi int) {
	if r.uncertain == nil {
		r.uncertain = map[int]int{}
	}
	r.uncertain[vi]++
}

// placedOrder is an order the shop accepted (201 with its id and token).
type placedOrder struct {
	Vendor int           `json:"vendor"`
	ID     int64         `json:"id"`
	Token  string        `json:"token"`
	Lines  map[int64]int `json:"lines"` // product id: quantity, as in the cart that was checked out
	Total  int64         `json:"total"`
	Paid   bool          `json:"paid"`
	// PayFailed says that the driver asked to pay the order and the
	// request failed (a transport error or timeout, an unexpected status,
	// or an answer that did not say paid): the order may be in any payment
	// state. An order the driver did not pay and not PayFailed must be
	// unpaid.
	PayFailed bool `json:"pay_failed,omitempty"`
}

type driver struct {
	base   *url.URL
	port   string
	client *http.Client
	state  *State
	until  time.Time
}

func runMain(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	base := fs.String("base", "http://127.0.0.1:8080", "the tenant app")
	statePath := fs.String("state", "load-state.json", "what `load seed` made")
	duration := fs.Duration("duration", 60*time.Second, "how long to drive load")
	clients := fs.Int("clients", 32, "virtual shoppers at once")
	vendors := fs.Int("vendors", 0, "shop at the first N seeded vendors only (0: all)")
	out := fs.String("out", "", "write the results as JSON here too")
	noCheck := fs.Bool("no-check", false, "skip the consistency check")
	_ = fs.Parse(args)

	raw, err := os.ReadFile(*statePath)
	if err != nil {
		return err
	}
	var state State
	if err := json.Unmarshal(raw, &state); err != nil {
		return fmt.Errorf("%s: %w", *statePath, err)
	}
	if *vendors > 0 && *vendors < len(state.Vendors) {
		state.Vendors = state.Vendors[:*vendors]
	}
	if len(state.Vendors) == 0 {
		return errors.New("no vendors in the state file: run `load seed` first")
	}
	u, err := url.Parse(*base)
	if err != nil {
		return err
	}
	d := &driver{base: u, port: u.Port(), state: &state, client: &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{MaxIdleConns: *clients * 2, MaxIdleConnsPerHost: *clients * 2,
			DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext},
		// a redirect is an answer to look at, not to follow
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}

	fmt.Fprintf(os.Stderr, "load: %d virtual shoppers for %s across %d vendors at %s\n", *clients, *duration, len(state.Vendors), *base)
	start := time.Now()
	d.until = start.Add(*duration)
	total := &recorder{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range *clients {
		wg.Go(func() {
			rec := &recorder{}
			rng := rand.New(rand.NewPCG(uint64(i), uint64(start.UnixNano())))
			for time.Now().Before(d.until) && ctx.Err() == nil {
				d.visit(rng, rec)
			}
			mu.Lock()
			total.merge(rec)
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if ctx.Err() != nil {
		return ctx.Err()
	}

	res := summarize(total, elapsed, *clients, len(state.Vendors))
	res.print(os.Stdout)
	var check *checkResult
	if !*noCheck {
		fmt.Fprintf(os.Stderr, "load: checking %d orders and the stock of %d vendors\n", len(total.orders), len(state.Vendors))
		check, err = runCheck(ctx, &state, total.orders, total.uncertain)
		if err != nil {
			return err
		}
		check.print(os.Stdout)
		res.Check = check
	}
	if *out != "" {
		raw, _ := json.MarshalIndent(res, "", "  ")
		if err := os.WriteFile(*out, raw, 0o644); err != nil {
			return err
		}
	}
	switch {
	case check != nil && !check.OK():
		return errors.New("consistency check failed (see above)")
	case res.Errors > 0:
		return fmt.Errorf("%d requests failed (see above)", res.Errors)
	}
	return nil
}

// shopper is one visit's session at one vendor.
type shopper struct {
	d      *driver
	rng    *rand.Rand
	rec    *recorder
	vi     int
	v      *VendorState
	host   string
	cookie string
}

// visit is one shopper's visit to a random vendor: browsing, searching,
// and in some visits a cart, a checkout and a payment.
func (d *driver) visit(rng *rand.Rand, rec *recorder) {
	vi := rng.IntN(len(d.state.Vendors))
	v := &d.state.Vendors[vi]
	host := v.Slug + ".localhost"
	if d.port != "" {
		host += ":" + d.port
	}
	s := &shopper{d: d, rng: rng, rec: rec, vi: vi, v: v, host: host}
	if rng.IntN(10) < 7 {
		s.get(kHome, "/")
	}
	for range 1 + rng.IntN(5) {
		if !s.live() {
			return
		}
		switch n := rng.IntN(100); {
		case n < 35:
			s.get(kCatalog, s.catalogPath())
		case n < 70:
			s.get(kProduct, "/products/"+s.product(false).Handle)
		case n < 88:
			s.get(kSearch, "/search?q="+url.QueryEscape(s.searchText()))
		default:
			w := s.word()
			s.get(kSuggest, "/search/suggest?q="+url.QueryEscape(w[:min(len(w), 3+rng.IntN(3))]))
		}
	}
	if !s.live() || rng.IntN(100) >= 45 {
		return
	}
	// the cart: one to three products, favouring the featured ones
	for range 1 + rng.IntN(3) {
		p := s.product(rng.IntN(100) < 35)
		qty := 1 + rng.IntN(2)
		if _, ok := s.json(kCartAdd, "POST", "/api/v1/shop/cart/lines", map[string]any{"product_id": p.ID, "quantity": qty}, 200, nil); !ok {
			return
		}
	}
	if rng.IntN(2) == 0 {
		s.get(kCartView, "/cart")
	}
	if !s.live() || rng.IntN(100) >= 65 {
		return
	}
	// checkout: a quote with a fresh key and the cart's version, then the order
	method := 1 + rng.IntN(2)
	var quote struct {
		CheckoutKey string `json:"checkout_key"`
		Cart        struct {
			Version string `json:"version"`
			Lines   []struct {
				ProductID int64 `json:"product_id"`
				Quantity  int   `json:"quantity"`
			} `json:"lines"`
		} `json:"cart"`
	}
	if _, ok := s.json(kQuote, "GET", "/api/v1/shop/checkout?shipping_method_id="+strconv.Itoa(method), nil, 200, &quote); !ok {
		return
	}
	var placed struct {
		Token string `json:"token"`
		Order struct {
			ID    int64 `json:"id"`
			Total int64 `json:"total"`
		} `json:"order"`
	}
	status, ok := s.json(kCheckout, "POST", "/api/v1/shop/checkout", map[string]any{
		"checkout_key": quote.CheckoutKey, "cart_version": quote.Cart.Version,
		"email": fmt.Sprintf("shopper%d@example.com", rng.IntN(100000)), "shipping_method_id": method,
		"shipping_address": map[string]any{"name": "Load Shopper", "line1": "1 Rue du Test",
			"postal_code": "1234", "city": "Luxembourg", "country": "LU"},
	}, 201, &placed)
	if !ok {
		rec.uncertainCheckout(vi)
		return
	}
	if status == 201 && (placed.Order.ID == 0 || placed.Token == "") {
		rec.fail(kCheckout, "201-without-order", "no order id or token in the answer")
		rec.uncertainCheckout(vi)
		return
	}
	if status != 201 {
		return // sold out: counted, the shopper leaves
	}
	o := placedOrder{Vendor: vi, ID: placed.Order.ID, Token: placed.Token, Total: placed.Order.Total, Lines: map[int64]int{}}
	for _, l := range quote.Cart.Lines {
		o.Lines[l.ProductID] += l.Quantity
	}
	defer func() { rec.orders = append(rec.orders, o) }()
	if rng.IntN(100) >= 90 {
		return // one shopper in ten leaves without paying: the stock stays reserved
	}
	var paid struct {
		Order struct {
			PaymentStatus string `json:"payment_status"`
		} `json:"order"`
	}
	if _, ok := s.json(kPay, "POST", "/api/v1/shop/orders/"+placed.Token+"/pay", map[string]any{}, 200, &paid); !ok {
		o.PayFailed = true
		return
	}
	if paid.Order.PaymentStatus != "paid" {
		rec.fail(kPay, "not-paid", "payment_status "+paid.Order.PaymentStatus)
		o.PayFailed = true
		return
	}
	o.Paid = true
	if rng.IntN(2) == 0 {
		s.get(kOrder, "/orders/"+placed.Token)
	}
}

// live says whether the run still goes on.
func (s *shopper) live() bool { return time.Now().Before(s.d.until) }

func (s *shopper) product(hot bool) *ProductState {
	ps := s.v.Products
	if hot {
		n := 0
		for n < len(ps) && ps[n].Hot {
			n++
		}
		if n > 0 {
			return &ps[s.rng.IntN(n)]
		}
	}
	return &ps[s.rng.IntN(len(ps))]
}

func (s *shopper) word() string { return s.d.state.Words[s.rng.IntN(len(s.d.state.Words))] }

// searchText is one or two seeded words; a fifth of the time with a typo
// (two letters swapped, or one left out).
func (s *shopper) searchText() string {
	w := s.word()
	if s.rng.IntN(5) == 0 && len(w) > 4 {
		i := 1 + s.rng.IntN(len(w)-2)
		if s.rng.IntN(2) == 0 {
			w = w[:i] + w[i+1:i+2] + w[i:i+1] + w[i+2:]
		} else {
			w = w[:i] + w[i+1:]
		}
	}
	if s.rng.IntN(3) == 0 {
		w += " " + s.word()
	}
	return w
}

func (s *shopper) catalogPath() string {
	q := url.Values{}
	path := "/products"
	filtered := true
	switch s.rng.IntN(7) {
	case 0:
		path = "/categories/" + strconv.FormatInt(s.v.Categories[s.rng.IntN(len(s.v.Categories))], 10)
	case 1:
		q.Set("category", strconv.FormatInt(s.v.Categories[s.rng.IntN(len(s.v.Categories))], 10))
		q.Set("in_stock", "1")
	case 2:
		q.Set("brand", s.v.Brands[s.rng.IntN(len(s.v.Brands))])
	case 3:
		lo := 5 + s.rng.IntN(100)
		q.Set("min_price", strconv.Itoa(lo))
		q.Set("max_price", strconv.Itoa(lo+20+s.rng.IntN(80))+".50")
	case 4:
		q.Set("in_stock", "1")
	default:
		filtered = false
	}
	if n := s.rng.IntN(5); n > 0 {
		q.Set("sort", []string{"newest", "price_asc", "price_desc", "title"}[n-1])
	}
	if !filtered && s.rng.IntN(3) == 0 {
		q.Set("page", strconv.Itoa(2+s.rng.IntN(4))) // 300 products: pages 1 to 13
	}
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	return path
}

func (s *shopper) get(k kind, path string) {
	s.do(k, "GET", path, nil, 200, nil)
}

// json sends a JSON request and decodes a JSON answer of the expected
// status into out; a sold-out 409 from a checkout is expected too. ok is
// false when the answer was neither.
func (s *shopper) json(k kind, method, path string, in any, expect int, out any) (int, bool) {
	var body []byte
	if in != nil {
		body, _ = json.Marshal(in)
	}
	return s.do(k, method, path, body, expect, out)
}

func (s *shopper) do(k kind, method, path string, body []byte, expect int, out any) (int, bool) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	// Requests are not cancelled when the run ends: one under way is
	// finished, so that the driver knows whether an order was accepted.
	req, err := http.NewRequestWithContext(context.Background(), method, s.d.base.String()+path, rd)
	if err != nil {
		s.rec.fail(k, "bad-request", err.Error())
		return 0, false
	}
	req.Host = s.host
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if method != "GET" {
		req.Header.Set("Sec-Fetch-Site", "same-origin") // as a browser on the shop's own page
	}
	req.Header.Set("User-Agent", "storefleet-load/1")
	if s.cookie != "" {
		req.AddCookie(&http.Cookie{Name: "sf_shop", Value: s.cookie})
	}
	t0 := time.Now()
	resp, err := s.d.client.Do(req)
	if err != nil {
		s.rec.fail(k, "net", err.Error())
		return 0, false
	}
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	d := time.Since(t0)
	if err != nil {
		s.rec.fail(k, "net", err.Error())
		return 0, false
	}
	for _, c := range resp.Cookies() {
		if c.Name == "sf_shop" {
			s.cookie = c.Value
		}
	}
	switch {
	case resp.StatusCode == expect:
		s.rec.ok(k, d)
		if out != nil {
			if err := json.Unmarshal(data, out); err != nil {
				s.rec.fail(k, "bad-json", err.Error())
				return resp.StatusCode, false
			}
		}
		return resp.StatusCode, true
	case k == kCheckout && resp.StatusCode == 409 && soldOut(data):
		s.rec.ok(k, d)
		s.rec.soldOut[k]++
		return resp.StatusCode, true
	}
	s.rec.fail(k, strconv.Itoa(resp.StatusCode), fmt.Sprintf("%s %s %s: %.200s", method, s.host, path, data))
	return resp.StatusCode, false
}

// soldOut tells the shop's "sold out" answers (a product sold out while
// the shopper shopped) from other conflicts.
func soldOut(body []byte) bool {
	b := strings.ToLower(string(body))
	return strings.Contains(b, "sold out") || strings.Contains(b, " left. lower the quantity")
}
