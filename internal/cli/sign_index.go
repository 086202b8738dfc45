package cli

import (
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/spf13/cobra"

	"github.com/signet-oci/signet/internal/push"
	"github.com/signet-oci/signet/pkg/artifact"
	"github.com/signet-oci/signet/pkg/errdef"
	"github.com/signet-oci/signet/pkg/imageindex"
	"github.com/signet-oci/signet/pkg/manifest"
	"github.com/signet-oci/signet/pkg/reference"
	"github.com/signet-oci/signet/pkg/remote"
)

// signIndexOptions are sign's multi-platform flags.
type signIndexOptions struct {
	Platform       string
	Recursive      bool
	ArtifactFormat string
}

func (o *signIndexOptions) addFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.Platform, "platform", "", "MANIFEST is an image index: sign its manifest for this platform, os/arch[/variant]")
	f.BoolVar(&o.Recursive, "recursive", false, "sign the index and every platform manifest it lists, and push each signature as push-signature does (registry MANIFEST; no -o)")
	f.StringVar(&o.ArtifactFormat, "artifact-format", push.FormatAuto, "with --recursive: the signature artifacts' format, auto, prototype or oci (as push-signature's)")
}

// check refuses flag combinations that make no sense, before any key is
// read or request made.
func (o *signIndexOptions) check(opts *signOptions, ref reference.Reference) error {
	if o.Platform != "" {
		if _, err := imageindex.ParsePlatform(o.Platform); err != nil {
			return fmt.Errorf("--platform: %w", err)
		}
	}
	if !o.Recursive {
		if o.ArtifactFormat != push.FormatAuto {
			return errdef.Usage(errors.New("--artifact-format applies to sign --recursive, which pushes the signatures (or use push-signature)"))
		}
		return nil
	}
	if err := oneOf("--artifact-format", o.ArtifactFormat, push.FormatAuto, push.FormatPrototype, push.FormatOCI); err != nil {
		return err
	}
	switch {
	case o.Platform != "":
		return errdef.Usage(errors.New("--recursive signs every platform; --platform signs one: give one of them"))
	case opts.output.Path != "":
		return errdef.Usage(errors.New("--recursive pushes each signature next to the manifest it signs and writes no file: drop -o (sign one manifest with -o FILE, e.g. with --platform)"))
	case len(opts.References) > 0:
		return errdef.Usage(errors.New("--recursive signs each manifest for its own repository@digest reference: drop -r"))
	case opts.MediaType != "":
		return errdef.Usage(errors.New("--media-type does not apply to --recursive (each manifest is signed as its own type)"))
	case ref.Kind != reference.Registry:
		return errdef.Usage(fmt.Errorf("--recursive needs a registry reference (it pushes the signatures), not %s", ref.Raw))
	}
	return nil
}

// selectPlatform picks the manifest for platform in the index ref
// resolved to (desc, b: exact, digest-checked bytes), and returns its
// descriptor and reference.
func selectPlatform(ref reference.Reference, desc ocispec.Descriptor, b []byte, platform string) (ocispec.Descriptor, reference.Reference, error) {
	want, err := imageindex.ParsePlatform(platform)
	if err != nil {
		return ocispec.Descriptor{}, ref, fmt.Errorf("--platform: %w", err)
	}
	if !manifest.IsIndex(desc.MediaType) {
		return ocispec.Descriptor{}, ref, errdef.Usage(fmt.Errorf("--platform: %s is a single-platform manifest (%s), not an image index: drop --platform", ref.Raw, desc.MediaType))
	}
	idx, err := imageindex.Decode(b)
	if err != nil {
		return ocispec.Descriptor{}, ref, fmt.Errorf("%s: index %s: %w", ref.Raw, desc.Digest, err)
	}
	e, err := imageindex.Select(idx, want)
	if err != nil {
		return ocispec.Descriptor{}, ref, fmt.Errorf("%s: %w", ref.Raw, err)
	}
	return plainDescriptor(e), atDigest(ref, e.Digest), nil
}

// plainDescriptor is d's media type, digest and size: what a signature
// signs.
func plainDescriptor(d ocispec.Descriptor) ocispec.Descriptor {
	return ocispec.Descriptor{MediaType: d.MediaType, Digest: d.Digest, Size: d.Size}
}

// atDigest is ref's repository at digest d.
func atDigest(ref reference.Reference, d digest.Digest) reference.Reference {
	out := ref
	out.Tag, out.Digest, out.Raw = "", d, ref.WithDigest(d)
	return out
}

// SignRecursiveResult is 'signet sign --recursive --format json'
// (docs/schemas/sign-recursive.json): every object signed, in order (the
// index first), each signature pushed.
type SignRecursiveResult struct {
	Reference       string         `json:"reference"`
	SignatureFormat string         `json:"signatureFormat"`
	Signed          []SignedObject `json:"signed"`
}

// SignedObject is one manifest sign --recursive signed and the signature
// it pushed.
type SignedObject struct {
	// Subject is the signed manifest or index.
	Subject ocispec.Descriptor `json:"subject"`
	// Platform is the manifest's platform in the index (os/arch[/variant];
	// "" for the index itself and entries without one).
	Platform       string             `json:"platform,omitempty"`
	Signature      ocispec.Descriptor `json:"signature"`
	Artifact       ocispec.Descriptor `json:"artifact"`
	ArtifactFormat string             `json:"artifactFormat"`
	Discovery      string             `json:"discovery"`
}

// writeText prints one line per signed object: its digest, its platform
// ("index" for the index) and the signature artifact's digest.
func (r SignRecursiveResult) writeText(w io.Writer) error {
	for _, s := range r.Signed {
		p := s.Platform
		if p == "" {
			p = "index"
			if !manifest.IsIndex(s.Subject.MediaType) {
				p = "-"
			}
		}
		if _, err := fmt.Fprintf(w, "%s  %-14s  %s\n", s.Subject.Digest, p, s.Artifact.Digest); err != nil {
			return err
		}
	}
	return nil
}

// runSignRecursive signs the index ref resolved to (desc, b) and every
// manifest it lists, pushing each signature as push-signature does. A
// single-platform manifest is signed and pushed alone.
func runSignRecursive(cmd *cobra.Command, opts *signOptions, streams IOStreams, ref reference.Reference, client *remote.Client, desc ocispec.Descriptor, b []byte, key crypto.Signer, certs []*x509.Certificate) error {
	type object struct {
		desc     ocispec.Descriptor
		platform string
	}
	objects := []object{{desc: plainDescriptor(desc)}}
	if manifest.IsIndex(desc.MediaType) {
		idx, err := imageindex.Decode(b)
		if err != nil {
			return fmt.Errorf("%s: index %s: %w", ref.Raw, desc.Digest, err)
		}
		for _, e := range idx.Manifests {
			if !manifest.IsManifest(e.MediaType) {
				fmt.Fprintf(streams.Err, "Warning: not signing %s, a %s listed in the index (only image manifests are signed)\n", e.Digest, e.MediaType)
				continue
			}
			objects = append(objects, object{desc: plainDescriptor(e), platform: imageindex.Format(e.Platform)})
		}
	} else {
		fmt.Fprintf(streams.Err, "%s is a single-platform manifest: signing it alone\n", ref.Raw)
	}
	// Every platform manifest must be in the repository before anything
	// is signed or pushed: a signature pushed for a manifest that is not
	// there is a dangling referrer.
	for _, o := range objects[1:] {
		if err := checkSubjectInRegistry(cmd.Context(), streams, client, atDigest(ref, o.desc.Digest), o.desc, false); err != nil {
			return fmt.Errorf("%s lists %s %s: %w", ref.Raw, o.platform, o.desc.Digest, err)
		}
	}
	res := SignRecursiveResult{Reference: ref.Raw, SignatureFormat: opts.Format, Signed: []SignedObject{}}
	for i, o := range objects {
		at := atDigest(ref, o.desc.Digest)
		refs := []string{at.String()}
		if i == 0 {
			refs = []string{ref.String()}
		}
		sig, err := makeSignature(cmd, opts, key, certs, o.desc, refs)
		if err == nil && len(sig) == 0 {
			err = errors.New("signing produced no signature")
		}
		if err != nil {
			return fmt.Errorf("signing %s: %w%s", at.Raw, err, signedSoFar(res))
		}
		pr, err := push.Push(cmd.Context(), client, push.Request{Ref: at, Signature: sig, SignatureFormat: opts.Format, Subject: o.desc, Format: opts.index.ArtifactFormat})
		if err != nil {
			return fmt.Errorf("pushing the signature of %s: %w%s", at.Raw, err, signedSoFar(res))
		}
		what := o.platform
		if i == 0 {
			what = "index"
			if !manifest.IsIndex(o.desc.MediaType) {
				what = "manifest"
			}
		}
		fmt.Fprintf(streams.Err, "Signed %s %s as %s; pushed %s artifact manifest %s (%s)\n", what, o.desc.Digest, opts.Format, pr.Format, pr.Artifact.Digest, pr.Discovery)
		for _, w := range pr.Warnings {
			fmt.Fprintln(streams.Err, "Warning: "+w)
		}
		res.Signed = append(res.Signed, SignedObject{
			Subject: o.desc, Platform: o.platform,
			Signature:      ocispec.Descriptor{MediaType: artifact.BlobMediaType(opts.Format), Digest: digest.FromBytes(sig), Size: int64(len(sig))},
			Artifact:       pr.Artifact,
			ArtifactFormat: pr.Format,
			Discovery:      pr.Discovery,
		})
	}
	return opts.output.print(streams.Out, res)
}

// signedSoFar names what a failed sign --recursive had signed and pushed.
func signedSoFar(r SignRecursiveResult) string {
	if len(r.Signed) == 0 {
		return " (nothing was pushed)"
	}
	var ds []string
	for _, s := range r.Signed {
		ds = append(ds, s.Subject.Digest.String())
	}
	return fmt.Sprintf("; signed and pushed before the failure: %s", strings.Join(ds, ", "))
}
