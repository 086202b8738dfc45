package verify

import (
	"context"
	"errors"
	"fmt"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/signet-oci/signet/pkg/errdef"
	"github.com/signet-oci/signet/pkg/imageindex"
	"github.com/signet-oci/signet/pkg/manifest"
	"github.com/signet-oci/signet/pkg/reference"
	"github.com/signet-oci/signet/pkg/remote"
)

// ViaIndex, in a Report, says that the signatures reported are signatures
// on an image index, not on the subject: the index lists the subject (an
// entry with its digest, size and media type) and the user asked to accept
// such signatures (IndexOptions.AcceptIndex). A valid one covers the index.
type ViaIndex struct {
	// Index is the signed index's descriptor: what the valid signatures
	// cover.
	Index ocispec.Descriptor `json:"index"`
	// Reference is repository@index-digest.
	Reference string `json:"reference"`
	// Platform is the subject's platform as the index lists it
	// (os/arch[/variant]; "" when the entry names none).
	Platform string `json:"platform,omitempty"`
}

// IndexOptions for Indexed.
type IndexOptions struct {
	Options
	// Platform selects the subject in the index. When nil, Manifest names
	// the subject, which the index must list.
	Platform *ocispec.Platform
	// Manifest is the subject's reference (repository@digest) when
	// Platform is nil.
	Manifest reference.Reference
	// AcceptIndex accepts a valid signature on the index for the subject
	// it lists, when the subject has no valid signature of its own; the
	// report then says so (Report.ViaIndex). Without it, signatures on the
	// index are only named in the error.
	AcceptIndex bool
	// IndexResolved, when set, is called with the index's descriptor once
	// the index reference is resolved (the CLI warns about a tag with it).
	IndexResolved func(ocispec.Descriptor)
}

// Indexed verifies a platform manifest of the image index ref names: the
// one for opts.Platform, or opts.Manifest, which the index must list. The
// index is read bounded and digest-verified (imageindex.Read), and the
// subject must match the index's entry exactly (digest, size, media type).
//
// The subject's own signatures are verified first; a valid one verifies
// it. Otherwise the index's signatures are verified: with AcceptIndex, a
// valid one verifies the subject, and the report's ViaIndex names the
// index; without it, the error (the class of the subject's own outcome,
// errdef.ErrNotFound or errdef.ErrVerification) names the index and how
// many of its signatures are valid.
func Indexed(ctx context.Context, client *remote.Client, ref reference.Reference, opts IndexOptions) (*Report, error) {
	repo, err := client.Repository(ref)
	if err != nil {
		return nil, err
	}
	idxDesc, err := reference.Resolve(ctx, repo, ref)
	if err != nil {
		return nil, err
	}
	if opts.IndexResolved != nil {
		opts.IndexResolved(idxDesc)
	}
	if !manifest.IsIndex(idxDesc.MediaType) {
		return nil, errdef.Usage(fmt.Errorf("%s is a single-platform manifest (%s), not an image index: drop --platform/--index", ref.Raw, idxDesc.MediaType))
	}
	idx, _, err := imageindex.Read(ctx, repo, idxDesc)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ref.Raw, err)
	}
	idxRef := ref
	idxRef.Tag, idxRef.Digest, idxRef.Raw = "", idxDesc.Digest, ref.WithDigest(idxDesc.Digest)

	var entry ocispec.Descriptor
	var subjRef reference.Reference
	if opts.Platform != nil {
		if entry, err = imageindex.Select(idx, *opts.Platform); err != nil {
			return nil, fmt.Errorf("%s: %w", ref.Raw, err)
		}
		subjRef = ref
		subjRef.Tag, subjRef.Digest, subjRef.Raw = "", entry.Digest, ref.WithDigest(entry.Digest)
	} else {
		subjRef = opts.Manifest
		mrepo, err := client.Repository(subjRef)
		if err != nil {
			return nil, err
		}
		mdesc, err := reference.Resolve(ctx, mrepo, subjRef)
		if err != nil {
			return nil, err
		}
		var ok bool
		if entry, ok = imageindex.Lists(idx, mdesc); !ok {
			return nil, errdef.NotFound(fmt.Errorf("the index %s does not list %s (%s, %d bytes); its platforms: %v", idxRef.Raw, subjRef.Raw, mdesc.MediaType, mdesc.Size, imageindex.Platforms(idx)))
		}
		subjRef.Tag, subjRef.Digest, subjRef.Raw = "", mdesc.Digest, subjRef.WithDigest(mdesc.Digest)
	}
	platform := imageindex.Format(entry.Platform)
	what := "a manifest the index lists"
	if platform != "" {
		what = "the index's " + platform + " manifest"
	}

	rep, err := Remote(ctx, client, subjRef, opts.Options)
	if rep == nil {
		return nil, err
	}
	if rep.Subject.Digest != entry.Digest || rep.Subject.Size != entry.Size || rep.Subject.MediaType != entry.MediaType {
		return nil, fmt.Errorf("%s: the registry describes %s as %s, %d bytes, but the index lists %s, %d bytes", subjRef.Raw, entry.Digest, rep.Subject.MediaType, rep.Subject.Size, entry.MediaType, entry.Size)
	}
	if err == nil || !(errors.Is(err, errdef.ErrNotFound) || errors.Is(err, errdef.ErrVerification)) {
		return rep, err
	}
	own := err

	// The index's signatures would vouch for subjRef: the trust policy
	// statement that decides is subjRef's repository's, as for its own
	// signatures, also when the index is in another repository.
	iopts := opts.Options
	if iopts.Scope == "" {
		iopts.Scope = subjRef.Repo()
	}
	irep, ierr := Remote(ctx, client, idxRef, iopts)
	if irep == nil {
		return rep, fmt.Errorf("%w; the index %s listing it could not be checked: %v", own, idxRef.Raw, ierr)
	}
	if !opts.AcceptIndex {
		switch {
		case irep.Verified:
			return rep, wrapLike(own, fmt.Errorf("%s (%s); the index %s that lists it has %d valid signature(s) of %d: add --via-index to accept a signature on the index for the manifests it lists", own, what, idxRef.Raw, irep.Valid, len(irep.Signatures)))
		case len(irep.Signatures) > 0:
			return rep, wrapLike(own, fmt.Errorf("%s (%s); the index %s that lists it has %d signature(s), none valid", own, what, idxRef.Raw, len(irep.Signatures)))
		}
		return rep, wrapLike(own, fmt.Errorf("%s (%s); the index %s that lists it is not signed either", own, what, idxRef.Raw))
	}
	out := &Report{
		Reference:  rep.Reference,
		Subject:    rep.Subject,
		Verified:   irep.Verified,
		Valid:      irep.Valid,
		Signatures: irep.Signatures,
		Warnings:   append(rep.Warnings, irep.Warnings...),
		ViaIndex:   &ViaIndex{Index: idxDesc, Reference: idxRef.Raw, Platform: platform},
	}
	if !irep.Verified {
		// Signatures found anywhere, none valid: a verification failure.
		msg := fmt.Errorf("%s (%s), and the index %s that lists it has no valid signature either: %v", own, what, idxRef.Raw, ierr)
		if len(rep.Signatures) > 0 {
			return rep, errdef.Verification(msg)
		}
		if len(irep.Signatures) > 0 {
			return out, errdef.Verification(msg)
		}
		return out, errdef.NotFound(msg)
	}
	if n := len(rep.Signatures); n > 0 {
		out.Warnings = append(out.Warnings, fmt.Sprintf("%s has %d signature(s) of its own, none valid; accepted through the index's signature (--via-index)", subjRef.Raw, n))
	}
	return out, nil
}

// wrapLike gives msg the error class of like (not found or verification).
func wrapLike(like, msg error) error {
	if errors.Is(like, errdef.ErrVerification) {
		return errdef.Verification(msg)
	}
	return errdef.NotFound(msg)
}
