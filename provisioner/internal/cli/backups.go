package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/storefleet/storefleet/internal/backup"
)

func init() {
	register(&command{name: "backup", args: "--vendor S | --all [--parallel N]",
		summary: "back up a vendor (or every vendor): its database, its files and a manifest, into the backups bucket",
		setup: func(fs *flag.FlagSet, env *Env) func(context.Context) error {
			slug := fs.String("vendor", "", "the vendor's slug")
			all := fs.Bool("all", false, "back up every active and suspended vendor")
			parallel := fs.Int("parallel", 2, "with --all: vendors backed up at once")
			return func(ctx context.Context) error {
				if (*slug == "") == !*all {
					return usagef("give either --vendor S or --all")
				}
				p, err := env.Platform(ctx)
				if err != nil {
					return err
				}
				if *all {
					start := time.Now()
					res, err := p.Backups.BackupAll(ctx, env.Actor(), "manual", *parallel)
					failed := 0
					for _, r := range res {
						if r.Error != "" {
							failed++
						}
					}
					env.Print(res, func(w io.Writer) {
						fmt.Fprintln(w, "VENDOR\tBACKUP\tTIME\tERROR")
						for _, r := range res {
							fmt.Fprintf(w, "%s\t%d\t%s\t%s\n", r.Vendor, r.BackupID, r.Duration.Round(time.Millisecond), r.Error)
						}
						fmt.Fprintf(w, "%d vendors backed up, %d failed, in %s\n", len(res)-failed, failed, time.Since(start).Round(time.Millisecond))
					})
					if err != nil {
						return err
					}
					if failed > 0 {
						return fmt.Errorf("%d backups failed (listed above; each raised an alert)", failed)
					}
					return nil
				}
				b, err := p.Backups.Run(ctx, env.Actor(), *slug, "manual")
				if err != nil {
					return err
				}
				env.Print(b, func(w io.Writer) { printBackup(w, b) })
				return nil
			}
		}})

	register(&command{name: "backups", args: "--vendor S",
		summary: "list a vendor's backups with their verification state",
		setup: func(fs *flag.FlagSet, env *Env) func(context.Context) error {
			slug := fs.String("vendor", "", "the vendor's slug (required)")
			return func(ctx context.Context) error {
				if *slug == "" {
					return usagef("--vendor is required")
				}
				p, err := env.Platform(ctx)
				if err != nil {
					return err
				}
				v, err := p.Store.VendorBySlug(ctx, *slug)
				if err != nil {
					return err
				}
				list, err := p.Backups.List(ctx, v.ID, 100)
				if err != nil {
					return err
				}
				if list == nil {
					list = []backup.Backup{}
				}
				env.Print(list, func(w io.Writer) {
					if len(list) == 0 {
						fmt.Fprintf(w, "no backups of %s yet: `provisioner backup --vendor %s` makes one\n", *slug, *slug)
						return
					}
					fmt.Fprintln(w, "ID\tKIND\tSTATE\tSTARTED\tSIZE\tFILES\tSCHEMA\tVERIFIED\tERROR")
					for _, b := range list {
						size, files, schema := "-", "-", "-"
						if b.DumpSize != nil {
							size = humanBytes(*b.DumpSize)
						}
						if b.ObjectsCount != nil {
							files = fmt.Sprint(*b.ObjectsCount)
						}
						if b.SchemaVersion != nil {
							schema = fmt.Sprint(*b.SchemaVersion)
						}
						errText := b.Error
						if b.VerifyError != "" {
							errText = "verify: " + b.VerifyError
						}
						fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", b.ID, b.Kind, b.State, b.StartedAt.Format("2006-01-02 15:04"),
							size, files, schema, b.VerifyState, errText)
					}
				})
				return nil
			}
		}})

	register(&command{name: "restore", args: "--vendor S [--backup ID] [--as NEW_SLUG]",
		summary: "restore a backup into a new database, check it, then switch the vendor to it (the old one is kept)",
		setup: func(fs *flag.FlagSet, env *Env) func(context.Context) error {
			slug := fs.String("vendor", "", "the vendor whose backup to restore (required)")
			id := fs.Int64("backup", 0, "the backup to restore (default: the newest completed one)")
			as := fs.String("as", "", "restore into a new, separate vendor with this slug instead of replacing the live one")
			return func(ctx context.Context) error {
				if *slug == "" {
					return usagef("--vendor is required")
				}
				p, err := env.Platform(ctx)
				if err != nil {
					return err
				}
				res, err := p.Backups.Restore(ctx, env.Actor(), *slug, backup.RestoreOptions{BackupID: *id, As: *as})
				if err != nil {
					return err
				}
				env.Print(res, func(w io.Writer) {
					fmt.Fprintf(w, "restored backup %d of %s into %s in %s (%d rows checked)\n", res.BackupID, *slug, res.Database,
						res.Duration.Round(time.Millisecond), res.RowsChecked)
					if res.Vendor != *slug {
						fmt.Fprintf(w, "as the new vendor %s\n", res.Vendor)
					}
					if res.DropAfter != nil && res.Replaced != "" {
						fmt.Fprintf(w, "the replaced database %s is kept until %s\n", res.Replaced, res.DropAfter.Format(time.RFC3339))
					}
				})
				return nil
			}
		}})

	register(&command{name: "verify", args: "--vendor S [--backup ID] | --random N",
		summary: "restore a backup into a scratch database and check it against its manifest",
		setup: func(fs *flag.FlagSet, env *Env) func(context.Context) error {
			slug := fs.String("vendor", "", "verify this vendor's backup")
			id := fs.Int64("backup", 0, "with --vendor: this backup (default: the newest)")
			random := fs.Int("random", 0, "verify the newest backup of N vendors picked at random")
			return func(ctx context.Context) error {
				if (*slug == "") == (*random == 0) {
					return usagef("give either --vendor S or --random N")
				}
				p, err := env.Platform(ctx)
				if err != nil {
					return err
				}
				var results []*backup.VerifyResult
				if *random > 0 {
					results, err = p.Backups.VerifyRandom(ctx, env.Actor(), *random)
				} else {
					bid := *id
					if bid == 0 {
						v, verr := p.Store.VendorBySlug(ctx, *slug)
						if verr != nil {
							return verr
						}
						b, lerr := p.Backups.Latest(ctx, v.ID)
						if lerr != nil {
							return lerr
						}
						bid = b.ID
					}
					var r *backup.VerifyResult
					r, err = p.Backups.Verify(ctx, env.Actor(), bid)
					if r != nil {
						results = append(results, r)
					}
				}
				if err != nil {
					return err
				}
				bad := 0
				env.Print(results, func(w io.Writer) {
					for _, r := range results {
						state := "ok"
						if !r.OK {
							state = "FAILED: " + r.Error
							bad++
						}
						fmt.Fprintf(w, "backup %d of %s\t%s\t%d rows\t%s\n", r.BackupID, r.Vendor, state, r.Rows, r.Duration.Round(time.Millisecond))
					}
				})
				for _, r := range results {
					if !r.OK {
						return errors.New("verification failed (see above; an alert was raised)")
					}
				}
				return nil
			}
		}})

	register(&command{name: "move", args: "--vendor S --to SERVER",
		summary: "copy a vendor to another database server (read-only meanwhile), check it, switch to it",
		setup: func(fs *flag.FlagSet, env *Env) func(context.Context) error {
			slug := fs.String("vendor", "", "the vendor to move (required)")
			to := fs.String("to", "", "the name of the destination server (required; see `provisioner servers list`)")
			return func(ctx context.Context) error {
				if *slug == "" || *to == "" {
					return usagef("--vendor and --to are required")
				}
				p, err := env.Platform(ctx)
				if err != nil {
					return err
				}
				res, err := p.Backups.Move(ctx, env.Actor(), *slug, *to)
				if err != nil {
					return err
				}
				env.Print(res, func(w io.Writer) {
					fmt.Fprintf(w, "moved %s from %s to %s (%s, %d rows checked)\n", res.Vendor, res.From, res.To, res.Database, res.Rows)
					fmt.Fprintf(w, "writes were refused for %s\n", res.WritesRefused.Round(time.Millisecond))
					fmt.Fprintf(w, "the old copy %s takes no connections and is dropped after %s\n", res.Replaced, res.DropAfter.Format(time.RFC3339))
				})
				return nil
			}
		}})

}

func printBackup(w io.Writer, b *backup.Backup) {
	fmt.Fprintf(w, "backup\t%d of %s (%s)\n", b.ID, b.Slug, b.State)
	if b.DumpSize != nil {
		fmt.Fprintf(w, "database dump\t%s, sha256 %s\n", humanBytes(*b.DumpSize), *b.DumpSHA256)
	}
	if b.ObjectsCount != nil {
		fmt.Fprintf(w, "files\t%d (%s)\n", *b.ObjectsCount, humanBytes(*b.ObjectsSize))
	}
	if b.SchemaVersion != nil {
		fmt.Fprintf(w, "schema\tversion %d\n", *b.SchemaVersion)
	}
	var rows []string
	for t, n := range b.RowCounts {
		rows = append(rows, fmt.Sprintf("%s %d", t, n))
	}
	fmt.Fprintf(w, "rows\t%s\n", strings.Join(rows, ", "))
	fmt.Fprintf(w, "stored at\t%s/%s\n", b.Bucket, b.Prefix)
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
