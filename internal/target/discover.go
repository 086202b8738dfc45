package target

import (
	"context"
	"errors"
	"fmt"

	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/content/oci"

	"github.com/signet-oci/signet/pkg/discover"
	"github.com/signet-oci/signet/pkg/errdef"
	"github.com/signet-oci/signet/pkg/reference"
	"github.com/signet-oci/signet/pkg/remote"
)

// LayoutSource opens the OCI image layout ref names, read only, as the
// place discovery and verification read from (oras-go's oci.ReadOnlyStore:
// it resolves the layout's tags and answers Predecessors). Nothing in the
// layout is written. The layout may come from anyone: it is read through
// layoutFS, which bounds what opening it may read (MaxLayoutIndexSize,
// manifest.MaxManifestSize per file, MaxLayoutFiles, MaxLayoutBytes) and
// refuses non-regular files and symbolic links leading out of it.
func LayoutSource(ctx context.Context, ref reference.Reference) (discover.Source, error) {
	if err := CheckLayout(ref.Path); err != nil {
		return nil, err
	}
	lfs, err := openLayoutFS(ref.Path)
	if err != nil {
		return nil, fmt.Errorf("reading the OCI layout %s: %w", ref.Path, err)
	}
	s, err := oci.NewFromFS(ctx, lfs)
	lfs.indexed()
	if err != nil && lfs.refusal != nil {
		// oras-go wraps it ("invalid OCI Image Index: …"): the refusal
		// alone says what and where.
		return nil, lfs.refusal
	}
	if errors.Is(err, content.ErrMismatchedDigest) || errors.Is(err, content.ErrTrailingData) {
		// oras-go reads every manifest index.json lists (and what they
		// list) when it opens a layout: one changed on disk makes the
		// whole layout unreadable, as for oras and notation.
		return nil, fmt.Errorf("the OCI layout %s is damaged: a manifest it holds does not match its digest (changed or damaged on disk); copy the layout again from its source", ref.Path)
	}
	if err != nil {
		return nil, fmt.Errorf("reading the OCI layout %s: %w", ref.Path, err)
	}
	return s, nil
}

// Discoverer opens ref for discover, pull-signature and verify, whatever
// holds it: a registry reference is discovered through every mechanism a
// registry may have (discover.New: links API, referrers API, tag
// fallback), an OCI layout through its store (discover.NewSource). A
// docker archive or a file holds no referrers: a usage error naming what
// to use. what is the command's name, for that message.
func Discoverer(ctx context.Context, what string, ref reference.Reference, client *remote.Client, opts discover.Options) (*discover.Discoverer, error) {
	switch ref.Kind {
	case reference.Registry:
		return discover.New(client, ref, opts)
	case reference.OCILayout:
		src, err := LayoutSource(ctx, ref)
		if err != nil {
			return nil, err
		}
		return discover.NewSource(src, ref, opts)
	}
	return nil, errdef.Usage(fmt.Errorf("%s needs a registry reference or oci-layout:DIR[:tag|@digest], not %s (a %s holds no signatures; copy it to a registry or an OCI layout first)", what, ref.Raw, ref.Kind))
}
