// Package cli holds signet's cobra commands. Each command is a thin file: an
// options struct filled from flags and a run function that calls a pkg/
// library. Output formatting lives in output.go, apart from the work.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/signet-oci/signet/internal/fsutil"
	"github.com/signet-oci/signet/internal/target"
	"github.com/signet-oci/signet/pkg/errdef"
	"github.com/signet-oci/signet/pkg/remote"
)

// Exit statuses (docs/exit-codes.md).
const (
	ExitOK           = 0
	ExitError        = 1
	ExitUsage        = 2
	ExitVerifyFailed = 3
	ExitNotFound     = 4
)

// IOStreams are the standard streams a command uses. Results go to Out;
// progress, warnings and hints go to Err.
type IOStreams struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
}

// Main runs signet with the process's arguments and streams and returns the
// exit status.
func Main() int {
	return Run(context.Background(), os.Args[1:], IOStreams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr})
}

// Exit statuses for a command stopped by a signal (128 + the signal's
// number, as shells report it).
const (
	ExitInterrupted = 130 // SIGINT
	ExitTerminated  = 143 // SIGTERM
)

// Run runs signet with args and returns the exit status. SIGINT and SIGTERM
// cancel the context, which every command honours; a command stopped by
// them cleans up what it had started (no partial file or layout is left)
// and signet exits 130 (SIGINT) or 143 (SIGTERM). 'registry serve', for
// which a signal is the way to stop, shuts down gracefully and exits 0.
func Run(ctx context.Context, args []string, streams IOStreams) int {
	ctx, cancel := context.WithCancelCause(ctx) // also releases the --timeout context
	defer cancel(nil)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case sig := <-sigs:
			cancel(&signalled{sig})
		case <-done:
		}
	}()
	root := newRootCmd(streams, soleCommand(args))
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	var sig *signalled
	if err != nil && errors.As(context.Cause(ctx), &sig) {
		// Stopped by the signal. (A command that finished its work —
		// registry serve shutting down gracefully — exits 0.)
		fmt.Fprintf(streams.Err, "Error: interrupted (%s); nothing partial was left\n", sig.sig)
		if sig.sig == syscall.SIGTERM {
			return ExitTerminated
		}
		return ExitInterrupted
	}
	if err == nil {
		return ExitOK
	}
	var explained *remote.ExplainedError
	if errors.Is(err, context.DeadlineExceeded) && !errors.As(err, &explained) {
		// A wait outside any registry request ran out of the deadline
		// (one inside a request is explained by the remote group).
		err = fmt.Errorf("%w; the command did not finish within the bound --timeout sets", err)
	}
	fmt.Fprintln(streams.Err, "Error: "+oneLine(err))
	return ExitCode(err)
}

type signalled struct{ sig os.Signal }

func (s *signalled) Error() string { return "interrupted by " + s.sig.String() }

// groupArgs is the Args of a command that only groups subcommands
// (signet, signet generate, signet registry): an argument there is an unknown
// subcommand, a usage error with suggestions, where cobra would print the
// help and exit 0.
func groupArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		for i := range s {
			s[i] = "'" + cmd.CommandPath() + " " + s[i] + "'"
		}
		msg += "; did you mean " + strings.Join(s, " or ") + "?"
	} else {
		var names []string
		for _, c := range cmd.Commands() {
			if c.IsAvailableCommand() {
				names = append(names, c.Name())
			}
		}
		msg += "; its commands are " + strings.Join(names, ", ")
	}
	return errdef.Usage(fmt.Errorf("%s (see '%s --help')", msg, cmd.CommandPath()))
}

// groupCmd makes cmd a group of subcommands: without arguments it prints
// its help; with an unknown one it fails with exit status 2.
func groupCmd(cmd *cobra.Command) *cobra.Command {
	cmd.Args = groupArgs
	cmd.SuggestionsMinimumDistance = 2 // cobra's default, which SuggestionsFor does not apply
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		return cmd.Help()
	}
	return cmd
}

// ExitCode maps an error returned by a command to signet's exit status.
func ExitCode(err error) int {
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, errdef.ErrUsage), errors.Is(err, fsutil.ErrRefused), errors.Is(err, fs.ErrNotExist):
		// A local input that does not exist is a usage error wherever
		// it is read (docs/exit-codes.md, "Missing inputs").
		return ExitUsage
	case errors.Is(err, errdef.ErrVerification):
		return ExitVerifyFailed
	case errors.Is(err, errdef.ErrNotFound):
		return ExitNotFound
	}
	return ExitError
}

func oneLine(err error) string {
	s := strings.TrimSpace(err.Error())
	return strings.ReplaceAll(s, "\n", "\n       ")
}

// NewRootCmd builds the signet command tree.
func NewRootCmd(streams IOStreams) *cobra.Command { return newRootCmd(streams, "") }

// newRootCmd builds the command tree; with only set (soleCommand), the
// root and that one top-level command: what a run of it needs.
func newRootCmd(streams IOStreams, only string) *cobra.Command {
	root := &cobra.Command{
		Use:   "signet",
		Short: "Sign container images and keep their signatures next to them in OCI registries",
		Long: `signet signs container images and stores, discovers, pulls and verifies their
signatures in OCI registries. It replaces the 2021 signature prototype
walkthrough (registry, docker, docker-generate, nv2, openssl, curl, jq) with one
binary, speaks the prototype's formats byte for byte, and also today's
standards: OCI 1.1 referrers (with the tag fallback) and Notary Project
signatures.

Results go to stdout; progress, warnings and hints go to stderr.
Exit status: 0 success, 1 error, 2 usage error, 3 verification failed,
4 nothing found, 130 interrupted (docs/exit-codes.md).

Output files (-o) are written atomically, through devices and symlinks, and
never over an input of the command or, without --force, a private key.
--timeout bounds a whole command; without it, a registry that never answers
costs at most 40 s (docs/cli-conventions.md).`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       Version,
	}
	root.SetVersionTemplate(versionLine() + "\n")
	root.SetIn(streams.In)
	root.SetOut(streams.Out)
	root.SetErr(streams.Err)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return errdef.Usage(fmt.Errorf("%w (see '%s --help')", err, c.CommandPath()))
	})
	root.CompletionOptions.HiddenDefaultCmd = false
	var deadline struct{ cancel context.CancelFunc }
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		// cobra checks required flags and flag groups after this hook,
		// with untyped errors; checked here they are usage errors.
		if err := cmd.ValidateRequiredFlags(); err != nil {
			return errdef.Usage(fmt.Errorf("%w (see '%s --help')", err, cmd.CommandPath()))
		}
		if err := cmd.ValidateFlagGroups(); err != nil {
			return errdef.Usage(fmt.Errorf("%w (see '%s --help')", err, cmd.CommandPath()))
		}
		// --timeout bounds the whole command: one deadline on the context
		// every request and wait of the command honours.
		if f := cmd.Flags().Lookup("timeout"); f != nil {
			d, err := cmd.Flags().GetDuration("timeout")
			if err != nil {
				return errdef.Usage(err)
			}
			if d < 0 || (d == 0 && f.Changed) {
				return errdef.Usage(fmt.Errorf("--timeout %s: give a positive duration such as 30s or 2m", d))
			}
			if d > 0 {
				// Released with Run's context, its parent.
				var ctx context.Context
				ctx, deadline.cancel = context.WithTimeout(cmd.Context(), d)
				cmd.SetContext(ctx)
			}
		}
		return nil
	}
	// An unknown command is a usage error with suggestions (groupArgs),
	// as for 'signet generate' and 'signet registry'.
	groupCmd(root)
	for _, c := range commands {
		if only == "" || only == c.name {
			root.AddCommand(c.new(streams))
		}
	}
	if only == "" {
		// cobra's completion command, made now (Execute would make it
		// later) so that an unknown shell is a usage error as an unknown
		// command of generate or registry is, not its help and status 0.
		// (Find, not Commands: that would sort the commands, and with them
		// the order of "did you mean" suggestions.)
		root.InitDefaultCompletionCmd()
		if c, _, err := root.Find([]string{"completion"}); err == nil && c != root {
			groupCmd(c)
		}
		// 'signet help TOPIC': an unknown topic is a usage error with
		// suggestions, as the unknown command is, not the root's help.
		root.InitDefaultHelpCmd()
		if h, _, err := root.Find([]string{"help"}); err == nil && h != root {
			h.Args = func(c *cobra.Command, args []string) error {
				cmd, rest, err := c.Root().Find(args)
				if err != nil {
					return errdef.Usage(err)
				}
				if len(rest) > 0 {
					return groupArgs(cmd, rest)
				}
				return nil
			}
		}
	}
	return root
}

// commands are signet's top-level commands, in the order help lists them.
var commands = []struct {
	name string
	new  func(IOStreams) *cobra.Command
}{
	{"copy", newCopyCmd},
	{"generate", newGenerateCmd},
	{"sign", newSignCmd},
	{"push-signature", newPushSignatureCmd},
	{"discover", newDiscoverCmd},
	{"pull-signature", newPullSignatureCmd},
	{"verify", newVerifyCmd},
	{"delete-signature", newDeleteSignatureCmd},
	{"login", newLoginCmd},
	{"logout", newLogoutCmd},
	{"version", newVersionCmd},
	{"registry", newRegistryCmd},
}

// soleCommand returns the top-level command args run, when it is one of
// commands: Run then builds that command alone, not the whole tree (whose
// flags, help and sub-commands cost about a millisecond at every start).
// Anything else — help, completion, --version, an unknown word — gets the
// whole tree.
func soleCommand(args []string) string {
	if len(args) == 0 {
		return ""
	}
	for _, c := range commands {
		if args[0] == c.name {
			return c.name
		}
	}
	return ""
}

// missingInput is target.MissingInput: the one rule for local inputs.
var missingInput = target.MissingInput

// exactArgs is cobra.ExactArgs with a usage error that names the arguments.
func exactArgs(names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != len(names) {
			return errdef.Usage(fmt.Errorf("%s takes %d argument(s) (%s), got %d (see '%s --help')",
				cmd.CommandPath(), len(names), strings.Join(names, " "), len(args), cmd.CommandPath()))
		}
		return nil
	}
}
