package target

import (
	"context"
	"fmt"

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
	return openLayout(ctx, ref.Path, true)
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
