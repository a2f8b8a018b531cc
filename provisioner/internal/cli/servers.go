package cli

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/jackc/pgx/v5"

	"github.com/storefleet/storefleet/internal/migrate"
	"github.com/storefleet/storefleet/internal/platform"
)

func init() {
	register(&command{name: "servers add", args: "--name N --url URL",
		summary: "record a database server (its template is created and migrated); new vendors go to the least loaded",
		setup: func(fs *flag.FlagSet, env *Env) func(context.Context) error {
			name := fs.String("name", "", "a short name for the server (required)")
			url := fs.String("url", "", "admin URL of a role with CREATEDB and CREATEROLE on it (required)")
			return func(ctx context.Context) error {
				if *name == "" || *url == "" {
					return usagef("--name and --url are required")
				}
				p, err := env.Platform(ctx)
				if err != nil {
					return err
				}
				srv, err := p.Prov.AddServer(ctx, env.Actor(), *name, *url)
				if err != nil {
					return err
				}
				if err := p.Prov.PrepareTemplate(ctx, srv.ID); err != nil {
					return err
				}
				_, ver, err := p.Prov.MigrateTemplate(ctx, srv.ID, migrate.Tenant, migrate.Tenant.Head(), env.Logger)
				if err != nil {
					return err
				}
				if err := auditServer(ctx, env, p.Store, "server.add", srv, map[string]any{"host": srv.Host, "port": srv.Port}); err != nil {
					return err
				}
				env.Print(srv, func(w io.Writer) {
					fmt.Fprintf(w, "server %s (%s:%d) is ready; its template is at version %d\n", srv.Name, srv.Host, srv.Port, ver)
				})
				return nil
			}
		}})

	register(&command{name: "servers list", args: "",
		summary: "list the database servers with their state and number of vendor databases",
		setup: func(fs *flag.FlagSet, env *Env) func(context.Context) error {
			return func(ctx context.Context) error {
				p, err := env.Platform(ctx)
				if err != nil {
					return err
				}
				list, err := p.Store.Servers(ctx)
				if err != nil {
					return err
				}
				env.Print(list, func(w io.Writer) {
					fmt.Fprintln(w, "NAME\tADDRESS\tSTATE\tDATABASES")
					for _, s := range list {
						fmt.Fprintf(w, "%s\t%s:%d\t%s\t%d\n", s.Name, s.Host, s.Port, s.State, s.Vendors)
					}
				})
				return nil
			}
		}})

	for _, c := range []struct{ name, state, summary string }{
		{"servers drain", "draining", "stop placing new vendors on a server (move its vendors off with `provisioner move`)"},
		{"servers activate", "active", "let new vendors be placed on a server again"},
	} {
		register(&command{name: c.name, args: "--name N", summary: c.summary,
			setup: func(fs *flag.FlagSet, env *Env) func(context.Context) error {
				name := fs.String("name", "", "the server's name (required)")
				return func(ctx context.Context) error {
					if *name == "" {
						return usagef("--name is required")
					}
					p, err := env.Platform(ctx)
					if err != nil {
						return err
					}
					srv, err := p.Store.SetServerState(ctx, *name, c.state)
					if err != nil {
						return err
					}
					if err := auditServer(ctx, env, p.Store, "server."+c.state, srv, map[string]any{"state": c.state}); err != nil {
						return err
					}
					env.Print(srv, func(w io.Writer) {
						fmt.Fprintf(w, "server %s is %s; it holds %d vendor databases\n", srv.Name, srv.State, srv.Vendors)
					})
					return nil
				}
			}})
	}
}

func auditServer(ctx context.Context, env *Env, store *platform.Store, action string, srv *platform.Server, after map[string]any) error {
	return store.Transact(ctx, func(tx pgx.Tx) error {
		return platform.Audit(ctx, tx, env.Actor(), platform.AuditEntry{Action: action, TargetType: "db_server",
			TargetID: srv.Name, After: after})
	})
}
