package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/opencontainers/go-digest"
	"github.com/spf13/cobra"

	"github.com/signet-oci/signet/internal/errdef"
	"github.com/signet-oci/signet/pkg/reference"
	"github.com/signet-oci/signet/pkg/signature/removal"
)

type deleteOptions struct {
	Artifact string
	DryRun   bool
	Yes      bool
	remote   remoteOptions
}

func newDeleteSignatureCmd(streams IOStreams) *cobra.Command {
	opts := &deleteOptions{}
	cmd := &cobra.Command{
		Use:   "delete-signature REFERENCE --artifact DIGEST [--dry-run] [--yes]",
		Short: "Remove one signature of an image from the registry",
		Long: `Remove the signature artifact DIGEST of REFERENCE.

Nothing is deleted unless discovery proves DIGEST is a signature of REFERENCE:
listed for it by the links API or the referrers API, its manifest fetched,
digest-checked and naming REFERENCE's manifest, its envelope a signature
('signet discover REFERENCE' lists them). It is removed by deleting its
manifest (DELETE /v2/<name>/manifests/<digest>), which unlists it from both
APIs; afterwards discovery must no longer list it. A signature listed by the
sha256-<hex> tag fallback is refused for now ("not yet supported on the tag
fallback"); nothing is deleted then. A registry that refuses DELETE (405) is
reported with what it needs.

On a terminal, delete-signature asks for confirmation; --yes confirms
without asking, and is required when stdin is not a terminal. --dry-run shows
what would be deleted and deletes nothing.

Exit status: 0 deleted (or --dry-run), 4 DIGEST is not a signature of
REFERENCE (or REFERENCE unknown), 2 usage, 1 other errors (refused, not
confirmed).`,
		Example: `  signet delete-signature 127.0.0.1:5000/busybox@sha256:… --artifact sha256:… --dry-run
  signet delete-signature 127.0.0.1:5000/busybox:latest --artifact sha256:… --yes`,
		Args: exactArgs("REFERENCE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			defer opts.remote.done(streams)
			return runDeleteSignature(cmd, opts, streams, args[0])
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Artifact, "artifact", "", "digest of the signature artifact manifest to remove (as 'signet discover' shows)")
	f.BoolVar(&opts.DryRun, "dry-run", false, "show what would be deleted; delete nothing")
	f.BoolVarP(&opts.Yes, "yes", "y", false, "do not ask for confirmation")
	opts.remote.addFlags(f)
	return cmd
}

func runDeleteSignature(cmd *cobra.Command, opts *deleteOptions, streams IOStreams, arg string) error {
	if opts.Artifact == "" {
		return errdef.Usage(errors.New(`required flag(s) "artifact" not set: give the signature artifact's digest ('signet discover REFERENCE' lists them)`))
	}
	if !opts.DryRun && !opts.Yes && opts.remote.PasswordStdin {
		return errdef.Usage(errors.New("--password-stdin reads stdin, so delete-signature cannot ask for confirmation there: add --yes (or --dry-run)"))
	}
	ref, err := reference.Parse(arg)
	if err != nil {
		return err
	}
	if ref.Kind != reference.Registry {
		return errdef.Usage(fmt.Errorf("%s: delete-signature needs a registry reference", arg))
	}
	client, err := opts.remote.newClient(streams)
	if err != nil {
		return err
	}
	plan, err := removal.Find(cmd.Context(), client, ref, digest.Digest(opts.Artifact))
	if err != nil {
		return err
	}
	warnTag(streams, ref, plan.Subject.Digest)
	what := fmt.Sprintf("%s signature %s of %s (listed by %s)", plan.Format, plan.Artifact.Digest, ref.WithDigest(plan.Subject.Digest), strings.Join(plan.Mechanisms, ", "))
	if opts.DryRun {
		fmt.Fprintf(streams.Out, "Would delete %s\n", what)
		return nil
	}
	if !opts.Yes {
		if !isTerminal(streams.In) {
			return errdef.Usage(fmt.Errorf("not deleting %s: stdin is not a terminal to confirm on; add --yes to confirm", plan.Artifact.Digest))
		}
		fmt.Fprintf(streams.Err, "Delete %s? [y/N] ", what)
		line, _ := bufio.NewReader(io.LimitReader(streams.In, 256)).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
			return fmt.Errorf("not confirmed; nothing was deleted")
		}
	}
	res, err := plan.Execute(cmd.Context(), client)
	if err != nil {
		return err
	}
	if res.AlreadyGone {
		fmt.Fprintf(streams.Err, "Warning: the registry no longer had %s (deleted concurrently?)\n", plan.Artifact.Digest)
	}
	fmt.Fprintf(streams.Out, "Deleted %s\n", what)
	return nil
}

// isTerminal reports whether r is an interactive terminal. A variable so
// that tests can answer the prompt.
var isTerminal = func(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
