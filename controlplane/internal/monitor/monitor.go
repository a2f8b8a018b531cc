// Package monitor is the control plane's view of the platform's health
// and of its job system: it checks every database server, Redis, the
// object store, the mailer and River on demand for the console's
// Monitoring page, lists River's jobs for the Jobs page and the API, and
// retries or discards them with an audit row. It also holds the control
// plane's platform-wide Prometheus figures (backups, alerts). Everything
// here reads; only Retry and Discard change anything.
package monitor

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/smtp"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/storefleet/storefleet/internal/metrics"
	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/storage"
)

// Statuses of a component.
const (
	StatusOK   = "ok"   // answers, nothing to worry about
	StatusWarn = "warn" // answers, but look at it
	StatusDown = "down" // does not answer
	StatusOff  = "off"  // not configured
)

// Options are the monitor's dependencies. Any of Redis, Objects and
// SMTPURL may be empty: the component is then reported as not configured.
type Options struct {
	Store *platform.Store
	// ServerURL gives the platform's admin connection URL for a database
	// on a server (provision.Provisioner.AdminURL).
	ServerURL func(srv *platform.Server, db string) (string, error)
	Redis     redis.UniversalClient
	Objects   *storage.Admin
	SMTPURL   string
	// Timeout bounds each check (default 5 s).
	Timeout time.Duration
	Logger  *slog.Logger
}

// Monitor checks the platform's parts and handles its jobs.
type Monitor struct {
	o      Options
	river  *river.Client[pgx.Tx]
	log    *slog.Logger
	checks []func(ctx context.Context) []Component
}

// New returns a monitor. Its River client only inserts and changes jobs;
// it runs none.
func New(o Options) (*Monitor, error) {
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	client, err := river.NewClient(riverpgxv5.New(o.Store.Pool()), &river.Config{Logger: o.Logger})
	if err != nil {
		return nil, fmt.Errorf("job client for the console: %w", err)
	}
	m := &Monitor{o: o, river: client, log: o.Logger}
	m.checks = []func(ctx context.Context) []Component{m.checkServers, m.checkRedis, m.checkObjects, m.checkMailer, m.checkJobs}
	return m, nil
}

// GroupServers is the group of the database servers' components.
const GroupServers = "Database servers"

// Component is the health of one part of the platform.
type Component struct {
	Group   string        // "Database servers", "Redis", ...
	Name    string        // the server's name, or the address
	Status  string        // StatusOK, StatusWarn, StatusDown or StatusOff
	Latency time.Duration // how long the check took to get an answer
	Summary string        // one line: what was found
	// Explanation says what the status means and what to do about it.
	Explanation string
	Details     []Detail
}

// Detail is one figure of a component.
type Detail struct {
	Label, Value string
}

// Report is every component's health at one moment.
type Report struct {
	Checked    time.Time
	Took       time.Duration
	Components []Component
}

// Worst is the report's worst status.
func (r *Report) Worst() string {
	rank := map[string]int{StatusOK: 0, StatusOff: 1, StatusWarn: 2, StatusDown: 3}
	worst := StatusOK
	for _, c := range r.Components {
		if rank[c.Status] > rank[worst] {
			worst = c.Status
		}
	}
	return worst
}

// Count returns how many components have a status.
func (r *Report) Count(status string) int {
	n := 0
	for _, c := range r.Components {
		if c.Status == status {
			n++
		}
	}
	return n
}

// Check asks every component at once, each within the timeout, and
// returns them in a fixed order.
func (m *Monitor) Check(ctx context.Context) *Report {
	start := time.Now()
	results := make([][]Component, len(m.checks))
	var wg sync.WaitGroup
	for i, check := range m.checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cctx, cancel := context.WithTimeout(ctx, m.o.Timeout)
			defer cancel()
			results[i] = check(cctx)
		}()
	}
	wg.Wait()
	rep := &Report{Checked: start, Took: time.Since(start)}
	for _, r := range results {
		rep.Components = append(rep.Components, r...)
	}
	return rep
}

// slowAfter is the latency above which an answer counts as slow.
const slowAfter = 500 * time.Millisecond

func down(group, name string, took time.Duration, err error, explanation string) Component {
	return Component{Group: group, Name: name, Status: StatusDown, Latency: took, Summary: oneLine(err.Error()), Explanation: explanation}
}

// oneLine keeps an error message to one readable line.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// checkServers connects to every database server with the platform's
// credentials and reads its connections and database sizes.
func (m *Monitor) checkServers(ctx context.Context) []Component {
	const group = GroupServers
	servers, err := m.o.Store.Servers(ctx)
	if err != nil {
		return []Component{down(group, "control-plane database", 0, err,
			"The list of database servers could not be read from the control-plane database.")}
	}
	if len(servers) == 0 {
		return []Component{{Group: group, Name: "none", Status: StatusWarn, Summary: "No database server is registered.",
			Explanation: "New vendors cannot be created: add a server with `provisioner servers add`."}}
	}
	out := make([]Component, len(servers))
	var wg sync.WaitGroup
	for i, srv := range servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = m.checkServer(ctx, srv)
		}()
	}
	wg.Wait()
	return out
}

func (m *Monitor) checkServer(ctx context.Context, srv *platform.Server) Component {
	const group = GroupServers
	name := fmt.Sprintf("%s (%s:%d)", srv.Name, srv.Host, srv.Port)
	u, err := m.o.ServerURL(srv, srv.MaintenanceDB)
	if err != nil {
		return down(group, name, 0, err, "The server's admin password cannot be opened with this master key.")
	}
	cfg, err := pgx.ParseConfig(u)
	if err != nil {
		return down(group, name, 0, errors.New("its connection settings cannot be read"), "Check the server's record with `provisioner servers list`.")
	}
	cfg.RuntimeParams["application_name"] = "storefleet-monitor"
	start := time.Now()
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return down(group, name, time.Since(start), err,
			"The platform cannot connect to this server: vendors whose databases live here are down, and new vendors go elsewhere only if another server is active.")
	}
	defer func() { _ = conn.Close(context.Background()) }()
	var used, maxConns, reserved int
	var version string
	err = conn.QueryRow(ctx, `SELECT (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')::int,
		current_setting('max_connections')::int, current_setting('superuser_reserved_connections')::int,
		current_setting('server_version')`).Scan(&used, &maxConns, &reserved, &version)
	took := time.Since(start)
	if err != nil {
		return down(group, name, took, err, "The server accepted the connection but could not answer a query.")
	}
	type dbSize struct {
		name string
		size *int64
	}
	rows, err := conn.Query(ctx, `SELECT datname, CASE WHEN has_database_privilege(oid, 'CONNECT') THEN pg_database_size(oid) END
		FROM pg_database WHERE NOT datistemplate ORDER BY 2 DESC NULLS LAST, 1`)
	var sizes []dbSize
	if err == nil {
		sizes, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (dbSize, error) {
			var d dbSize
			return d, r.Scan(&d.name, &d.size)
		})
	}
	c := Component{Group: group, Name: name, Status: StatusOK, Latency: took}
	usable := maxConns - reserved
	pct := 0
	if usable > 0 {
		pct = used * 100 / usable
	}
	c.Summary = fmt.Sprintf("%d of %d connections in use (%d %%), PostgreSQL %s", used, usable, pct, version)
	c.Details = append(c.Details,
		Detail{"Connections", fmt.Sprintf("%d in use of %d (max_connections %d, %d reserved)", used, usable, maxConns, reserved)},
		Detail{"Vendor databases", strconv.Itoa(srv.Vendors)},
		Detail{"State", srv.State})
	if err != nil {
		c.Details = append(c.Details, Detail{"Database sizes", "cannot be read: " + oneLine(err.Error())})
	} else {
		var total int64
		known := 0
		for _, d := range sizes {
			if d.size != nil {
				total += *d.size
				known++
			}
		}
		c.Details = append(c.Details, Detail{"Databases", fmt.Sprintf("%d, %s in the %d this role may read", len(sizes), humanBytes(total), known)})
		for i, d := range sizes {
			if i == 5 || d.size == nil {
				break
			}
			c.Details = append(c.Details, Detail{"Largest: " + d.name, humanBytes(*d.size)})
		}
	}
	switch {
	case pct >= 90:
		c.Status = StatusWarn
		c.Explanation = "Connections are nearly exhausted: new vendor pools and provisioning will fail. Lower STOREFLEET_POOL_MAX_CONNS on the tenant apps, raise max_connections, or move vendors to another server."
	case pct >= 75:
		c.Status = StatusWarn
		c.Explanation = "More than three quarters of the connections are in use: watch it, and plan another server before it fills up."
	case took > slowAfter:
		c.Status = StatusWarn
		c.Explanation = "The server answers slowly: check its load and the network between it and the control plane."
	case srv.State != "active":
		c.Explanation = "The server answers; it is " + srv.State + ", so new vendors go to other servers."
	default:
		c.Explanation = "The server answers and has connections to spare."
	}
	return c
}

// checkRedis pings Redis and reads a few of its figures.
func (m *Monitor) checkRedis(ctx context.Context) []Component {
	const group = "Redis"
	if m.o.Redis == nil {
		return []Component{{Group: group, Name: "not configured", Status: StatusOff,
			Explanation: "Without Redis there are no admin sessions; set STOREFLEET_REDIS_URL."}}
	}
	name := "redis"
	if c, ok := m.o.Redis.(*redis.Client); ok {
		name = c.Options().Addr
	}
	start := time.Now()
	if err := m.o.Redis.Ping(ctx).Err(); err != nil {
		return []Component{down(group, name, time.Since(start), err,
			"Redis does not answer: admins cannot sign in, and the shops serve without their cache, sessions and rate limits (shoppers' carts and sign-ins fail).")}
	}
	took := time.Since(start)
	c := Component{Group: group, Name: name, Status: StatusOK, Latency: took,
		Explanation: "Redis answers: sessions, caches and rate limits work."}
	info, err := m.o.Redis.Info(ctx, "server", "clients", "memory").Result()
	if err == nil {
		f := parseInfo(info)
		c.Summary = fmt.Sprintf("Redis %s, %s clients, %s used", f["redis_version"], f["connected_clients"], f["used_memory_human"])
		c.Details = append(c.Details, Detail{"Version", f["redis_version"]}, Detail{"Clients", f["connected_clients"]},
			Detail{"Memory used", f["used_memory_human"]})
		if mx := f["maxmemory_human"]; mx != "" && mx != "0B" {
			c.Details = append(c.Details, Detail{"Memory limit", mx + " (" + f["maxmemory_policy"] + ")"})
		}
		if up, err := strconv.Atoi(f["uptime_in_seconds"]); err == nil {
			c.Details = append(c.Details, Detail{"Up for", (time.Duration(up) * time.Second).String()})
		}
	} else {
		c.Summary = "answers PING; INFO failed: " + oneLine(err.Error())
	}
	if took > slowAfter {
		c.Status = StatusWarn
		c.Explanation = "Redis answers slowly: every page that uses sessions waits for it."
	}
	return []Component{c}
}

func parseInfo(s string) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(s, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok && !strings.HasPrefix(k, "#") {
			out[k] = v
		}
	}
	return out
}

// checkObjects lists the object store's buckets.
func (m *Monitor) checkObjects(ctx context.Context) []Component {
	const group = "Object store"
	if m.o.Objects == nil {
		return []Component{{Group: group, Name: "not configured", Status: StatusOff,
			Explanation: "Without an object store there are no vendor buckets, media or backups; set STOREFLEET_S3_ENDPOINT."}}
	}
	start := time.Now()
	buckets, err := m.o.Objects.ListBuckets(ctx, "")
	took := time.Since(start)
	name := m.o.Objects.Client().EndpointURL().Host
	if err != nil {
		return []Component{down(group, name, took, err,
			"MinIO does not answer: product images, uploads and backups fail until it is back.")}
	}
	c := Component{Group: group, Name: name, Status: StatusOK, Latency: took, Summary: fmt.Sprintf("lists its %d buckets", len(buckets)),
		Explanation: "MinIO answers: media, imports and backups work."}
	if took > slowAfter {
		c.Status = StatusWarn
		c.Explanation = "MinIO answers slowly: image pages and backups will be slow."
	}
	return []Component{c}
}

// checkMailer dials the SMTP server and says EHLO, without sending.
func (m *Monitor) checkMailer(ctx context.Context) []Component {
	const group = "Mailer"
	if m.o.SMTPURL == "" {
		return []Component{{Group: group, Name: "not configured", Status: StatusOff,
			Explanation: "No e-mail is sent (invitations, order e-mails, critical alerts); set STOREFLEET_SMTP_URL."}}
	}
	u, err := url.Parse(m.o.SMTPURL)
	if err != nil || u.Hostname() == "" {
		return []Component{down(group, "SMTP", 0, errors.New("STOREFLEET_SMTP_URL is not a valid smtp:// or smtps:// URL"), "Fix the setting and restart.")}
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"smtps": "465"}[u.Scheme]
		if port == "" {
			port = "587"
		}
	}
	addr := net.JoinHostPort(u.Hostname(), port)
	helo := u.Query().Get("helo")
	if helo == "" {
		helo = "storefleet-monitor"
	}
	start := time.Now()
	exts, err := smtpHello(ctx, addr, u.Hostname(), u.Scheme == "smtps", helo)
	took := time.Since(start)
	if err != nil {
		return []Component{down(group, addr, took, err,
			"The SMTP server does not answer: e-mails wait in the outbox and are retried with backoff until it is back.")}
	}
	c := Component{Group: group, Name: addr, Status: StatusOK, Latency: took, Summary: "answers EHLO",
		Explanation: "The SMTP server answers; e-mails can be handed over."}
	if len(exts) > 0 {
		c.Details = append(c.Details, Detail{"Offers", strings.Join(exts, ", ")})
	}
	if took > slowAfter {
		c.Status = StatusWarn
		c.Explanation = "The SMTP server answers slowly."
	}
	return []Component{c}
}

// smtpHello connects, reads the greeting, says EHLO and quits; it
// returns the extensions the server offers (among a known few).
func smtpHello(ctx context.Context, addr, host string, implicitTLS bool, helo string) ([]string, error) {
	d := net.Dialer{}
	var conn net.Conn
	var err error
	if implicitTLS {
		conn, err = (&tls.Dialer{NetDialer: &d, Config: &tls.Config{ServerName: host}}).DialContext(ctx, "tcp", addr)
	} else {
		conn, err = d.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", addr, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("greeting from %s: %w", addr, err)
	}
	defer c.Close()
	if err := c.Hello(helo); err != nil {
		return nil, fmt.Errorf("EHLO to %s: %w", addr, err)
	}
	var exts []string
	for _, e := range []string{"STARTTLS", "AUTH", "SIZE", "8BITMIME", "SMTPUTF8", "PIPELINING"} {
		if ok, param := c.Extension(e); ok {
			if param != "" && e == "AUTH" {
				e += " " + param
			}
			exts = append(exts, e)
		}
	}
	_ = c.Quit()
	return exts, nil
}

// checkJobs reads River's tables: queue depths, failing jobs and whether
// a control plane is running jobs at all.
func (m *Monitor) checkJobs(ctx context.Context) []Component {
	const group = "Job system"
	start := time.Now()
	st, err := metrics.ReadJobStats(ctx, m.o.Store.Pool())
	if err != nil {
		return []Component{down(group, "River", time.Since(start), err, "River's tables cannot be read: no background work runs.")}
	}
	var leader string
	var expires time.Time
	lerr := m.o.Store.Pool().QueryRow(ctx, `SELECT leader_id, expires_at FROM river_leader`).Scan(&leader, &expires)
	var failed24h int64
	ferr := m.o.Store.Pool().QueryRow(ctx, `SELECT count(*) FROM river_job WHERE state = 'discarded' AND finalized_at > now() - interval '24 hours'`).Scan(&failed24h)
	took := time.Since(start)
	if ferr != nil {
		return []Component{down(group, "River", took, ferr, "River's tables cannot be read: no background work runs.")}
	}
	c := Component{Group: group, Name: "River", Status: StatusOK, Latency: took}
	var waiting, running, erroring int64
	var oldest time.Duration
	for _, q := range st.Queues {
		n := st.Counts[q]
		waiting += n["available"]
		running += n["running"]
		erroring += st.Erroring[q]
		oldest = max(oldest, st.OldestAvailable[q])
		c.Details = append(c.Details, Detail{"Queue " + q, fmt.Sprintf("%d waiting, %d running, %d scheduled, %d to retry, %d failed",
			n["available"], n["running"], n["scheduled"], n["retryable"], n["discarded"])})
	}
	c.Summary = fmt.Sprintf("%d waiting, %d running, %d erroring, %d failed in 24 h", waiting, running, erroring, failed24h)
	switch {
	case errors.Is(lerr, pgx.ErrNoRows) || lerr == nil && expires.Before(time.Now()):
		c.Status = StatusWarn
		c.Details = append(c.Details, Detail{"Leader", "none"})
		c.Explanation = "No control plane is running jobs (none holds River's leadership): scheduled backups, reconcile and vendor work do not run. Start a control plane with jobs enabled."
	case lerr != nil:
		c.Status = StatusWarn
		c.Explanation = "River's leader could not be read: " + oneLine(lerr.Error())
	case oldest > 5*time.Minute:
		c.Status = StatusWarn
		c.Explanation = fmt.Sprintf("Jobs have waited up to %s for a worker: the workers are busy or stuck. See the Jobs page.", oldest.Round(time.Second))
	case failed24h > 0 || erroring > 0:
		c.Status = StatusWarn
		c.Explanation = "Some jobs failed or are being retried after errors: see the Jobs page for their errors, then retry or discard them."
	default:
		c.Explanation = "Jobs run: nothing waits long and nothing failed in the last day."
	}
	if lerr == nil {
		c.Details = append(c.Details, Detail{"Leader", leader})
	}
	return []Component{c}
}

// humanBytes is a size for people: "1.5 GB".
func humanBytes(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", float64(n)/float64(div), "kMGTPE"[exp])
}

// Pool is the control-plane pool (the metrics wiring reports it).
func (m *Monitor) Pool() *pgxpool.Pool { return m.o.Store.Pool() }
