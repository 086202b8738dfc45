package discover

import (
	"context"
	"fmt"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/signet-oci/signet/pkg/errdef"
	"github.com/signet-oci/signet/pkg/imageindex"
	"github.com/signet-oci/signet/pkg/manifest"
)

// MaxIndexManifests bounds the manifests of one index whose referrers
// DiscoverManifests lists (each costs a discovery of its own).
const MaxIndexManifests = 64

// ManifestGraph is one manifest an image index lists, as the index lists
// it (with its platform), and its referrers graph.
type ManifestGraph struct {
	// Descriptor is the index's entry for the manifest (with its platform).
	Descriptor ocispec.Descriptor
	// Graph is the manifest's referrers graph.
	Graph *Graph
}

// Index reads the index subject describes (bounded and digest-verified,
// imageindex.Read) from the discovery's repository.
func (d *Discoverer) Index(ctx context.Context, subject ocispec.Descriptor) (*ocispec.Index, error) {
	idx, _, err := imageindex.Read(ctx, d.manifests(), subject)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", d.ref.Raw, err)
	}
	return idx, nil
}

// SelectPlatform resolves the subject, which must be an image index, and
// returns it and its manifest for platform p (imageindex.Select: not
// found lists the index's platforms).
func (d *Discoverer) SelectPlatform(ctx context.Context, p ocispec.Platform) (index, entry ocispec.Descriptor, err error) {
	index, err = d.Resolve(ctx)
	if err != nil {
		return index, entry, err
	}
	if !manifest.IsIndex(index.MediaType) {
		return index, entry, errdef.Usage(fmt.Errorf("--platform: %s is a single-platform manifest (%s), not an image index: drop --platform", d.ref.Raw, index.MediaType))
	}
	idx, err := d.Index(ctx, index)
	if err != nil {
		return index, entry, err
	}
	entry, err = imageindex.Select(idx, p)
	if err != nil {
		return index, entry, fmt.Errorf("%s: %w", d.ref.Raw, err)
	}
	return index, entry, nil
}

// DiscoverManifests builds the referrers graph of every manifest the index
// subject lists (at most MaxIndexManifests; the second result is true when
// the index lists more), in the index's order. Nested indexes are listed
// without their own manifests.
func (d *Discoverer) DiscoverManifests(ctx context.Context, subject ocispec.Descriptor) ([]ManifestGraph, bool, error) {
	idx, err := d.Index(ctx, subject)
	if err != nil {
		return nil, false, err
	}
	entries := idx.Manifests
	cut := false
	if len(entries) > MaxIndexManifests {
		entries, cut = entries[:MaxIndexManifests], true
	}
	out := make([]ManifestGraph, 0, len(entries))
	for _, e := range entries {
		g, err := d.DiscoverSubject(ctx, ocispec.Descriptor{MediaType: e.MediaType, Digest: e.Digest, Size: e.Size})
		if err != nil {
			return nil, false, fmt.Errorf("referrers of %s (listed by the index): %w", e.Digest, err)
		}
		out = append(out, ManifestGraph{Descriptor: e, Graph: g})
	}
	return out, cut, nil
}
