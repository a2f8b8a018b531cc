package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/storefleet/storefleet/internal/migrate"
	"github.com/storefleet/storefleet/internal/rollout"
)

// errSomeFailed makes the exit status non-zero after a summary was printed.
var errSomeFailed = errors.New("some vendors were not migrated (listed above)")

func init() {
	register(&command{name: "migrate-all", args: "[--parallel N] [--canary N | --canary-vendors a,b] [--to V] [--resume] [--dry-run] [--fail-fast]",
		summary: "migrate the templates, then canary vendors, then every vendor, recording each result",
		setup: func(fs *flag.FlagSet, env *Env) func(context.Context) error {
			var o rollout.Options
			fs.IntVar(&o.Parallel, "parallel", 4, "vendors migrated at once after the canaries")
			fs.IntVar(&o.Canary, "canary", 0, "migrate this many vendors first, one by one; stop if one fails")
			canaries := fs.String("canary-vendors", "", "comma-separated slugs to migrate first (instead of --canary N)")
			fs.Int64Var(&o.Target, "to", 0, "stop at this version (default: the newest)")
			fs.BoolVar(&o.Resume, "resume", false, "take up the failed and unfinished vendors of the last run")
			fs.BoolVar(&o.DryRun, "dry-run", false, "print each vendor's pending migrations and change nothing")
			fs.BoolVar(&o.FailFast, "fail-fast", false, "stop at the first vendor that fails")
			fs.BoolVar(&o.Verify, "verify", false, "read every vendor database's version instead of trusting the control plane's record")
			fs.BoolVar(&o.Wait, "wait", false, "wait for a running migrate-all to end instead of refusing")
			return func(ctx context.Context) error {
				if *canaries != "" {
					o.CanarySlugs = strings.Split(*canaries, ",")
				}
				if o.Parallel < 1 || o.Parallel > 64 {
					return usagef("--parallel must be between 1 and 64")
				}
				p, err := env.Platform(ctx)
				if err != nil {
					return err
				}
				r := &rollout.Runner{Store: p.Store, Prov: p.Prov, Logger: env.Logger}
				bar := newProgress(env)
				o.Progress = bar.event
				sum, err := r.Run(ctx, env.Actor(), o)
				bar.finish()
				var busy *rollout.ErrBusy
				if errors.As(err, &busy) {
					return fmt.Errorf("%w; wait for it to end (or pass --wait)", err)
				}
				if err != nil {
					return err
				}
				printSummary(env, sum, o.DryRun)
				if sum.Failed > 0 || sum.Pending > 0 {
					return errSomeFailed
				}
				return nil
			}
		}})

	register(&command{name: "migrate", args: "--vendor S [--to V]",
		summary: "migrate one vendor's database (up to the newest version, or --to V)",
		setup: func(fs *flag.FlagSet, env *Env) func(context.Context) error {
			slug := fs.String("vendor", "", "the vendor's slug (required)")
			to := fs.Int64("to", 0, "target version (default: the newest)")
			return migrateOne(env, slug, to, false)
		}})

	register(&command{name: "rollback", args: "--vendor S --to V",
		summary: "roll one vendor's database back to version V",
		setup: func(fs *flag.FlagSet, env *Env) func(context.Context) error {
			slug := fs.String("vendor", "", "the vendor's slug (required)")
			to := fs.Int64("to", -1, "version to roll back to (required; 0 empties the schema)")
			return migrateOne(env, slug, to, true)
		}})

	register(&command{name: "status", args: "",
		summary: "how many vendors are at each schema version; exit 0 only if all are at the newest",
		setup: func(fs *flag.FlagSet, env *Env) func(context.Context) error {
			return func(ctx context.Context) error {
				p, err := env.Platform(ctx)
				if err != nil {
					return err
				}
				st, err := rollout.ReadStatus(ctx, p.Store, migrate.Tenant)
				if err != nil {
					return err
				}
				env.Print(st, func(w io.Writer) {
					fmt.Fprintf(w, "newest tenant version\t%d\n", st.Head)
					fmt.Fprintln(w, "VERSION\tVENDORS")
					for _, c := range st.Versions {
						note := ""
						switch {
						case !c.Known:
							note = "  (unknown to this binary: newer than it?)"
						case c.Version < st.Head:
							note = "  (behind)"
						}
						fmt.Fprintf(w, "%d\t%d%s\n", c.Version, c.Vendors, note)
					}
					for _, f := range st.Failed {
						fmt.Fprintf(w, "failed\t%s: %s\n", f.Vendor, f.Error)
					}
					for _, t := range st.Templates {
						fmt.Fprintf(w, "template on %s\tversion %d\n", t.Server, t.Version)
					}
					if st.LastRun != nil {
						fmt.Fprintf(w, "last run\t#%d %s, started %s by %s\n", st.LastRun.ID, st.LastRun.State, st.LastRun.StartedAt.Format(time.RFC3339), st.LastRun.Actor)
					}
				})
				if !st.AllAtHead() {
					return fmt.Errorf("%d vendors are not at version %d: run `provisioner migrate-all`", st.Behind, st.Head)
				}
				return nil
			}
		}})
}

func migrateOne(env *Env, slug *string, to *int64, down bool) func(context.Context) error {
	return func(ctx context.Context) error {
		if *slug == "" {
			return usagef("--vendor is required")
		}
		if down && *to < 0 {
			return usagef("--to is required: the version to roll back to")
		}
		target := *to
		if target <= 0 && !down {
			target = migrate.Tenant.Head()
		}
		if !migrate.Tenant.Known(target) {
			return usagef("version %d is not a tenant migration (newest is %d)", target, migrate.Tenant.Head())
		}
		p, err := env.Platform(ctx)
		if err != nil {
			return err
		}
		v, err := p.Store.VendorBySlug(ctx, *slug)
		if err != nil {
			return err
		}
		r := &rollout.Runner{Store: p.Store, Prov: p.Prov, Logger: env.Logger}
		res, err := r.One(ctx, env.Actor(), v, target, down)
		if err != nil {
			return err
		}
		env.Print(res, func(w io.Writer) {
			fmt.Fprintf(w, "vendor %s: version %d → %d in %s\n", v.Slug, res.VersionBefore, res.VersionAfter, res.Duration.Round(time.Millisecond))
		})
		return nil
	}
}

// progress shows a bar on a terminal, JSON lines with --json, and
// nothing otherwise.
type progress struct {
	env *Env
	bar *progressbar.ProgressBar
}

func newProgress(env *Env) *progress {
	return &progress{env: env}
}

func (p *progress) event(e rollout.Event) {
	if p.env.JSON {
		b, _ := json.Marshal(e)
		fmt.Fprintln(p.env.Out, string(b))
		return
	}
	f, ok := p.env.Err.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		if e.Status == "failed" {
			fmt.Fprintf(p.env.Err, "failed: %s%s: %s\n", e.Vendor, e.Server, e.Error)
		}
		return
	}
	switch e.Kind {
	case "plan":
		p.bar = progressbar.NewOptions(e.Total, progressbar.OptionSetWriter(f), progressbar.OptionSetDescription("migrating"),
			progressbar.OptionShowCount(), progressbar.OptionSetPredictTime(true), progressbar.OptionClearOnFinish())
	case "vendor":
		if p.bar != nil {
			_ = p.bar.Add(1)
		}
	}
	if e.Status == "failed" && p.bar != nil {
		_ = p.bar.Clear()
		fmt.Fprintf(f, "failed: %s%s: %s\n", e.Vendor, e.Server, e.Error)
	}
}

func (p *progress) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}

func printSummary(env *Env, sum *rollout.Summary, dry bool) {
	if env.JSON {
		b, _ := json.Marshal(map[string]any{"kind": "summary", "summary": sum})
		fmt.Fprintln(env.Out, string(b))
		return
	}
	env.Print(nil, func(w io.Writer) {
		if dry {
			fmt.Fprintf(w, "dry run: %d vendors to migrate to version %d, %d already there\n", len(sum.Plan), sum.Target, sum.Skipped)
			for _, pc := range sum.Plan {
				fmt.Fprintf(w, "  %s\t%d → %d\tpending %v\n", pc.Vendor, pc.From, pc.To, pc.Pending)
			}
			return
		}
		fmt.Fprintf(w, "run %d to version %d: %d migrated, %d skipped, %d failed, %d not attempted, in %s\n",
			sum.RunID, sum.Target, sum.Migrated, sum.Skipped, sum.Failed, sum.Pending, sum.Duration.Round(time.Millisecond))
		if sum.Canary != "" {
			fmt.Fprintf(w, "stopped: %s\n", sum.Canary)
		}
		for _, f := range sum.Failures {
			fmt.Fprintf(w, "  failed\t%s\t%s\n", f.Vendor, f.Error)
		}
		if sum.Failed > 0 || sum.Pending > 0 {
			fmt.Fprintln(w, "fix the causes, then run `provisioner migrate-all --resume`")
		}
	})
}
