package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/storefleet/storefleet/internal/auth"
	"github.com/storefleet/storefleet/internal/jobs"
	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/provision"
	"github.com/storefleet/storefleet/internal/wiring"
)

// PublicURL is a vendor's storefront address from the tenant app's public
// URL pattern.
func PublicURL(pattern, host string) string { return strings.ReplaceAll(pattern, "{host}", host) }

func init() {
	register(&command{name: "init", args: "[--server-url URL] [--server-name N]",
		summary: "migrate the control plane, record the first database server, set up the router role and templates",
		setup: func(fs *flag.FlagSet, env *Env) func(context.Context) error {
			serverURL := fs.String("server-url", "", "admin URL (CREATEDB, CREATEROLE) of the first database server (default $STOREFLEET_DB_SERVER_URL)")
			serverName := fs.String("server-name", "primary", "name of that server")
			return func(ctx context.Context) error {
				ver, p, err := migrateControlPlane(ctx, env)
				if err != nil {
					return err
				}
				if *serverURL == "" {
					*serverURL = os.Getenv("STOREFLEET_DB_SERVER_URL")
				}
				res, err := p.Prov.Init(ctx, env.Actor(), provision.InitOptions{
					ServerName: *serverName, ServerURL: *serverURL, RouterURL: p.Cfg.RouterURL, Logger: env.Logger})
				if err != nil {
					return err
				}
				env.Print(map[string]any{"controlplane_version": ver, "servers": res.Servers}, func(w io.Writer) {
					fmt.Fprintf(w, "control plane\tat version %d\n", ver)
					for _, s := range res.Servers {
						fmt.Fprintf(w, "server %s\ttemplate at version %d\n", s.Server, s.TemplateVersion)
					}
				})
				return nil
			}
		}})

	register(&command{name: "migrate-controlplane", args: "",
		summary: "bring the control-plane database to the newest migration",
		setup: func(fs *flag.FlagSet, env *Env) func(context.Context) error {
			return func(ctx context.Context) error {
				ver, _, err := migrateControlPlane(ctx, env)
				if err != nil {
					return err
				}
				env.Print(map[string]any{"version": ver}, func(w io.Writer) { fmt.Fprintf(w, "control plane at version %d\n", ver) })
				return nil
			}
		}})

	register(&command{name: "reconcile", args: "[--dry-run]",
		summary: "finish vendors stuck mid-lifecycle, remove expired deletions and orphaned databases, roles, buckets",
		setup: func(fs *flag.FlagSet, env *Env) func(context.Context) error {
			dry := fs.Bool("dry-run", false, "only report what would be done")
			return func(ctx context.Context) error {
				p, err := env.Platform(ctx)
				if err != nil {
					return err
				}
				rep, err := p.Prov.Reconcile(ctx, *dry)
				if err != nil {
					return err
				}
				env.Print(rep, func(w io.Writer) {
					verb := "fixed"
					if *dry {
						verb = "would fix"
					}
					if rep.Clean() {
						fmt.Fprintln(w, "nothing to do: every vendor is settled and nothing is orphaned")
						return
					}
					list := func(what string, xs []string) {
						if len(xs) > 0 {
							fmt.Fprintf(w, "%s %s\t%s\n", verb, what, strings.Join(xs, ", "))
						}
					}
					list("unfinished vendors", rep.Unfinished)
					list("expired deletions", rep.Purged)
					list("orphan databases", rep.OrphanDatabases)
					list("orphan roles", rep.OrphanRoles)
					list("orphan buckets", rep.OrphanBuckets)
					list("replaced or abandoned database copies", rep.DroppedCopies)
					list("read-only mode left by a move that died", rep.ReadOnlyLifted)
					for _, e := range rep.Errors {
						fmt.Fprintf(w, "error\t%s\n", e)
					}
				})
				if len(rep.Errors) > 0 {
					return fmt.Errorf("%d problems could not be fixed (listed above)", len(rep.Errors))
				}
				return nil
			}
		}})

	register(&command{name: "create-admin", args: "--email E --password-stdin | --password P",
		summary: "create a platform admin, or reset an existing admin's password",
		setup: func(fs *flag.FlagSet, env *Env) func(context.Context) error {
			email := fs.String("email", "", "the admin's e-mail (required)")
			name := fs.String("name", "", "the admin's name")
			password := fs.String("password", "", "the password (prefer --password-stdin: arguments show in ps)")
			stdin := fs.Bool("password-stdin", false, "read the password from standard input")
			return func(ctx context.Context) error {
				if *email == "" {
					return usagef("--email is required")
				}
				if *stdin {
					b, err := io.ReadAll(io.LimitReader(stdinReader, 1024))
					if err != nil {
						return err
					}
					*password = strings.TrimRight(string(b), "\r\n")
				}
				if *password == "" {
					return usagef("give the password with --password-stdin or --password")
				}
				hash, err := auth.Hash(*password)
				if err != nil {
					return usagef("%v", err)
				}
				p, err := env.Platform(ctx)
				if err != nil {
					return err
				}
				a, err := p.Store.UpsertAdmin(ctx, *email, *name, hash)
				if err != nil {
					return err
				}
				if err := p.Store.Transact(ctx, func(tx pgx.Tx) error {
					return platform.Audit(ctx, tx, env.Actor(), platform.AuditEntry{Action: "admin.upsert", TargetType: "admin",
						TargetID: fmt.Sprint(a.ID), After: map[string]any{"email": a.Email}})
				}); err != nil {
					return err
				}
				env.Print(a, func(w io.Writer) { fmt.Fprintf(w, "admin %s can now log in to the console\n", a.Email) })
				return nil
			}
		}})
}

// stdinReader is where --password-stdin reads from.
var stdinReader io.Reader = os.Stdin

// migrateControlPlane brings the control-plane database (and the job
// system's tables in it) to the newest version, then connects.
func migrateControlPlane(ctx context.Context, env *Env) (int64, *wiring.Platform, error) {
	cfg, err := env.Config()
	if err != nil {
		return 0, nil, err
	}
	if err := cfg.Require("STOREFLEET_CONTROLPLANE_DATABASE_URL"); err != nil {
		return 0, nil, err
	}
	ver, err := provision.MigrateControlPlane(ctx, cfg.ControlPlaneURL, env.Logger)
	if err != nil {
		return 0, nil, err
	}
	p, err := env.Platform(ctx)
	if err != nil {
		return 0, nil, err
	}
	if err := jobs.Migrate(ctx, p.Store.Pool()); err != nil {
		return 0, nil, err
	}
	return ver, p, nil
}
