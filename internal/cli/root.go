// Package cli holds signet's cobra commands. Each command is a thin file: an
// options struct filled from flags and a run function that calls a pkg/
// library. Output formatting lives in output.go, apart from the work.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/signet-oci/signet/internal/errdef"
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

// Run runs signet with args and returns the exit status. SIGINT and SIGTERM
// cancel the context, which every command honours.
func Run(ctx context.Context, args []string, streams IOStreams) int {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := NewRootCmd(streams)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	if isCobraUsageError(err) {
		err = errdef.Usage(err)
	}
	fmt.Fprintln(streams.Err, "Error: "+oneLine(err))
	return ExitCode(err)
}

// isCobraUsageError recognises the usage errors cobra makes itself (flag
// groups, required flags, unknown commands), which bypass the flag error
// function.
func isCobraUsageError(err error) bool {
	msg := err.Error()
	for _, p := range []string{"required flag(s)", "if any flags in the group", "unknown command", "unknown flag", "unknown shorthand flag", "invalid argument"} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

// ExitCode maps an error returned by a command to signet's exit status.
func ExitCode(err error) int {
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, errdef.ErrUsage):
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
func NewRootCmd(streams IOStreams) *cobra.Command {
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
4 nothing found.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(streams.In)
	root.SetOut(streams.Out)
	root.SetErr(streams.Err)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return errdef.Usage(fmt.Errorf("%w (see '%s --help')", err, c.CommandPath()))
	})
	root.CompletionOptions.HiddenDefaultCmd = false
	root.AddCommand(
		newCopyCmd(streams),
		newGenerateCmd(streams),
		newSignCmd(streams),
		newPushSignatureCmd(streams),
		newDiscoverCmd(streams),
		newPullSignatureCmd(streams),
		newVerifyCmd(streams),
		newDeleteSignatureCmd(streams),
		newLoginCmd(streams),
		newLogoutCmd(streams),
		newVersionCmd(streams),
		newRegistryCmd(streams),
	)
	return root
}

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
