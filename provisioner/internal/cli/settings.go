package cli

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/storefleet/storefleet/internal/platform"
)

func init() {
	register(&command{name: "settings", args: "[--set KEY=VALUE]",
		summary: "show the platform settings (backup schedules, retention, ...) or change one",
		setup: func(fs *flag.FlagSet, env *Env) func(context.Context) error {
			set := fs.String("set", "", "KEY=VALUE to change, validated (cron expressions with robfig/cron)")
			return func(ctx context.Context) error {
				p, err := env.Platform(ctx)
				if err != nil {
					return err
				}
				if *set != "" {
					key, value, ok := cutEq(*set)
					if !ok {
						return usagef("--set takes KEY=VALUE, e.g. --set backup.schedule='0 3 * * *'")
					}
					if err := p.Store.SetSetting(ctx, env.Actor(), key, value); err != nil {
						return usagef("%v", err)
					}
				}
				values, err := p.Store.SettingValues(ctx)
				if err != nil {
					return err
				}
				env.Print(values, func(w io.Writer) {
					fmt.Fprintln(w, "KEY\tVALUE\tDEFAULT\tMEANING")
					for _, def := range platform.Settings {
						fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", def.Key, values[def.Key], def.Default, def.Help)
					}
				})
				return nil
			}
		}})
}

func cutEq(s string) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == '=' {
			return s[:i], s[i+1:], i > 0
		}
	}
	return "", "", false
}
