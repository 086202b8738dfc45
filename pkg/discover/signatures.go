package discover

import (
	"context"
	"errors"
	"fmt"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"
	"oras.land/oras-go/v2/content"

	"github.com/signet-oci/signet/pkg/artifact"
	"github.com/signet-oci/signet/pkg/errdef"
	"github.com/signet-oci/signet/pkg/manifest"
	"github.com/signet-oci/signet/pkg/signature"
)

// Bounds for fetching signatures.
const (
	DefaultMaxSignatures = 100                       // as notation: at most 100 signatures examined per subject
	MaxSignatureSize     = signature.MaxEnvelopeSize // an envelope over 1 MiB is refused unread
)

// Found is one signature artifact of a subject, with its envelope fetched
// and digest-verified, or with the reason it could not be.
type Found struct {
	// Artifact is the artifact manifest's descriptor.
	Artifact ocispec.Descriptor
	// DigestVerified is false for a links entry whose digest was computed.
	DigestVerified bool
	// Mechanisms that listed it.
	Mechanisms []string
	// Signature describes the envelope (Kind, Format, Blob, Subjects).
	Signature *artifact.Signature
	// Envelope is the signature blob's bytes (nil when Err is set).
	Envelope []byte
	// Err says why this artifact could not be fetched or is not usable.
	Err error
}

// ErrNotForSubject marks an artifact listed as a referrer of a subject
// that does not name that subject. Signatures leaves such artifacts out,
// with a warning.
var ErrNotForSubject = errors.New("not a referrer of this subject")

// SignatureOptions bound Signatures.
type SignatureOptions struct {
	// MaxSignatures bounds how many signature artifacts are examined (0: default).
	MaxSignatures int
	// Formats, when set, keeps only these envelope formats (jwt, jws, cose).
	Formats map[string]bool
}

// Signatures lists the subject's signature artifacts through every
// mechanism and fetches each envelope. Nothing is taken on trust: each
// artifact manifest found through the referrers API or the tag fallback is
// fetched (digest-checked) and must name the subject; each envelope is
// fetched with its size bounded and its digest checked. Artifacts that are
// not signatures are skipped. It returns errdef.ErrNotFound (wrapped) when
// there is no signature at all.
func (d *Discoverer) Signatures(ctx context.Context, subject ocispec.Descriptor, opts SignatureOptions) ([]*Found, []string, error) {
	if opts.MaxSignatures <= 0 {
		opts.MaxSignatures = DefaultMaxSignatures
	}
	// Each mechanism's listing stops (no further pages) once it has more
	// signature candidates than will be examined: memory and requests stay
	// bounded by --max-signatures, not by the number of referrers.
	nodes, cut, err := d.level(ctx, subject, nil, listing{keep: maybeSignature, max: opts.MaxSignatures, signatures: true})
	if err != nil {
		return nil, nil, err
	}
	var candidates []*Node
	for _, n := range nodes {
		if !maybeSignature(n) {
			continue // an SBOM or another artifact: not a signature
		}
		candidates = append(candidates, n)
	}
	var warnings []string
	if len(candidates) > opts.MaxSignatures {
		count := fmt.Sprint(len(candidates))
		if cut {
			// The listing stopped at the first candidate over the bound.
			count = fmt.Sprint("more than ", opts.MaxSignatures)
		}
		warnings = append(warnings, fmt.Sprintf("%s signature artifacts found; examining the first %d (raise --max-signatures)", count, opts.MaxSignatures))
		candidates = candidates[:opts.MaxSignatures]
	}
	found := make([]*Found, len(candidates))
	eg, ectx := errgroup.WithContext(ctx)
	eg.SetLimit(d.opts.Concurrency)
	for i, n := range candidates {
		f := &Found{Artifact: n.Descriptor, DigestVerified: n.DigestVerified, Mechanisms: n.Mechanisms}
		found[i] = f
		eg.Go(func() error {
			f.Signature, f.Envelope, f.Err = d.fetchSignature(ectx, subject, n)
			return ectx.Err()
		})
	}
	if err := eg.Wait(); err != nil {
		return nil, nil, err
	}
	var out []*Found
	for _, f := range found {
		if errors.Is(f.Err, artifact.ErrNotSignature) {
			continue
		}
		if errors.Is(f.Err, ErrNotForSubject) {
			// Listed under this subject (a hostile or stale referrers tag
			// or index) but not naming it: not a signature of it.
			warnings = append(warnings, f.Err.Error()+"; ignored")
			continue
		}
		if f.Signature != nil && opts.Formats != nil && !opts.Formats[f.Signature.Format] {
			continue
		}
		out = append(out, f)
	}
	warnings = append(warnings, d.takeWarnings()...)
	if len(out) == 0 {
		return nil, warnings, errdef.NotFound(fmt.Errorf("no signature found for %s", d.ref.WithDigest(subject.Digest)))
	}
	return out, warnings, nil
}

// maybeSignature reports whether a listed referrer may be a signature: a
// links entry, an artifact without a type, or a Notary signature type.
func maybeSignature(n *Node) bool {
	return n.Config != nil || n.ArtifactType == "" || n.ArtifactType == artifact.ArtifactTypeNotaryV2 || n.ArtifactType == artifact.ArtifactTypeNotation
}

func (d *Discoverer) fetchSignature(ctx context.Context, subject ocispec.Descriptor, n *Node) (*artifact.Signature, []byte, error) {
	var sig *artifact.Signature
	if n.Config != nil {
		// A links entry is the artifact manifest itself (compacted).
		s, err := artifact.Parse(artifact.MediaTypeArtifactManifest, n.Manifest)
		if err != nil {
			return nil, nil, err
		}
		sig = s
	} else {
		b, err := manifest.Fetch(ctx, d.manifests(), n.Descriptor)
		if err != nil {
			return nil, nil, fmt.Errorf("fetching artifact manifest %s: %w", n.Digest, err)
		}
		s, err := artifact.Parse(n.MediaType, b)
		if err != nil {
			return nil, nil, err
		}
		sig = s
	}
	if !sig.Names(subject.Digest) {
		return sig, nil, fmt.Errorf("artifact %s does not point at %s (listed by %v): %w", n.Digest, subject.Digest, n.Mechanisms, ErrNotForSubject)
	}
	if sig.Blob.Size > MaxSignatureSize {
		return sig, nil, fmt.Errorf("signature blob %s is %d bytes, over the %d-byte limit; refused unread", sig.Blob.Digest, sig.Blob.Size, MaxSignatureSize)
	}
	env, err := content.FetchAll(ctx, d.blobs(), sig.Blob)
	if err != nil {
		return sig, nil, fmt.Errorf("fetching signature blob %s: %w", sig.Blob.Digest, err)
	}
	return sig, env, nil
}
