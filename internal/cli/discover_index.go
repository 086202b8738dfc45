package cli

import (
	"fmt"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/spf13/cobra"

	"github.com/signet-oci/signet/pkg/discover"
	"github.com/signet-oci/signet/pkg/imageindex"
	"github.com/signet-oci/signet/pkg/manifest"
	"github.com/signet-oci/signet/pkg/reference"
)

// DiscoverManifest is one manifest of an image index in DiscoverResult
// (the descriptor as the index lists it, with its platform) and its
// referrers.
type DiscoverManifest struct {
	ocispec.Descriptor
	Referrers []DiscoverReferrer `json:"referrers"`
}

// parsePlatformFlag parses --platform ("" is none).
func parsePlatformFlag(s string) (*ocispec.Platform, error) {
	if s == "" {
		return nil, nil
	}
	p, err := imageindex.ParsePlatform(s)
	if err != nil {
		return nil, fmt.Errorf("--platform: %w", err)
	}
	return &p, nil
}

// addIndexManifests adds, when the subject is an image index, the
// manifests it lists and their referrers (nothing, and no request, for any
// other subject).
func addIndexManifests(cmd *cobra.Command, d *discover.Discoverer, g *discover.Graph, res *DiscoverResult) error {
	if !manifest.IsIndex(g.Subject.MediaType) {
		return nil
	}
	ms, cut, err := d.DiscoverManifests(cmd.Context(), g.Subject)
	if err != nil {
		return err
	}
	if cut {
		res.Truncated = true
		g.Warnings = append(g.Warnings, fmt.Sprintf("the index lists more than %d manifests; only the first %d are shown", discover.MaxIndexManifests, discover.MaxIndexManifests))
	}
	for _, m := range ms {
		res.Manifests = append(res.Manifests, DiscoverManifest{Descriptor: m.Descriptor, Referrers: discoverReferrers(m.Graph.Referrers)})
		res.Truncated = res.Truncated || m.Graph.Truncated
		g.Warnings = append(g.Warnings, m.Graph.Warnings...)
		for k, v := range m.Graph.Mechanisms {
			if res.Mechanisms[k] != "used" && v != "" {
				res.Mechanisms[k] = v
			}
		}
	}
	return nil
}

// runDiscoverPlatform lists the referrers of the index's manifest for p.
func runDiscoverPlatform(cmd *cobra.Command, opts *discoverOptions, streams IOStreams, ref reference.Reference, d *discover.Discoverer, p ocispec.Platform) error {
	index, entry, err := d.SelectPlatform(cmd.Context(), p)
	if err != nil {
		return err
	}
	warnTag(streams, ref, index.Digest)
	g, err := d.DiscoverSubject(cmd.Context(), plainDescriptor(entry))
	if err != nil {
		return err
	}
	for _, w := range g.Warnings {
		fmt.Fprintln(streams.Err, "Warning: "+w)
	}
	fmt.Fprintf(streams.Err, "%s manifest %s of index %s\n", imageindex.Format(entry.Platform), entry.Digest, ref.WithDigest(index.Digest))
	res := newDiscoverResult(g)
	res.Index, res.Platform = &index, imageindex.Format(&p)
	res.repo = placeName(ref)
	return opts.output.print(streams.Out, res)
}

// manifestLabel names an index entry in the tree and table: its platform,
// or its media type when it has none.
func manifestLabel(d ocispec.Descriptor) string {
	if p := imageindex.Format(d.Platform); p != "" {
		return p
	}
	return d.MediaType
}
