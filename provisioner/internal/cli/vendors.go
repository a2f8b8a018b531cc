package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/storefleet/storefleet/internal/backup"
	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/provision"
)

func init() {
	register(&command{name: "create-vendor", args: "--slug S --name N --owner-email E",
		summary: "create a vendor: its database, role, bucket and host, through to active",
		setup: func(fs *flag.FlagSet, env *Env) func(context.Context) error {
			var req provision.CreateRequest
			fs.StringVar(&req.Slug, "slug", "", "the vendor's slug: 3-40 lower-case letters, digits, hyphens (required)")
			fs.StringVar(&req.Name, "name", "", "the shop's name (required)")
			fs.StringVar(&req.OwnerEmail, "owner-email", "", "the owner's e-mail address (required)")
			return func(ctx context.Context) error {
				if req.Slug == "" || req.Name == "" || req.OwnerEmail == "" {
					return usagef("--slug, --name and --owner-email are all required")
				}
				p, err := env.Platform(ctx)
				if err != nil {
					return err
				}
				start := time.Now()
				v, err := p.Prov.CreateVendor(ctx, env.Actor(), req)
				if err != nil {
					return err
				}
				env.Print(v, func(w io.Writer) {
					fmt.Fprintf(w, "created vendor %s in %s\n", v.Slug, time.Since(start).Round(time.Millisecond))
					printVendor(w, v, p.Cfg.TenantPublicURL)
				})
				return nil
			}
		}})

	register(&command{name: "list", args: "[--state S] [--all]",
		summary: "list vendors with their state, host and schema version",
		setup: func(fs *flag.FlagSet, env *Env) func(context.Context) error {
			state := fs.String("state", "", "only vendors in this state (requested, active, suspended, deleting, ...)")
			all := fs.Bool("all", false, "include deleted vendors")
			search := fs.String("search", "", "only vendors whose slug or name contains this")
			return func(ctx context.Context) error {
				p, err := env.Platform(ctx)
				if err != nil {
					return err
				}
				f := platform.VendorFilter{IncludeDeleted: *all, Search: *search}
				if *state != "" {
					f.States = []platform.State{platform.State(*state)}
				}
				vs, err := p.Store.ListVendors(ctx, f)
				if err != nil {
					return err
				}
				if vs == nil {
					vs = []*platform.Vendor{}
				}
				env.Print(vs, func(w io.Writer) {
					if len(vs) == 0 {
						fmt.Fprintln(w, "no vendors yet: create one with `provisioner create-vendor --slug S --name N --owner-email E`")
						return
					}
					fmt.Fprintln(w, "ID\tSLUG\tNAME\tSTATE\tHOST\tSCHEMA\tSERVER\tCREATED")
					for _, v := range vs {
						fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", v.ID, v.Slug, v.Name, v.State, v.Host,
							v.SchemaVersion, v.ServerName, v.CreatedAt.Format("2006-01-02 15:04"))
					}
				})
				return nil
			}
		}})

	register(&command{name: "show", args: "--slug S",
		summary: "show one vendor: state, last error, where its data lives, its history",
		setup: func(fs *flag.FlagSet, env *Env) func(context.Context) error {
			slug := fs.String("slug", "", "the vendor's slug (required)")
			return func(ctx context.Context) error {
				if *slug == "" {
					return usagef("--slug is required")
				}
				p, err := env.Platform(ctx)
				if err != nil {
					return err
				}
				v, err := p.Store.VendorBySlug(ctx, *slug)
				if err != nil {
					return err
				}
				evs, err := p.Store.VendorEvents(ctx, v.ID, 20)
				if err != nil {
					return err
				}
				env.Print(map[string]any{"vendor": v, "events": evs}, func(w io.Writer) {
					printVendor(w, v, p.Cfg.TenantPublicURL)
					fmt.Fprintln(w, "\nHISTORY")
					for _, e := range evs {
						line := e.Message
						if e.Error != "" {
							line = "FAILED: " + e.Error
						}
						fmt.Fprintf(w, "  %s\t%s\t%s\n", e.At.Format(time.RFC3339), e.State, line)
					}
				})
				return nil
			}
		}})

	register(&command{name: "invite-owner", args: "--slug S [--email E]",
		summary: "e-mail the shop's owner a fresh link to set their password (replaces an unused one)",
		setup: func(fs *flag.FlagSet, env *Env) func(context.Context) error {
			slug := fs.String("slug", "", "the vendor's slug (required)")
			email := fs.String("email", "", "send it to this address instead, which becomes the owner's")
			return func(ctx context.Context) error {
				if *slug == "" {
					return usagef("--slug is required")
				}
				p, err := env.Platform(ctx)
				if err != nil {
					return err
				}
				inv, err := p.Prov.InviteOwner(ctx, env.Actor(), *slug, *email)
				if err != nil && !errors.Is(err, provision.ErrMailNotConfigured) {
					return err
				}
				env.Print(inv, func(w io.Writer) {
					if inv.Sent {
						fmt.Fprintf(w, "invitation e-mailed to %s; the link works once and expires at %s\n", inv.Email, inv.Expires.Format(time.RFC3339))
						return
					}
					fmt.Fprintf(w, "e-mail is not configured (STOREFLEET_SMTP_URL), so nothing was sent.\n")
					fmt.Fprintf(w, "Give %s this link yourself; it works once and expires at %s:\n%s\n", inv.Email, inv.Expires.Format(time.RFC3339), inv.Link)
				})
				return nil
			}
		}})

	register(&command{name: "suspend", args: "--slug S [--reason R]",
		summary: "take an active vendor offline (its shop answers 503)",
		setup: func(fs *flag.FlagSet, env *Env) func(context.Context) error {
			slug := fs.String("slug", "", "the vendor's slug (required)")
			reason := fs.String("reason", "", "why, for the audit log and the console")
			return lifecycle(env, slug, func(ctx context.Context, p *provision.Provisioner) (*platform.Vendor, error) {
				return p.Suspend(ctx, env.Actor(), *slug, *reason)
			})
		}})

	register(&command{name: "resume", args: "--slug S",
		summary: "bring a suspended vendor back online",
		setup: func(fs *flag.FlagSet, env *Env) func(context.Context) error {
			slug := fs.String("slug", "", "the vendor's slug (required)")
			return lifecycle(env, slug, func(ctx context.Context, p *provision.Provisioner) (*platform.Vendor, error) {
				return p.Resume(ctx, env.Actor(), *slug)
			})
		}})

	register(&command{name: "delete-vendor", args: "--slug S [--now --confirm S] [--skip-final-backup --confirm S]",
		summary: "take a final backup, stop routing the vendor, and remove its data after the grace period",
		setup: func(fs *flag.FlagSet, env *Env) func(context.Context) error {
			slug := fs.String("slug", "", "the vendor's slug (required)")
			now := fs.Bool("now", false, "remove the database, role and bucket now, without a grace period")
			confirm := fs.String("confirm", "", "with --now or --skip-final-backup: the vendor's slug again, to confirm")
			skip := fs.Bool("skip-final-backup", false, "delete without taking a final backup first")
			return func(ctx context.Context) error {
				if *slug == "" {
					return usagef("--slug is required")
				}
				if *now && *confirm != *slug {
					return usagef("--now removes the data for good: add --confirm %s to go ahead", *slug)
				}
				if *skip && *confirm != *slug {
					return usagef("--skip-final-backup leaves no copy behind: add --confirm %s to go ahead", *slug)
				}
				p, err := env.Platform(ctx)
				if err != nil {
					return err
				}
				v, final, err := p.Backups.DeleteVendor(ctx, env.Actor(), *slug, backup.DeleteOptions{Now: *now, SkipFinalBackup: *skip})
				if err != nil {
					return err
				}
				env.Print(map[string]any{"vendor": v, "final_backup": final}, func(w io.Writer) {
					if final != nil {
						fmt.Fprintf(w, "final backup %d taken (%s/%s)\n", final.ID, final.Bucket, final.Prefix)
					}
					if v.State == platform.StateDeleted {
						fmt.Fprintf(w, "vendor %s deleted: database, role and bucket removed\n", v.Slug)
						return
					}
					fmt.Fprintf(w, "vendor %s is no longer routed; its data will be removed after %s by `provisioner reconcile`\n",
						v.Slug, v.DeleteAfter.Format(time.RFC3339))
				})
				return nil
			}
		}})
}

func lifecycle(env *Env, slug *string, do func(context.Context, *provision.Provisioner) (*platform.Vendor, error)) func(context.Context) error {
	return func(ctx context.Context) error {
		if *slug == "" {
			return usagef("--slug is required")
		}
		p, err := env.Platform(ctx)
		if err != nil {
			return err
		}
		v, err := do(ctx, p.Prov)
		if err != nil {
			return err
		}
		env.Print(v, func(w io.Writer) { fmt.Fprintf(w, "vendor %s is now %s\n", v.Slug, v.State.Label()) })
		return nil
	}
}

func printVendor(w io.Writer, v *platform.Vendor, publicURL string) {
	fmt.Fprintf(w, "slug\t%s\n", v.Slug)
	fmt.Fprintf(w, "name\t%s\n", v.Name)
	fmt.Fprintf(w, "owner\t%s\n", v.OwnerEmail)
	fmt.Fprintf(w, "state\t%s (since %s)\n", v.State.Label(), v.StateChangedAt.Format(time.RFC3339))
	if v.LastError != "" {
		fmt.Fprintf(w, "last error\t%s\n", v.LastError)
	}
	if v.SuspendReason != "" {
		fmt.Fprintf(w, "suspended because\t%s\n", v.SuspendReason)
	}
	if v.Host != "" {
		fmt.Fprintf(w, "storefront\t%s\n", PublicURL(publicURL, v.Host))
	}
	fmt.Fprintf(w, "database\t%s on %s (role %s)\n", v.DBName, v.ServerName, v.RoleName)
	fmt.Fprintf(w, "schema\tversion %d\n", v.SchemaVersion)
	fmt.Fprintf(w, "bucket\t%s\n", v.Bucket)
}
