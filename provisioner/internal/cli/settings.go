package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/storefleet/storefleet/internal/platform"
)

func init() {
	register(&command{name: "settings", args: "[--set KEY=VALUE | --set-secret KEY | --clear KEY]",
		summary: "show the platform settings (backup schedules, retention, ...) or change one",
		setup: func(fs *flag.FlagSet, env *Env) func(context.Context) error {
			set := fs.String("set", "", "KEY=VALUE to change, validated (numbers in range, yes/no, durations like 15m, cron expressions with robfig/cron)")
			setSecret := fs.String("set-secret", "", "KEY of a secret setting to set from standard input (one line), sealed with the master key; never printed")
			clear := fs.String("clear", "", "KEY to put back to its default (a secret is removed)")
			return func(ctx context.Context) error {
				n := 0
				for _, s := range []string{*set, *setSecret, *clear} {
					if s != "" {
						n++
					}
				}
				if n > 1 {
					return usagef("give one of --set, --set-secret and --clear at a time")
				}
				p, err := env.Platform(ctx)
				if err != nil {
					return err
				}
				switch {
				case *set != "":
					key, value, ok := cutEq(*set)
					if !ok {
						return usagef("--set takes KEY=VALUE, e.g. --set backup.schedule='0 3 * * *'")
					}
					if def, err := p.Store.SettingDef(key); err == nil && def.Secret() {
						return usagef("%s is a secret: give it on standard input with --set-secret %s, so it stays out of shell history", key, key)
					}
					if err := p.Store.SaveSetting(ctx, p.Box, env.Actor(), key, value); err != nil {
						return usagef("%v", err)
					}
				case *setSecret != "":
					def, err := p.Store.SettingDef(*setSecret)
					if err != nil {
						return usagef("%v", err)
					}
					if !def.Secret() {
						return usagef("%s is not a secret: use --set %s=VALUE", def.Key, def.Key)
					}
					b, err := io.ReadAll(io.LimitReader(stdinReader, 64<<10))
					if err != nil {
						return err
					}
					if err := p.Store.SaveSetting(ctx, p.Box, env.Actor(), def.Key, strings.TrimRight(string(b), "\r\n")); err != nil {
						return usagef("%v", err)
					}
				case *clear != "":
					if err := p.Store.ClearSetting(ctx, env.Actor(), *clear); err != nil {
						return usagef("%v", err)
					}
				}
				states, err := p.Store.SettingStates(ctx)
				if err != nil {
					return err
				}
				// JSON: key → value, as before; a secret shows only "set" or "not set".
				values := map[string]string{}
				for _, st := range states {
					values[st.Key] = st.Value
					if st.Secret() {
						values[st.Key] = map[bool]string{true: "set", false: "not set"}[st.Stored]
					}
				}
				env.Print(values, func(w io.Writer) {
					fmt.Fprintln(w, "KEY\tKIND\tVALUE\tDEFAULT\tMEANING")
					for _, st := range states {
						fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", st.Key, st.Kind, shownValue(st), st.Default, st.Help)
					}
				})
				return nil
			}
		}})
}

// shownValue is a setting's value as the CLI prints it: never a secret's.
func shownValue(st platform.SettingState) string {
	switch {
	case !st.Secret():
		return st.Value
	case st.Stored && st.UpdatedAt != nil:
		return fmt.Sprintf("set (%s by %s)", st.UpdatedAt.UTC().Format("2006-01-02 15:04 UTC"), st.UpdatedBy)
	case st.Stored:
		return "set"
	}
	return "not set"
}

func cutEq(s string) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == '=' {
			return s[:i], s[i+1:], i > 0
		}
	}
	return "", "", false
}
