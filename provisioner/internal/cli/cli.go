// Package cli implements the provisioner's commands. Each command has its
// own flags and --help, prints tables for people or JSON with --json, exits
// 0 only on success, and ends a failure with one line saying how to fix it.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/user"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/storefleet/storefleet/internal/backup"
	"github.com/storefleet/storefleet/internal/config"
	"github.com/storefleet/storefleet/internal/logging"
	"github.com/storefleet/storefleet/internal/platform"
	"github.com/storefleet/storefleet/internal/provision"
	"github.com/storefleet/storefleet/internal/staff"
	"github.com/storefleet/storefleet/internal/wiring"
)

// Exit codes.
const (
	ExitOK      = 0
	ExitFailure = 1 // the command ran and failed
	ExitUsage   = 2 // the command line was wrong
)

// command is one subcommand.
type command struct {
	name    string
	args    string // argument synopsis for help
	summary string
	// flags declares the command's flags on fs and returns the function
	// that runs it.
	setup func(fs *flag.FlagSet, env *Env) func(ctx context.Context) error
}

var commands []*command

func register(c *command) { commands = append(commands, c) }

// Env is what a running command has.
type Env struct {
	Out, Err io.Writer
	JSON     bool
	Logger   *slog.Logger
	cfg      *config.Config
	platform *wiring.Platform
}

// Platform connects to the control plane on first use.
func (e *Env) Platform(ctx context.Context) (*wiring.Platform, error) {
	if e.platform != nil {
		return e.platform, nil
	}
	if e.cfg == nil {
		cfg, err := config.Load()
		if err != nil {
			return nil, err
		}
		e.cfg = cfg
	}
	p, err := wiring.Open(ctx, e.cfg, e.Logger, wiring.Options{CrashAfter: os.Getenv("STOREFLEET_FAULT_CRASH_AFTER")})
	if err != nil {
		return nil, err
	}
	e.platform = p
	return p, nil
}

// Config returns the loaded configuration.
func (e *Env) Config() (*config.Config, error) {
	if e.cfg == nil {
		cfg, err := config.Load()
		if err != nil {
			return nil, err
		}
		e.cfg = cfg
	}
	return e.cfg, nil
}

// Actor is the CLI's identity in the audit log.
func (e *Env) Actor() platform.Actor {
	name := os.Getenv("USER")
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	return platform.Actor{Kind: "cli", Name: name}
}

// Print writes v as JSON with --json, or calls human otherwise.
func (e *Env) Print(v any, human func(w io.Writer)) {
	if e.JSON {
		enc := json.NewEncoder(e.Out)
		enc.SetIndent("", "  ")
		_ = enc.Encode(v)
		return
	}
	tw := tabwriter.NewWriter(e.Out, 0, 4, 2, ' ', 0)
	human(tw)
	_ = tw.Flush()
}

// usageError is a command-line mistake.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// Run runs the provisioner with args and returns the exit code.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	sort.Slice(commands, func(i, j int) bool { return commands[i].name < commands[j].name })
	top := flag.NewFlagSet("provisioner", flag.ContinueOnError)
	top.SetOutput(stderr)
	top.Usage = func() {}
	if err := top.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			topUsage(stdout)
			return ExitOK
		}
		fmt.Fprintln(stderr, "fix: run `provisioner --help` to see the commands")
		return ExitUsage
	}
	if top.NArg() == 0 {
		topUsage(stderr)
		return ExitUsage
	}
	name := top.Arg(0)
	rest := top.Args()[1:]
	if name == "servers" && len(rest) > 0 && !strings.HasPrefix(rest[0], "-") { // two-word commands
		name, rest = name+" "+rest[0], rest[1:]
	}
	if name == "help" {
		if top.NArg() > 1 {
			return Run(ctx, []string{top.Arg(1), "--help"}, stdout, stderr)
		}
		topUsage(stdout)
		return ExitOK
	}
	var cmd *command
	for _, c := range commands {
		if c.name == name {
			cmd = c
		}
	}
	if cmd == nil && name == "servers" {
		fmt.Fprintln(stdout, "usage: provisioner servers add|list|drain|activate [flags]")
		for _, c := range commands {
			if strings.HasPrefix(c.name, "servers ") {
				fmt.Fprintf(stdout, "  %-17s %s\n", c.name, c.summary)
			}
		}
		if len(rest) > 0 && (rest[0] == "--help" || rest[0] == "-h" || rest[0] == "-help") {
			return ExitOK
		}
		return ExitUsage
	}
	if cmd == nil {
		fmt.Fprintf(stderr, "provisioner: unknown command %q\nfix: run `provisioner --help` to see the commands\n", name)
		return ExitUsage
	}
	env := &Env{Out: stdout, Err: stderr}
	fs := flag.NewFlagSet("provisioner "+cmd.name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.BoolVar(&env.JSON, "json", false, "print JSON for scripts instead of tables")
	logLevel := fs.String("log-level", "warn", "log level: debug, info, warn or error")
	run := cmd.setup(fs, env)
	fs.Usage = func() {} // printed below, once, where it belongs
	if err := fs.Parse(rest); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fmt.Fprintf(stdout, "usage: provisioner %s %s\n\n%s.\n\nflags:\n", cmd.name, cmd.args, cmd.summary)
			fs.PrintDefaults()
			return ExitOK
		}
		fmt.Fprintf(stderr, "fix: run `provisioner %s --help` for its flags\n", cmd.name)
		return ExitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "provisioner %s: unexpected argument %q\nfix: flags go before nothing else; run `provisioner %s --help`\n", cmd.name, fs.Arg(0), cmd.name)
		return ExitUsage
	}
	env.Logger = logging.New(stderr, "text", *logLevel)
	err := run(ctx)
	if env.platform != nil {
		env.platform.Close()
	}
	if err == nil {
		return ExitOK
	}
	fmt.Fprintf(stderr, "provisioner %s: %v\n", cmd.name, err)
	fmt.Fprintf(stderr, "fix: %s\n", hint(cmd.name, err))
	var ue usageError
	if errors.As(err, &ue) {
		return ExitUsage
	}
	return ExitFailure
}

// hint says how to fix a failure, in one line.
func hint(cmd string, err error) string {
	var ve *provision.ValidationError
	var se *provision.StateError
	var ue usageError
	var fe *staff.FieldError
	msg := err.Error()
	switch {
	case errors.Is(err, backup.ErrCorrupt):
		return "this backup cannot be trusted; pick another with `provisioner backups --vendor S` (the live vendor was not touched)"
	case errors.Is(err, backup.ErrWrongVendor):
		return "restore a backup of the same vendor, or add --as NEW_SLUG to restore it as a separate vendor"
	case errors.Is(err, backup.ErrNotUsable):
		return "pick a completed backup from `provisioner backups --vendor S`"
	case strings.Contains(msg, "final backup failed"):
		return "fix what made the backup fail, or delete without one: --skip-final-backup --confirm SLUG"
	case errors.Is(err, errSomeFailed):
		return "fix the causes listed above, then run `provisioner migrate-all --resume`"
	case strings.Contains(msg, "another migrate-all is running"):
		return "wait for the running migrate-all to finish, or pass --wait"
	case errors.As(err, &fe):
		return fmt.Sprintf("correct --%s and run the command again", strings.ReplaceAll(fe.Field, "_", "-"))
	case errors.Is(err, staff.ErrOwnerActive):
		return "the owner has already set a password; they can use \"Forgot your password?\" on the back office's sign-in page"
	case errors.As(err, &ue):
		return fmt.Sprintf("run `provisioner %s --help` for the flags it needs", cmd)
	case errors.As(err, &ve):
		return fmt.Sprintf("correct --%s and run the command again", strings.ReplaceAll(ve.Field, "_", "-"))
	case errors.Is(err, provision.ErrSlugTaken):
		return "pick another --slug; `provisioner list` shows the slugs in use"
	case errors.As(err, &se):
		return fmt.Sprintf("`provisioner show --slug %s` shows its state; only some actions apply to it", se.Slug)
	case errors.Is(err, platform.ErrNotFound):
		return "check the slug with `provisioner list`"
	case strings.Contains(msg, "missing settings"), strings.Contains(msg, "configuration:"):
		return "start the local platform with `make run` (it writes .env), or set the STOREFLEET_* variables"
	case strings.Contains(msg, "connect"), strings.Contains(msg, "dial"), strings.Contains(msg, "refused"):
		return "is the platform running? `make run` starts it; check the addresses in .env"
	case strings.Contains(msg, "step:"):
		return "fix the cause above, then run `provisioner reconcile` to finish the vendor"
	case strings.Contains(msg, "does not exist") && strings.Contains(msg, "relation"):
		return "the control plane is not migrated: run `provisioner init`"
	}
	return "see the error above; `provisioner " + cmd + " --help` describes the command"
}

func topUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: provisioner <command> [flags]")
	fmt.Fprintln(w, "\nThe operator's tool for Storefleet vendors. It reads its settings from .env")
	fmt.Fprintln(w, "(written by `make run`) and the STOREFLEET_* environment variables.")
	fmt.Fprintln(w, "\ncommands:")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, c := range commands {
		fmt.Fprintf(tw, "  %s\t%s\n", c.name, c.summary)
	}
	_ = tw.Flush()
	fmt.Fprintln(w, "\nRun `provisioner <command> --help` for a command's flags. Every command takes --json.")
}
