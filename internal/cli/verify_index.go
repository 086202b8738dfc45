package cli

import (
	"errors"
	"fmt"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/spf13/cobra"

	"github.com/signet-oci/signet/pkg/errdef"
	"github.com/signet-oci/signet/pkg/imageindex"
	"github.com/signet-oci/signet/pkg/manifest"
	"github.com/signet-oci/signet/pkg/reference"
	"github.com/signet-oci/signet/pkg/verify"
)

// verifyIndexOptions are verify's multi-platform flags.
type verifyIndexOptions struct {
	Platform string
	Index    string
	ViaIndex bool
}

func (o *verifyIndexOptions) addFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.Platform, "platform", "", "REFERENCE is an image index: verify its manifest for this platform, os/arch[/variant]")
	f.StringVar(&o.Index, "index", "", "the image index (a registry reference) that lists REFERENCE, a platform manifest: with --via-index, its signatures count")
	f.BoolVar(&o.ViaIndex, "via-index", false, "accept a valid signature on the index (--platform, --index) for the platform manifest it lists; the report names the index")
}

func (o *verifyIndexOptions) set() bool { return o.Platform != "" || o.Index != "" || o.ViaIndex }

// runVerifyIndexed verifies a platform manifest through its index
// (--platform on an index reference, or --index INDEX with a platform
// manifest's reference); --via-index accepts the index's signatures.
func runVerifyIndexed(cmd *cobra.Command, opts *verifyOptions, streams IOStreams, ref reference.Reference, trust verify.Trust) error {
	io := opts.index
	if opts.SignatureFile != "" {
		return errdef.Usage(errors.New("--platform, --index and --via-index apply to registry verification, not to -f"))
	}
	if io.Platform != "" && io.Index != "" {
		return errdef.Usage(errors.New("give --platform (REFERENCE is the index) or --index INDEX (REFERENCE is the platform manifest), not both"))
	}
	if io.Platform == "" && io.Index == "" {
		return errdef.Usage(errors.New("--via-index needs the index: give --platform OS/ARCH on an index reference, or --index INDEX_REF with a platform manifest's reference"))
	}
	iopts := verify.IndexOptions{Options: verify.Options{Trust: trust, MaxSignatures: opts.MaxSignatures, MaxReferrers: opts.MaxReferrers}, AcceptIndex: io.ViaIndex}
	indexRef := ref
	if io.Platform != "" {
		p, err := imageindex.ParsePlatform(io.Platform)
		if err != nil {
			return fmt.Errorf("--platform: %w", err)
		}
		iopts.Platform = &p
	} else {
		var err error
		if indexRef, err = reference.Parse(io.Index); err != nil {
			return err
		}
		if indexRef.Kind != reference.Registry {
			return errdef.Usage(fmt.Errorf("--index %s: give a registry reference", io.Index))
		}
		if ref.Digest == "" && ref.Tag == "" {
			return errdef.Usage(fmt.Errorf("%s names no tag or digest; add @sha256:…", ref.Raw))
		}
		iopts.Manifest = ref
	}
	client, err := opts.remote.newClient(streams)
	if err != nil {
		return err
	}
	iopts.IndexResolved = func(d ocispec.Descriptor) { warnTag(streams, indexRef, d.Digest) }
	rep, err := verify.Indexed(cmd.Context(), client, indexRef, iopts)
	err = opts.remote.explain(err)
	if rep == nil && err != nil && !errors.Is(err, errdef.ErrUsage) {
		if jerr := opts.output.print(streams.Out, VerifyFailure{Reference: ref.Raw, Signatures: []*verify.Verdict{}, Error: err.Error()}); jerr != nil {
			return jerr
		}
	}
	if rep != nil {
		for _, w := range rep.Warnings {
			fmt.Fprintln(streams.Err, "Warning: "+w)
		}
		if jerr := opts.output.print(streams.Out, VerifyResult{Report: rep, repo: ref.Repo()}); jerr != nil {
			return jerr
		}
	}
	return err
}

// hintIndex, for an unsigned single-platform manifest, says how to verify
// it through a signed index that lists it (finding that index would mean
// reading every index in the repository).
func hintIndex(streams IOStreams, ref reference.Reference, rep *verify.Report, err error) {
	// --index and --via-index take registry references only.
	if ref.Kind != reference.Registry || rep == nil || !errors.Is(err, errdef.ErrNotFound) || len(rep.Signatures) > 0 || !manifest.IsManifest(rep.Subject.MediaType) {
		return
	}
	fmt.Fprintf(streams.Err, "Hint: if %s is one platform of a signed multi-platform image, verify it through the index: add --index INDEX_REF --via-index (docs/multi-arch.md)\n", ref.WithDigest(rep.Subject.Digest))
}

// viaIndexNote is the text report's line on what the valid signatures
// cover.
func viaIndexNote(v *verify.ViaIndex, subject ocispec.Descriptor) string {
	what := subject.Digest.String()
	if v.Platform != "" {
		what = v.Platform + " manifest " + what
	}
	return fmt.Sprintf("signatures on the index %s, which lists %s (accepted with --via-index)", v.Reference, what)
}
