package cli

import (
	"context"
	"fmt"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"

	"github.com/signet-oci/signet/internal/push"
	"github.com/signet-oci/signet/internal/target"
	"github.com/signet-oci/signet/pkg/errdef"
	"github.com/signet-oci/signet/pkg/reference"
)

// placeName is where ref's image is, for the first line of discover's
// tree and verify's report: host/repo for a registry reference,
// oci-layout:DIR for a layout.
func placeName(ref reference.Reference) string {
	if ref.Kind == reference.OCILayout {
		return "oci-layout:" + ref.Path
	}
	return ref.Repo()
}

// pushToLayout is push-signature into an OCI layout: the signature and an
// OCI 1.1 artifact manifest with subject, stored in the layout
// (internal/push.Layout), after the checks push-signature makes on a
// registry (the layout has the signed manifest; a tag names it).
func pushToLayout(ctx context.Context, opts *pushOptions, streams IOStreams, req push.Request, force bool) error {
	ref := req.Ref
	if err := target.CheckLayout(ref.Path); err != nil {
		return err
	}
	if req.Format == push.FormatPrototype {
		return errdef.Usage(push.ErrPrototypeInLayout)
	}
	store, err := push.OpenLayout(ctx, ref.Path)
	if err != nil {
		return err
	}
	if err := checkSubjectInLayout(ctx, streams, store, ref, req.Subject, force); err != nil {
		return err
	}
	res, err := push.Layout(ctx, store, req)
	if err != nil {
		return err
	}
	stored := "written into the layout"
	if !res.SignatureUploaded {
		stored = "already in the layout"
	}
	fmt.Fprintf(streams.Err, "Signature blob %s %s\n", res.Signature.Digest, stored)
	fmt.Fprintf(streams.Err, "Stored %s artifact manifest %s for %s in oci-layout:%s, found through its subject (OCI 1.1 referrers)\n", res.Format, res.Artifact.Digest, res.Subject.Digest, ref.Path)
	for _, w := range res.Warnings {
		fmt.Fprintln(streams.Err, "Note: "+w)
	}
	return opts.output.print(streams.Out, PushResult(*res))
}

// checkSubjectInLayout is checkSubjectInRegistry for an OCI layout: the
// signed manifest must be in the layout, and ref's tag or digest must name
// it.
func checkSubjectInLayout(ctx context.Context, streams IOStreams, store interface {
	content.ReadOnlyStorage
	content.Resolver
}, ref reference.Reference, subject ocispec.Descriptor, force bool) error {
	if force {
		fmt.Fprintf(streams.Err, "Warning: --force: not checking that oci-layout:%s has %s\n", ref.Path, subject.Digest)
		return nil
	}
	if ref.Digest != "" && ref.Digest != subject.Digest {
		return errdef.Verification(fmt.Errorf("%s names %s, but the signature signs %s (pass --force to use it anyway)", ref.Raw, ref.Digest, subject.Digest))
	}
	if ref.Tag != "" && ref.Digest == "" {
		desc, err := reference.Resolve(ctx, store, ref)
		if err != nil {
			return err
		}
		if d := sameSubject(subject, desc); d != "" {
			return errdef.Verification(fmt.Errorf("the signature does not sign %s: %s (pass --force to use it anyway)", ref.Raw, d))
		}
		return nil
	}
	ok, err := store.Exists(ctx, subject)
	if err != nil {
		return err
	}
	if !ok {
		return errdef.NotFound(fmt.Errorf("the signed manifest %s is not in the OCI layout %s; copy the image there first (signet copy IMAGE oci-layout:%s:TAG)", subject.Digest, ref.Path, ref.Path))
	}
	return nil
}
