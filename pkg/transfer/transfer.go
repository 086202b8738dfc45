// Package transfer copies an image together with its referrers graph
// (signatures, SBOMs, attestations, and their own referrers) from one
// registry or OCI layout to another: what `signet copy -r` does.
//
// The source's graph is found as signet's discovery finds it (pkg/discover:
// the prototype links API, the OCI 1.1 referrers API and the sha256-<hex>
// tag fallback, merged by digest, bounded in depth and count) for a
// registry, and from the layout's own index (oci.Store's predecessors) for
// an OCI layout. Every manifest and blob is copied with oras-go's
// CopyGraph (existence checks first, concurrency, cross-repository mounts),
// so a second run of the same copy sends existence checks only.
//
// At a registry destination each referrer manifest is PUT by signet's own
// manifest push (remote.Client.PushManifest, never oras-go's, which would
// rewrite the tag fallback index unsafely); when the registry does not say
// it processed the manifest's subject (no OCI-Subject header), the
// subject's sha256-<hex> index is updated once per subject through
// remote.Client.UpdateReferrersIndex, the one safe writer. A prototype
// artifact (the 2021 links-API artifact manifest) stays one where the
// destination serves the links API; elsewhere it becomes an OCI 1.1
// artifact manifest with a subject carrying the same JWT (which signs the
// subject manifest, not the artifact, so it still verifies), and the
// conversion is reported.
package transfer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content"
	orasErrdef "oras.land/oras-go/v2/errdef"
	orasremote "oras.land/oras-go/v2/registry/remote"

	"github.com/signet-oci/signet/pkg/artifact"
	"github.com/signet-oci/signet/pkg/discover"
	"github.com/signet-oci/signet/pkg/manifest"
	"github.com/signet-oci/signet/pkg/reference"
	"github.com/signet-oci/signet/pkg/remote"
)

// How a copied referrer is found at the destination.
const (
	DiscoveryLinks       = discover.Links
	DiscoveryReferrers   = discover.Referrers
	DiscoveryTagFallback = discover.TagFallback
	// DiscoveryLayout: the layout's index.json lists it, and its subject
	// field makes it a referrer (oci.Store's predecessors).
	DiscoveryLayout = "oci-layout"
)

// Defaults.
const (
	DefaultConcurrency = 8
	// MaxIndexManifests bounds the platform manifests of an index (nested
	// indexes included) whose referrers are copied.
	MaxIndexManifests = 1000
	// maxIndexNesting bounds indexes of indexes.
	maxIndexNesting = 4
)

// Options tune a copy.
type Options struct {
	// Recursive copies the referrers graph too; without it only the image
	// (and, for an index, its manifests) is copied.
	Recursive bool
	// ArtifactType keeps only referrers of this type (at every level).
	ArtifactType string
	// Depth, MaxReferrers: as discover.Options (0: discover's defaults).
	Depth        int
	MaxReferrers int
	// Concurrency bounds the referrers copied at once (0: 8); each copies
	// its blobs with oras-go's own concurrency of 3.
	Concurrency int
	// Tag, when set, tags the copied root at the destination.
	Tag string
	// Observer, when set, is told of every blob and manifest copied or
	// skipped (for a progress display).
	Observer Observer
}

// Endpoint is one side of a copy: a registry repository or an OCI layout,
// opened as an oras-go target.
type Endpoint struct {
	Ref reference.Reference
	// Target is the opened registry repository (*remote.Repository from
	// remote.Client.Repository) or OCI layout (*oci.Store). A source only
	// needs to be readable.
	Target oras.ReadOnlyTarget
}

// Copied is one referrer as copied.
type Copied struct {
	// Subject is the manifest it refers to, at the destination.
	Subject digest.Digest `json:"subject"`
	// Source is the referrer at the source.
	Source ocispec.Descriptor `json:"source"`
	// Destination is the referrer at the destination (differs from Source
	// when converted).
	Destination ocispec.Descriptor `json:"destination"`
	// Existed is set when the destination had it already (nothing sent
	// but the existence check).
	Existed bool `json:"existed"`
	// Converted is set when a prototype artifact became an OCI 1.1
	// artifact manifest with a subject.
	Converted bool `json:"converted"`
	// Discovery is how it is found at the destination: links, referrers,
	// tag-fallback or oci-layout ("" when it existed and was not indexed
	// again).
	Discovery string `json:"discovery,omitempty"`
}

// Result is what a copy did.
type Result struct {
	// Root is the copied image (manifest or index).
	Root ocispec.Descriptor
	// RootExisted: the destination had the root and its content already.
	RootExisted bool
	// Manifests are the platform manifests of an index root.
	Manifests []ocispec.Descriptor
	// Referrers copied (or found present), in graph order: a referrer
	// comes after its subject.
	Referrers []Copied
	// Truncated: a bound (depth, count) cut the source's graph.
	Truncated bool
	// Skipped counts referrers found but not copied (see Warnings).
	Skipped int
	// Warnings worth showing the user.
	Warnings []string
	// SourceMechanisms says which discovery mechanisms the source used
	// (registry sources; discover.Graph.Mechanisms of the root).
	SourceMechanisms map[string]string
}

// Converted counts the converted referrers.
func (r *Result) Converted() int {
	n := 0
	for _, c := range r.Referrers {
		if c.Converted {
			n++
		}
	}
	return n
}

// ErrNoTarget is returned for an Endpoint without a target.
var ErrNoTarget = errors.New("transfer: endpoint has no target")

// copier is one copy.
type copier struct {
	client *remote.Client
	src    Endpoint
	dst    Endpoint
	opts   Options

	srcRead content.ReadOnlyStorage // src.Target, counted for the observer
	dstW    oras.Target             // where CopyGraph writes
	dstReg  *registryDst            // dstW when the destination is a registry

	disc *discover.Discoverer // registry sources

	linksOnce sync.Once
	dstLinks  bool
	linksErr  error
	probed    bool // guarded by mu

	atDst sync.Map // digest -> true: known to be at the destination

	mu  sync.Mutex
	res *Result
}

// Copy copies root (resolved at src) to dst: its content, for an index
// every manifest it lists, and with opts.Recursive the referrers graph of
// root and of each of those manifests. On error, the Result lists only
// what was copied before it.
func Copy(ctx context.Context, client *remote.Client, src, dst Endpoint, root ocispec.Descriptor, opts Options) (*Result, error) {
	if src.Target == nil || dst.Target == nil {
		return nil, ErrNoTarget
	}
	w, ok := dst.Target.(oras.Target)
	if !ok {
		return nil, fmt.Errorf("%s cannot be written to", dst.Ref.Raw)
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = DefaultConcurrency
	}
	c := &copier{client: client, src: src, dst: dst, opts: opts, res: &Result{Root: plain(root)}}
	c.srcRead = src.Target
	if opts.Observer != nil {
		c.srcRead = &countingStorage{ReadOnlyStorage: src.Target, obs: opts.Observer}
	}
	c.dstW = w
	if repo, ok := dst.Target.(*orasremote.Repository); ok && dst.Ref.Kind == reference.Registry {
		if client == nil {
			return nil, errors.New("transfer: a registry destination needs a client")
		}
		c.dstReg = &registryDst{Repository: repo, client: client, ref: dst.Ref, pushed: map[digest.Digest]*remote.PushedManifest{}}
		c.dstW = c.dstReg
	}
	if opts.Recursive && src.Ref.Kind == reference.Registry {
		if client == nil {
			return nil, errors.New("transfer: a registry source needs a client")
		}
		d, err := discover.New(client, src.Ref, discover.Options{
			ArtifactType:       opts.ArtifactType,
			Depth:              opts.Depth,
			MaxReferrers:       opts.MaxReferrers,
			ResolveLinkDigests: true,
		})
		if err != nil {
			return nil, err
		}
		c.disc = d
	}
	if err := c.run(ctx, root); err != nil {
		return c.res, err
	}
	return c.res, nil
}

func (c *copier) run(ctx context.Context, root ocispec.Descriptor) error {
	// A tag that points at root already proves root is there (one request
	// for both checks on a repeated copy).
	tagged := false
	if c.opts.Tag != "" {
		if d, err := c.dst.Target.Resolve(ctx, c.opts.Tag); err == nil && d.Digest == root.Digest {
			tagged = true
			c.atDst.Store(root.Digest, true)
			if c.opts.Observer != nil {
				c.opts.Observer.Skipped(plain(root))
			}
		}
	}
	if c.dstReg != nil && !tagged {
		// The root manifest is PUT under the tag at once (no PUT by
		// digest, GET and PUT by tag after).
		c.dstReg.rootDigest, c.dstReg.rootTag = root.Digest, c.opts.Tag
	}
	existed, err := c.copyGraph(ctx, root)
	if err != nil {
		return fmt.Errorf("copying %s: %w", root.Digest, err)
	}
	c.res.RootExisted = existed
	if c.opts.Tag != "" && !tagged && !(c.dstReg != nil && c.dstReg.tagPushed()) {
		if err := c.dstW.Tag(ctx, plain(root), c.opts.Tag); err != nil {
			return fmt.Errorf("tagging %s as %s at %s: %w", root.Digest, c.opts.Tag, c.dst.Ref.Raw, err)
		}
	}
	subjects := []ocispec.Descriptor{plain(root)}
	if isIndex(root.MediaType) {
		kids, err := c.indexManifests(ctx, root, 0, map[digest.Digest]bool{root.Digest: true})
		if err != nil {
			return err
		}
		c.res.Manifests = kids
		subjects = append(subjects, kids...)
	}
	if !c.opts.Recursive {
		return nil
	}
	for i, s := range subjects {
		tree, err := c.referrersTree(ctx, s, i == 0)
		if err != nil {
			return fmt.Errorf("finding the referrers of %s at %s: %w", s.Digest, c.src.Ref.Raw, err)
		}
		if err := c.copyLevel(ctx, s, tree); err != nil {
			return err
		}
	}
	return nil
}

// copyGraph copies desc and everything it points at (but not its subject:
// that is copied before it), and reports whether the destination had it.
func (c *copier) copyGraph(ctx context.Context, desc ocispec.Descriptor) (existed bool, err error) {
	desc = plain(desc)
	if _, ok := c.atDst.Load(desc.Digest); ok {
		return true, nil
	}
	var rootSkipped bool
	o := oras.CopyGraphOptions{
		Concurrency: 3,
		FindSuccessors: func(ctx context.Context, f content.Fetcher, d ocispec.Descriptor) ([]ocispec.Descriptor, error) {
			succ, err := content.Successors(ctx, f, d)
			if err != nil {
				return nil, err
			}
			subject := subjectOf(ctx, f, d)
			out := succ[:0]
			for _, s := range succ {
				if s.Digest == subject {
					continue // a referrer's subject is copied first
				}
				if _, ok := c.atDst.Load(s.Digest); ok {
					continue
				}
				out = append(out, s)
			}
			return out, nil
		},
		PreCopy: func(ctx context.Context, d ocispec.Descriptor) error {
			if c.opts.Observer != nil {
				c.opts.Observer.Start(d)
			}
			return nil
		},
		PostCopy: func(ctx context.Context, d ocispec.Descriptor) error {
			c.atDst.Store(d.Digest, true)
			if c.opts.Observer != nil {
				c.opts.Observer.Done(d)
			}
			return nil
		},
		OnCopySkipped: func(ctx context.Context, d ocispec.Descriptor) error {
			c.atDst.Store(d.Digest, true)
			if d.Digest == desc.Digest {
				rootSkipped = true
			}
			if c.opts.Observer != nil {
				c.opts.Observer.Skipped(d)
			}
			return nil
		},
		OnMounted: func(ctx context.Context, d ocispec.Descriptor) error {
			c.atDst.Store(d.Digest, true)
			if c.opts.Observer != nil {
				c.opts.Observer.Mounted(d)
			}
			return nil
		},
	}
	if c.src.Ref.Kind == reference.Registry && c.dst.Ref.Kind == reference.Registry &&
		c.src.Ref.Registry == c.dst.Ref.Registry && c.src.Ref.Repository != c.dst.Ref.Repository {
		o.MountFrom = func(context.Context, ocispec.Descriptor) ([]string, error) {
			return []string{c.src.Ref.Repository}, nil
		}
	}
	if err := oras.CopyGraph(ctx, c.srcRead, c.dstW, desc, o); err != nil {
		return false, err
	}
	c.atDst.Store(desc.Digest, true)
	return rootSkipped, nil
}

// subjectOf returns the subject digest of manifest d ("" if none).
func subjectOf(ctx context.Context, f content.Fetcher, d ocispec.Descriptor) digest.Digest {
	if d.MediaType != ocispec.MediaTypeImageManifest && d.MediaType != ocispec.MediaTypeImageIndex && d.MediaType != artifact.MediaTypeArtifactManifest {
		return ""
	}
	b, err := content.FetchAll(ctx, f, d) // served from CopyGraph's cache
	if err != nil {
		return ""
	}
	subject, _, err := remote.ReferrerEntry(d, b)
	if err != nil || subject == nil {
		return ""
	}
	return subject.Digest
}

// indexManifests lists the manifests of index desc at the source
// (nested indexes are followed, and listed too).
func (c *copier) indexManifests(ctx context.Context, desc ocispec.Descriptor, nesting int, seen map[digest.Digest]bool) ([]ocispec.Descriptor, error) {
	if nesting >= maxIndexNesting {
		c.warn(fmt.Sprintf("index %s is nested more than %d deep; the referrers of its manifests were not copied", desc.Digest, maxIndexNesting))
		return nil, nil
	}
	b, err := manifest.Fetch(ctx, c.src.Target, desc)
	if err != nil {
		return nil, fmt.Errorf("reading index %s: %w", desc.Digest, err)
	}
	var idx ocispec.Index
	if err := jsonUnmarshal(b, &idx); err != nil {
		return nil, fmt.Errorf("index %s: %w", desc.Digest, err)
	}
	var out []ocispec.Descriptor
	for _, m := range idx.Manifests {
		if seen[m.Digest] {
			continue
		}
		seen[m.Digest] = true
		if len(seen) > MaxIndexManifests {
			c.truncate(fmt.Sprintf("the index lists more than %d manifests; the referrers of the others were not copied", MaxIndexManifests))
			break
		}
		out = append(out, plain(m))
		if isIndex(m.MediaType) {
			more, err := c.indexManifests(ctx, m, nesting+1, seen)
			if err != nil {
				return nil, err
			}
			out = append(out, more...)
		}
	}
	return out, nil
}

func (c *copier) warn(s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.res.Warnings = append(c.res.Warnings, s)
}

func (c *copier) truncate(s string) {
	c.mu.Lock()
	c.res.Truncated = true
	c.mu.Unlock()
	c.warn(s)
}

// linksProbed reports whether the destination's links API support is
// known (a layout: known not to).
func (c *copier) linksProbed() bool {
	if c.dstReg == nil {
		return true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.probed
}

// dstServesLinks probes the destination once for the prototype links API.
func (c *copier) dstServesLinks(ctx context.Context, subject digest.Digest) (bool, error) {
	if c.dstReg == nil {
		return false, nil
	}
	c.linksOnce.Do(func() {
		c.dstLinks, c.linksErr = c.client.ServesLinks(ctx, c.dst.Ref, subject)
		c.mu.Lock()
		c.probed = true
		c.mu.Unlock()
	})
	return c.dstLinks, c.linksErr
}

// plain is desc without the fields a manifest does not record about
// itself (platform, annotations, artifact type, URLs).
func plain(d ocispec.Descriptor) ocispec.Descriptor {
	return ocispec.Descriptor{MediaType: d.MediaType, Digest: d.Digest, Size: d.Size}
}

func isIndex(mt string) bool {
	return mt == ocispec.MediaTypeImageIndex || mt == "application/vnd.docker.distribution.manifest.list.v2+json"
}

// registryDst is a registry destination whose manifest pushes go through
// remote.Client.PushManifest, which never touches a referrers index and
// reports whether the registry processed the subject.
type registryDst struct {
	*orasremote.Repository
	client *remote.Client
	ref    reference.Reference

	// rootDigest is PUT under rootTag, not its digest (set before the
	// copy starts).
	rootDigest digest.Digest
	rootTag    string

	mu         sync.Mutex
	pushed     map[digest.Digest]*remote.PushedManifest
	rootTagged bool
}

func (d *registryDst) Push(ctx context.Context, expected ocispec.Descriptor, r io.Reader) error {
	if !isManifestType(expected.MediaType) {
		return d.Repository.Push(ctx, expected, r)
	}
	if expected.Size > manifest.MaxManifestSize {
		return fmt.Errorf("manifest %s is %d bytes, over the %d limit", expected.Digest, expected.Size, manifest.MaxManifestSize)
	}
	body, err := content.ReadAll(r, expected)
	if err != nil {
		return err
	}
	sel := expected.Digest.String()
	byTag := d.rootTag != "" && expected.Digest == d.rootDigest
	if byTag {
		sel = d.rootTag
	}
	p, err := d.client.PushManifest(ctx, d.ref, sel, expected, body, nil)
	if err != nil {
		return fmt.Errorf("%s refused manifest %s: %w", d.ref.Repo(), expected.Digest, err)
	}
	d.mu.Lock()
	d.pushed[expected.Digest] = p
	if byTag {
		d.rootTagged = true
	}
	d.mu.Unlock()
	return nil
}

func (d *registryDst) tagPushed() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.rootTagged
}

func (d *registryDst) pushedManifest(dg digest.Digest) *remote.PushedManifest {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.pushed[dg]
}

func isManifestType(mt string) bool {
	switch mt {
	case ocispec.MediaTypeImageManifest, ocispec.MediaTypeImageIndex, artifact.MediaTypeArtifactManifest,
		"application/vnd.docker.distribution.manifest.v2+json", "application/vnd.docker.distribution.manifest.list.v2+json":
		return true
	}
	return false
}

// isNotFound reports a missing manifest or blob.
func isNotFound(err error) bool {
	return errors.Is(err, orasErrdef.ErrNotFound) || errors.Is(err, remote.ErrManifestUnknown)
}
