package discover

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"

	"github.com/signet-oci/signet/pkg/artifact"
	"github.com/signet-oci/signet/pkg/errdef"
	"github.com/signet-oci/signet/pkg/manifest"
	"github.com/signet-oci/signet/pkg/reference"
)

// Source is a place that holds images and knows their referrers: it
// resolves tags, fetches manifests and blobs, and answers Predecessors.
// oras-go's registry repository (remote.Repository), its OCI image layout
// store (oci.Store, oci.ReadOnlyStore) and its memory store all satisfy it.
//
// New discovers in a registry through every mechanism a registry may have
// (links API, referrers API, tag fallback), with signet's request budget;
// NewSource discovers in any Source through Predecessors: an OCI layout has
// no API, the subject field of each manifest stored there is what makes it
// a referrer. Both give the same Discoverer: Discover, Signatures and the
// graph's shapes are the same.
type Source interface {
	content.ReadOnlyGraphStorage
	content.Resolver
}

// MaxPredecessorsExamined bounds the manifests a discovery in a Source
// reads per subject: every predecessor of a subject (an index listing it, a
// referrer) is read to learn its subject and artifact type.
const MaxPredecessorsExamined = 2 * DefaultMaxReferrers

// NewSource prepares a discovery in src (an OCI layout, say) of the subject
// ref names (its tag or digest; ref.Raw is how it is shown). Referrers are
// the manifests in src whose subject is the subject, found through
// src.Predecessors, reported under the Referrers mechanism; the links API
// and the tag fallback do not apply. The bounds of opts apply as for a
// registry, except the per-level request budget (a Source answers locally).
func NewSource(src Source, ref reference.Reference, opts Options) (*Discoverer, error) {
	if src == nil {
		return nil, fmt.Errorf("%s: no source to discover in", ref.Raw)
	}
	opts, err := normalize(opts)
	if err != nil {
		return nil, err
	}
	opts.LevelBudget = 0 // no requests: every level is followed up to Depth
	d := &Discoverer{ref: ref, opts: opts, src: src}
	d.linksState.set(unsupported)
	d.apiState.set(supported)
	return d, nil
}

// normalize applies the defaults and checks the bounds of opts.
func normalize(opts Options) (Options, error) {
	if opts.Depth > DefaultMaxDepth {
		return opts, errdef.Usage(fmt.Errorf("--depth %d is over the maximum of %d", opts.Depth, DefaultMaxDepth))
	}
	if opts.Depth <= 0 {
		opts.Depth = DefaultMaxDepth
		if opts.LevelBudget <= 0 {
			opts.LevelBudget = DefaultLevelBudget
		}
	} else {
		opts.LevelBudget = 0
	}
	if opts.MaxReferrers <= 0 {
		opts.MaxReferrers = DefaultMaxReferrers
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = DefaultConcurrency
	}
	return opts, nil
}

// sourceSubject is the subject desc resolved in src, as a registry
// describes it: a layout's index entry carries its tag as an annotation
// (dropped), and a manifest that index.json does not list (a platform
// manifest of a listed index) resolves by digest as a plain blob, of media
// type application/octet-stream: its media type is then read from its
// bytes (size-bounded, digest-checked). Referrers are recorded under the
// manifest's own media type.
func sourceSubject(ctx context.Context, src Source, desc ocispec.Descriptor) (ocispec.Descriptor, error) {
	desc = ocispec.Descriptor{MediaType: desc.MediaType, Digest: desc.Digest, Size: desc.Size}
	if desc.MediaType != "application/octet-stream" && desc.MediaType != "" {
		return desc, nil
	}
	b, err := manifest.Fetch(ctx, src, desc)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	if desc.MediaType, err = manifest.MediaTypeOf(b); err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("%s: %w", desc.Digest, err)
	}
	return desc, nil
}

// resolver is where the subject's tag or digest is resolved.
func (d *Discoverer) resolver() content.Resolver {
	if d.src != nil {
		return d.src
	}
	return d.apiRepo
}

// manifests and blobs are where artifact manifests and signature blobs are
// fetched from.
func (d *Discoverer) manifests() content.Fetcher {
	if d.src != nil {
		return d.src
	}
	return d.apiRepo.Manifests()
}

func (d *Discoverer) blobs() content.Fetcher {
	if d.src != nil {
		return d.src
	}
	return d.apiRepo.Blobs()
}

// referrerFields are the parts of a manifest, index or prototype artifact
// that make it a referrer and describe it.
type referrerFields struct {
	ArtifactType string              `json:"artifactType"`
	Config       *ocispec.Descriptor `json:"config"`
	Subject      *ocispec.Descriptor `json:"subject"`
	Annotations  map[string]string   `json:"annotations"`
}

// sourceReferrers lists the referrers of subject in d.src: the
// predecessors that are manifests (image manifest, index, artifact
// manifest) naming subject as their subject, each read with its size
// bounded and its digest checked, described as the referrers API describes
// them (artifactType, falling back to an image manifest's config media
// type; annotations). At most MaxPredecessorsExamined are read; the listing
// stops, as a registry's does, once lim is reached.
func (d *Discoverer) sourceReferrers(ctx context.Context, subject ocispec.Descriptor, lim listing) ([]*Node, bool, error) {
	preds, err := d.src.Predecessors(ctx, subject)
	if err != nil {
		return nil, false, err
	}
	sort.Slice(preds, func(i, j int) bool { return preds[i].Digest < preds[j].Digest })
	var nodes []*Node
	kept, examined := 0, 0
	for _, p := range preds {
		if !manifest.IsManifest(p.MediaType) && !manifest.IsIndex(p.MediaType) && p.MediaType != artifact.MediaTypeArtifactManifest {
			continue // a layer or config: not a referrer
		}
		if p.Digest == subject.Digest || !manifest.ValidDigest(p.Digest) {
			continue
		}
		if examined == MaxPredecessorsExamined {
			d.truncated.mark()
			d.warn(fmt.Sprintf("%s has more than %d manifests pointing at it; only the first %d were examined", subject.Digest, MaxPredecessorsExamined, MaxPredecessorsExamined))
			break
		}
		examined++
		b, err := manifest.Fetch(ctx, d.src, p)
		if err != nil {
			return nil, false, fmt.Errorf("reading %s: %w", p.Digest, err)
		}
		var f referrerFields
		if err := json.Unmarshal(b, &f); err != nil {
			d.warn(fmt.Sprintf("%s is not a readable manifest; ignored", p.Digest))
			continue
		}
		if f.Subject == nil || f.Subject.Digest != subject.Digest {
			continue // an index listing the subject, not a referrer
		}
		at := f.ArtifactType
		if at == "" && f.Config != nil && p.MediaType == ocispec.MediaTypeImageManifest {
			at = f.Config.MediaType
		}
		if d.opts.ArtifactType != "" && at != d.opts.ArtifactType {
			continue
		}
		n := &Node{
			Descriptor:     ocispec.Descriptor{MediaType: p.MediaType, Digest: p.Digest, Size: p.Size, ArtifactType: at, Annotations: f.Annotations},
			DigestVerified: true,
			Mechanisms:     []string{Referrers},
		}
		if lim.signatures && !maybeSignature(n) {
			continue
		}
		nodes = append(nodes, n)
		if lim.keep == nil || lim.keep(n) {
			kept++
		}
		if kept > lim.max || len(nodes) > d.opts.MaxReferrers {
			return nodes, true, nil
		}
	}
	return nodes, false, nil
}

// sourceLevel is level for a Source: its referrers, under the Referrers
// mechanism.
func (d *Discoverer) sourceLevel(ctx context.Context, subject ocispec.Descriptor, mech map[string]string, lim listing) ([]*Node, bool, error) {
	nodes, cut, err := d.sourceReferrers(ctx, subject, lim)
	if err != nil {
		return nil, false, fmt.Errorf("listing referrers of %s: %w", subject.Digest, err)
	}
	if mech != nil {
		mech[Links], mech[Referrers], mech[TagFallback] = "unsupported", "used", "not needed"
	}
	return d.merge(nodes), cut, nil
}
