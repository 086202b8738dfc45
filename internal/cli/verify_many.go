package cli

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/signet-oci/signet/pkg/errdef"
	"github.com/signet-oci/signet/pkg/reference"
	"github.com/signet-oci/signet/pkg/verify"
)

// errSignatureFileMany refuses -f with several images (verify's Args).
var errSignatureFileMany = errors.New("-f checks one signature file against one MANIFEST: it does not go with several references or --from-file")

// runVerifyMany verifies several images (arguments and --from-file)
// concurrently through pkg/verify: one verdict line, or one JSON report,
// per image, in the order given; the exit status is verify.Status's.
func runVerifyMany(cmd *cobra.Command, opts *verifyOptions, streams IOStreams, args []string) error {
	if opts.SignatureFile != "" {
		return errdef.Usage(errSignatureFileMany)
	}
	if opts.FromFile == "-" && opts.remote.PasswordStdin {
		return errdef.Usage(errors.New("--from-file - and --password-stdin both read stdin: list the images in a file, or log in first ('signet login')"))
	}
	trust, err := verifyTrust(cmd, opts)
	if err != nil {
		return err
	}
	var refs []reference.Reference
	for _, a := range args {
		ref, err := reference.Parse(a)
		if err != nil {
			return errdef.Usage(err)
		}
		if ref.Kind != reference.Registry {
			return errdef.Usage(fmt.Errorf("%s: verifying several images needs registry references", a))
		}
		refs = append(refs, ref)
	}
	if opts.FromFile != "" {
		in := streams.In
		if opts.FromFile != "-" {
			f, err := os.Open(opts.FromFile)
			if err != nil {
				return missingInput("--from-file", opts.FromFile, err)
			}
			defer f.Close()
			in = f
		}
		listed, err := verify.ReadReferences(in)
		if err != nil {
			return fmt.Errorf("--from-file %s: %w", opts.FromFile, err)
		}
		refs = append(refs, listed...)
	}
	if len(refs) == 0 {
		return errdef.Usage(fmt.Errorf("--from-file %s lists no image", opts.FromFile))
	}
	if len(refs) > verify.MaxImages {
		return errdef.Usage(fmt.Errorf("%d images: at most %d in one call", len(refs), verify.MaxImages))
	}
	client, err := opts.remote.newClient(streams)
	if err != nil {
		return err
	}
	results := verify.Many(cmd.Context(), client, refs, verify.Options{Trust: trust, MaxSignatures: opts.MaxSignatures, MaxReferrers: opts.MaxReferrers}, 0)
	explained := make([]verify.Result, len(results))
	for i, r := range results {
		rep := r.Report
		if rep != nil {
			warnTag(streams, refs[i], rep.Subject.Digest)
			for _, w := range rep.Warnings {
				fmt.Fprintf(streams.Err, "Warning: %s: %s\n", r.Reference, w)
			}
		}
		// The line a single-image verify would print for this error (a
		// registry that refuses the connection, asks for credentials, …),
		// not the transport's chain; the error class is kept.
		shown := r
		shown.Err = opts.remote.explainHost(refs[i].Registry, r.Err)
		explained[i] = shown
		if opts.output.json() {
			var doc any = rep
			if rep == nil && shown.Err != nil {
				// Not resolved: the report has no subject, as a single
				// image's (VerifyFailure, docs/schemas/verify.json).
				doc = VerifyFailure{Reference: r.Reference, Signatures: []*verify.Verdict{}, Error: shown.Err.Error()}
			} else if shown.Err != nil {
				rep.Error = shown.Err.Error()
			}
			if err := writeJSON(streams.Out, doc); err != nil {
				return err
			}
			continue
		}
		fmt.Fprintln(streams.Out, verdictLine(refs[i], shown))
	}
	return verify.Status(explained)
}

// verdictLine is one image's line: VALID, INVALID, UNSIGNED or ERROR.
func verdictLine(ref reference.Reference, r verify.Result) string {
	name := r.Reference
	if r.Report != nil && r.Report.Subject.Digest != "" {
		name = ref.WithDigest(r.Report.Subject.Digest)
	}
	switch {
	case r.Err == nil:
		return fmt.Sprintf("VALID    %s  %d of %d signature(s) valid", name, r.Report.Valid, len(r.Report.Signatures))
	case errors.Is(r.Err, errdef.ErrVerification) && r.Report != nil:
		reason := ""
		if len(r.Report.Signatures) > 0 {
			reason = ": " + r.Report.Signatures[0].Reason
		}
		return fmt.Sprintf("INVALID  %s  0 of %d signature(s) valid%s", name, len(r.Report.Signatures), reason)
	case errors.Is(r.Err, errdef.ErrNotFound):
		return fmt.Sprintf("UNSIGNED %s  %s", name, oneLine(r.Err))
	}
	return fmt.Sprintf("ERROR    %s  %s", name, oneLine(r.Err))
}
