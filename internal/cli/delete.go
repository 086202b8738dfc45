package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/mattn/go-isatty"
	"github.com/opencontainers/go-digest"
	"github.com/spf13/cobra"

	"github.com/signet-oci/signet/pkg/errdef"
	"github.com/signet-oci/signet/pkg/reference"
	"github.com/signet-oci/signet/pkg/removal"
	"github.com/signet-oci/signet/pkg/verify"
)

type deleteOptions struct {
	Artifact   string
	AllInvalid bool
	Expired    bool
	DryRun     bool
	Yes        bool
	// Trust for --all-invalid and --expired, as verify's flags.
	Certs, CACerts, Identities, TSARoots, CRLs []string
	Revocation                                 string
	remote                                     remoteOptions
	output                                     outputOptions
}

func newDeleteSignatureCmd(streams IOStreams) *cobra.Command {
	opts := &deleteOptions{output: formats("text", "json")}
	cmd := &cobra.Command{
		Use:   "delete-signature REFERENCE (--artifact DIGEST | --all-invalid | --expired) [--dry-run] [--yes]",
		Short: "Remove signatures of an image from the registry",
		Long: `Remove the signature artifact DIGEST of REFERENCE, or every signature
'signet verify' rejects (--all-invalid) or rejects as expired (--expired).

Nothing is deleted unless discovery proves DIGEST is a signature of REFERENCE:
listed for it by the links API or the referrers API, its manifest fetched,
digest-checked and naming REFERENCE's manifest, its envelope a signature
('signet discover REFERENCE' lists them). It is removed by deleting its
manifest (DELETE /v2/<name>/manifests/<digest>), which unlists it from both
APIs. A signature listed by the sha256-<hex> tag fallback is first removed from
that index (rewritten without it, keeping every entry concurrent writers add),
then its manifest is deleted. Afterwards discovery must no longer list it. A
registry that refuses DELETE (405) is reported with what it needs: nothing is
deleted then, except on the tag fallback, where the signature stays unlisted
("Unlisted …; its manifest remains", exit 0).

--all-invalid and --expired verify REFERENCE's signatures with the trust given
as to verify (-c, --ca-cert, --identity, --tsa-root-cert, --revocation,
--crl) and remove those verify rejects (--expired: errorClass expired, past
the signature's own expiry); signatures that could not be fetched are never
removed (nothing proves what they are), nor valid ones.

On a terminal, delete-signature asks for confirmation; --yes confirms
without asking, and is required when stdin is not a terminal. --dry-run shows
what would be deleted and deletes nothing.

--format json prints one document at the end: the signatures deleted (or
that would be, or unlisted) with their outcome (schema:
docs/schemas/delete-signature.json).

Exit status: 0 deleted (or --dry-run), 4 DIGEST is not a signature of
REFERENCE (or REFERENCE unknown), 2 usage, 1 other errors (refused, not
confirmed).`,
		Example: `  signet delete-signature 127.0.0.1:5000/busybox@sha256:… --artifact sha256:… --dry-run
  signet delete-signature 127.0.0.1:5000/busybox:latest --artifact sha256:… --yes
  signet delete-signature 127.0.0.1:5000/busybox@sha256:… --all-invalid --ca-cert ca.crt --dry-run`,
		Args: exactArgs("REFERENCE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDeleteSignature(cmd, opts, streams, args[0])
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Artifact, "artifact", "", "digest of the signature artifact manifest to remove (as 'signet discover' shows)")
	f.BoolVar(&opts.AllInvalid, "all-invalid", false, "remove every signature verify rejects with the trust given (-c, --ca-cert …)")
	f.BoolVar(&opts.Expired, "expired", false, "remove the signatures verify rejects as expired")
	f.StringArrayVarP(&opts.Certs, "cert", "c", nil, "trusted signer certificate or chain, PEM, for --all-invalid/--expired (repeatable)")
	f.StringArrayVar(&opts.CACerts, "ca-cert", nil, "trusted CA certificate, PEM, for --all-invalid/--expired (repeatable)")
	f.StringArrayVar(&opts.Identities, "identity", nil, "trust only this signer, an x509 subject DN (repeatable)")
	f.StringArrayVar(&opts.TSARoots, "tsa-root-cert", nil, "trusted RFC 3161 TSA root, PEM (repeatable)")
	f.StringVar(&opts.Revocation, "revocation", "strict", "revocation policy, as verify's: strict, soft or off")
	f.StringArrayVar(&opts.CRLs, "crl", nil, "CRL file for offline revocation checks (repeatable)")
	f.BoolVar(&opts.DryRun, "dry-run", false, "show what would be deleted; delete nothing")
	f.BoolVarP(&opts.Yes, "yes", "y", false, "do not ask for confirmation")
	return withGroups(cmd, streams, &opts.remote, &opts.output)
}

func runDeleteSignature(cmd *cobra.Command, opts *deleteOptions, streams IOStreams, arg string) error {
	switch n := btoi(opts.Artifact != "") + btoi(opts.AllInvalid) + btoi(opts.Expired); {
	case n == 0:
		return errdef.Usage(errors.New(`required flag(s) "artifact" not set: give the signature artifact's digest ('signet discover REFERENCE' lists them), or --all-invalid or --expired`))
	case n > 1:
		return errdef.Usage(errors.New("give one of --artifact, --all-invalid and --expired"))
	}
	pruning := opts.AllInvalid || opts.Expired
	if pruning && len(opts.Certs)+len(opts.CACerts) == 0 {
		return errdef.Usage(errors.New("--all-invalid and --expired verify first: give the certificates you trust with -c CERT or --ca-cert CERT"))
	}
	if !pruning && len(opts.Certs)+len(opts.CACerts)+len(opts.Identities)+len(opts.TSARoots)+len(opts.CRLs) > 0 {
		return errdef.Usage(errors.New("-c, --ca-cert, --identity, --tsa-root-cert and --crl go with --all-invalid or --expired"))
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
	var plans []*removal.Plan
	var skipped []error
	result := DeleteResult{Reference: ref.Raw, DryRun: opts.DryRun, Signatures: []DeletedSignature{}}
	// report prints, with --format json, what was done (also when a later
	// step failed); text lines are printed as each step is done.
	report := func(err error) error {
		if opts.output.json() {
			for _, e := range skipped {
				result.Skipped = append(result.Skipped, e.Error())
			}
			if jerr := writeJSON(streams.Out, result); jerr != nil {
				return jerr
			}
		}
		return err
	}
	done := func(p *removal.Plan, outcome, line string) {
		result.Signatures = append(result.Signatures, DeletedSignature{Artifact: p.Artifact, Format: p.Format, FoundBy: p.Mechanisms, Outcome: outcome})
		if !opts.output.json() {
			fmt.Fprintln(streams.Out, line)
		}
	}
	if pruning {
		trust, err := deleteTrust(cmd, opts)
		if err != nil {
			return err
		}
		sel := removal.AllInvalid
		if opts.Expired {
			sel = removal.Expired
		}
		var rep *verify.Report
		plans, skipped, rep, err = removal.Rejected(cmd.Context(), client, ref, verify.Options{Trust: trust}, sel)
		if err != nil {
			return err
		}
		warnTag(streams, ref, rep.Subject.Digest)
		result.Subject = rep.Subject
		if len(plans)+len(skipped) == 0 {
			if opts.output.json() {
				return writeJSON(streams.Out, result)
			}
			fmt.Fprintf(streams.Out, "Nothing to delete: %d of %d signature(s) of %s valid, none selected\n", rep.Valid, len(rep.Signatures), ref.WithDigest(rep.Subject.Digest))
			return nil
		}
	} else {
		plan, err := removal.Find(cmd.Context(), client, ref, digest.Digest(opts.Artifact))
		if err != nil {
			return err
		}
		warnTag(streams, ref, plan.Subject.Digest)
		result.Subject = plan.Subject
		plans = []*removal.Plan{plan}
	}
	for _, e := range skipped {
		fmt.Fprintf(streams.Err, "Warning: skipping %v\n", e)
	}
	what := func(p *removal.Plan) string {
		return fmt.Sprintf("%s signature %s of %s (listed by %s)", p.Format, p.Artifact.Digest, ref.WithDigest(p.Subject.Digest), strings.Join(p.Mechanisms, ", "))
	}
	if opts.DryRun {
		for _, p := range plans {
			done(p, "would delete", "Would delete "+what(p))
		}
		return report(skippedError(skipped))
	}
	if len(plans) > 0 && !opts.Yes {
		if !isTerminal(streams.In) {
			return errdef.Usage(fmt.Errorf("not deleting %d signature(s): stdin is not a terminal to confirm on; add --yes to confirm", len(plans)))
		}
		prompt := "Delete " + what(plans[0]) + "?"
		if len(plans) > 1 {
			for _, p := range plans {
				fmt.Fprintf(streams.Err, "  %s\n", what(p))
			}
			prompt = fmt.Sprintf("Delete these %d signatures?", len(plans))
		}
		fmt.Fprintf(streams.Err, "%s [y/N] ", prompt)
		line, _ := bufio.NewReader(io.LimitReader(streams.In, 256)).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
			return fmt.Errorf("not confirmed; nothing was deleted")
		}
	}
	for _, p := range plans {
		res, err := p.Execute(cmd.Context(), client)
		if err != nil {
			if len(result.Signatures) == 0 {
				return err
			}
			return report(err)
		}
		if res.AlreadyGone {
			fmt.Fprintf(streams.Err, "Warning: the registry no longer had %s (deleted concurrently?)\n", p.Artifact.Digest)
		}
		if res.ManifestKept != nil {
			done(p, "unlisted", fmt.Sprintf("Unlisted %s (removed from the referrers tag %s; its manifest remains)", what(p), res.Unlisted.Tag))
			fmt.Fprintf(streams.Err, "Warning: %s is no longer listed, but its manifest remains in %s: %v\n", p.Artifact.Digest, ref.Repo(), res.ManifestKept)
			continue
		}
		done(p, "deleted", "Deleted "+what(p))
	}
	return report(skippedError(skipped))
}

// skippedError fails the command when selected signatures were skipped.
func skippedError(skipped []error) error {
	if len(skipped) == 0 {
		return nil
	}
	return fmt.Errorf("%d selected signature(s) not deleted: %w", len(skipped), skipped[0])
}

// deleteTrust builds verify's trust from delete-signature's flags.
func deleteTrust(cmd *cobra.Command, opts *deleteOptions) (verify.Trust, error) {
	return x509Trust(cmd, append(append([]string{}, opts.Certs...), opts.CACerts...), opts.TSARoots, opts.CRLs, opts.Revocation, opts.Identities)
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// isTerminal reports whether r is an interactive terminal (not merely a
// character device: /dev/null is one). A variable so that tests can answer
// the prompt.
var isTerminal = func(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}
