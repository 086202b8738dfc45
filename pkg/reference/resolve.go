package reference

import (
	"context"
	"errors"
	"fmt"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"
	orasErrdef "oras.land/oras-go/v2/errdef"

	"github.com/signet-oci/signet/pkg/errdef"
)

// Resolve resolves ref's tag or digest in t (a target opened from ref),
// with the errors every signet command gives: a registry reference without
// a tag or digest is a usage error (errdef.ErrUsage), an unknown one is
// errdef.ErrNotFound with a hint that fits the kind of reference, and any
// other failure is returned wrapped with the reference.
func Resolve(ctx context.Context, t content.Resolver, ref Reference) (ocispec.Descriptor, error) {
	sel := ref.Selector()
	if sel == "" && (ref.Kind == Registry || ref.Kind == OCILayout) {
		return ocispec.Descriptor{}, errdef.Usage(fmt.Errorf("%s names no tag or digest; add :TAG or @sha256:…", ref.Raw))
	}
	desc, err := t.Resolve(ctx, sel)
	switch {
	case err == nil:
		return desc, nil
	case errors.Is(err, orasErrdef.ErrNotFound) && ref.Kind == Registry:
		return ocispec.Descriptor{}, errdef.NotFound(fmt.Errorf("%s: not found (check the repository and tag, or push the image first with 'signet copy')", ref.Raw))
	case errors.Is(err, orasErrdef.ErrNotFound):
		return ocispec.Descriptor{}, errdef.NotFound(fmt.Errorf("%s: not found (check the path and tag)", ref.Raw))
	}
	return ocispec.Descriptor{}, fmt.Errorf("resolving %s: %w", ref.Raw, err)
}
