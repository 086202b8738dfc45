package transfer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"
	"oras.land/oras-go/v2/content"
	orasErrdef "oras.land/oras-go/v2/errdef"

	"github.com/signet-oci/signet/pkg/artifact"
	"github.com/signet-oci/signet/pkg/discover"
	"github.com/signet-oci/signet/pkg/manifest"
	"github.com/signet-oci/signet/pkg/remote"
)

// refNode is a referrer at the source.
type refNode struct {
	// desc is the referrer as its subject's index lists it (artifact type
	// and annotations included).
	desc ocispec.Descriptor
	// proto is the links entry of a prototype artifact.
	proto []byte
	kids  []*refNode
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// referrersTree finds the referrers graph of subject at the source.
func (c *copier) referrersTree(ctx context.Context, subject ocispec.Descriptor, root bool) ([]*refNode, error) {
	if c.disc != nil {
		g, err := c.disc.DiscoverSubject(ctx, subject)
		if err != nil {
			return nil, err
		}
		if root {
			c.res.SourceMechanisms = g.Mechanisms
		}
		for _, w := range g.Warnings {
			c.warn(w)
		}
		if g.Truncated {
			c.mu.Lock()
			c.res.Truncated = true
			c.mu.Unlock()
		}
		return fromDiscover(g.Referrers), nil
	}
	pf, ok := c.src.Target.(content.PredecessorFinder)
	if !ok {
		return nil, fmt.Errorf("%s cannot list referrers", c.src.Ref.Raw)
	}
	depth := c.opts.Depth
	if depth <= 0 {
		depth = discover.DefaultMaxDepth
	}
	seen := map[digest.Digest]bool{subject.Digest: true}
	return c.layoutReferrers(ctx, pf, subject, depth, seen)
}

func fromDiscover(ns []*discover.Node) []*refNode {
	var out []*refNode
	for _, n := range ns {
		if n.Digest == "" {
			continue
		}
		r := &refNode{desc: n.Descriptor, kids: fromDiscover(n.Referrers)}
		r.desc.Platform = nil
		if n.Manifest != nil && n.MediaType == artifact.MediaTypeArtifactManifest {
			r.proto = n.Manifest
		}
		out = append(out, r)
	}
	return out
}

// layoutReferrers lists the referrers of subject in an OCI layout: the
// manifests in its index whose subject is subject (an index listing a
// manifest is a predecessor too, but not a referrer).
func (c *copier) layoutReferrers(ctx context.Context, pf content.PredecessorFinder, subject ocispec.Descriptor, depth int, seen map[digest.Digest]bool) ([]*refNode, error) {
	if depth <= 0 {
		return nil, nil
	}
	preds, err := pf.Predecessors(ctx, subject)
	if err != nil {
		return nil, err
	}
	max := c.opts.MaxReferrers
	if max <= 0 {
		max = discover.DefaultMaxReferrers
	}
	var out []*refNode
	for _, p := range preds {
		if seen[p.Digest] || (p.MediaType != ocispec.MediaTypeImageManifest && p.MediaType != ocispec.MediaTypeImageIndex) {
			continue
		}
		b, err := manifest.Fetch(ctx, c.src.Target, plain(p))
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", p.Digest, err)
		}
		s, entry, err := remote.ReferrerEntry(plain(p), b)
		if err != nil || s == nil || s.Digest != subject.Digest {
			continue
		}
		if c.opts.ArtifactType != "" && entry.ArtifactType != c.opts.ArtifactType {
			continue
		}
		if len(out) >= max {
			c.truncate(fmt.Sprintf("more than %d referrers of %s; copied the first %d (raise --max-referrers)", max, subject.Digest, max))
			break
		}
		seen[p.Digest] = true
		n := &refNode{desc: entry}
		out = append(out, n)
	}
	for _, n := range out {
		kids, err := c.layoutReferrers(ctx, pf, plain(n.desc), depth-1, seen)
		if err != nil {
			return nil, err
		}
		n.kids = kids
	}
	return out, nil
}

// copyLevel copies the referrers of subject (already at the destination),
// then theirs.
func (c *copier) copyLevel(ctx context.Context, subject ocispec.Descriptor, nodes []*refNode) error {
	if len(nodes) == 0 {
		return nil
	}
	results := make([]*copiedRef, len(nodes))
	eg, ectx := errgroup.WithContext(ctx)
	eg.SetLimit(c.opts.Concurrency)
	for i, n := range nodes {
		eg.Go(func() error {
			cp, err := c.copyReferrer(ectx, subject, n)
			if err != nil {
				return err
			}
			results[i] = cp
			return nil
		})
	}
	werr := eg.Wait()
	// What is at the destination and needs the tag fallback index.
	var entries []ocispec.Descriptor
	var needIndex bool
	for _, r := range results {
		if r == nil || r.Discovery == DiscoveryLinks {
			continue
		}
		entries = append(entries, r.entry)
		if r.Discovery == DiscoveryTagFallback {
			needIndex = true
		}
	}
	// Indexed even when another referrer failed: those pushed are then
	// found, and reported; if indexing fails, they are not reported.
	if needIndex {
		if _, err := c.client.UpdateReferrersIndex(ctx, c.dst.Ref, subject.Digest, remote.IndexChange{Add: entries}, nil); err != nil {
			if werr == nil {
				werr = fmt.Errorf("the referrers of %s are pushed, but indexing them under the referrers tag %s failed: %w", subject.Digest, remote.ReferrersTag(subject.Digest), err)
			}
			// Not reported as copied: they cannot be found.
			for _, r := range results {
				if r != nil && r.Discovery == DiscoveryTagFallback {
					*r = copiedRef{}
				}
			}
		}
	}
	c.mu.Lock()
	for _, r := range results {
		if r != nil && r.Source.Digest != "" {
			c.res.Referrers = append(c.res.Referrers, r.Copied)
		}
	}
	c.mu.Unlock()
	if werr != nil {
		return werr
	}
	for i, n := range nodes {
		if len(n.kids) == 0 {
			continue
		}
		r := results[i]
		if r.Converted {
			c.mu.Lock()
			c.res.Skipped += countNodes(n.kids)
			c.mu.Unlock()
			c.warn(fmt.Sprintf("%d referrers of the prototype artifact %s were not copied: it was converted to %s, and they refer to the original", countNodes(n.kids), r.Source.Digest, r.Destination.Digest))
			continue
		}
		if err := c.copyLevel(ctx, plain(r.Destination), n.kids); err != nil {
			return err
		}
	}
	return nil
}

func countNodes(ns []*refNode) int {
	n := len(ns)
	for _, k := range ns {
		n += countNodes(k.kids)
	}
	return n
}

// copiedRef is a Copied with the entry a referrers index lists for it.
type copiedRef struct {
	Copied
	entry ocispec.Descriptor
}

// copyReferrer copies one referrer of subject.
func (c *copier) copyReferrer(ctx context.Context, subject ocispec.Descriptor, n *refNode) (*copiedRef, error) {
	if n.proto != nil {
		return c.copyPrototype(ctx, subject, n)
	}
	existed, err := c.copyGraph(ctx, n.desc)
	if err != nil {
		return nil, fmt.Errorf("copying referrer %s of %s: %w", n.desc.Digest, subject.Digest, err)
	}
	r := &copiedRef{Copied: Copied{Subject: subject.Digest, Source: plain(n.desc), Destination: plain(n.desc), Existed: existed}, entry: n.desc}
	r.Discovery = c.discoveryOf(n.desc.Digest, existed)
	return r, nil
}

// discoveryOf says how a referrer just copied will be found.
func (c *copier) discoveryOf(d digest.Digest, existed bool) string {
	switch {
	case c.dstReg == nil:
		return DiscoveryLayout
	case existed:
		return ""
	case c.dstReg.pushedManifest(d) != nil && c.dstReg.pushedManifest(d).Subject != "":
		return DiscoveryReferrers
	default:
		return DiscoveryTagFallback
	}
}

// copyPrototype copies a prototype artifact: as it is where the
// destination serves the links API, converted to an OCI 1.1 artifact with
// a subject elsewhere.
func (c *copier) copyPrototype(ctx context.Context, subject ocispec.Descriptor, n *refNode) (*copiedRef, error) {
	sig, err := artifact.Parse(artifact.MediaTypeArtifactManifest, n.proto)
	if err != nil || sig.Kind != artifact.KindPrototype {
		c.mu.Lock()
		c.res.Skipped++
		c.mu.Unlock()
		c.warn(fmt.Sprintf("the prototype artifact %s (type %s) is not a signature signet can convert; not copied", n.desc.Digest, n.desc.ArtifactType))
		return nil, nil
	}
	blob := plain(sig.Blob)
	// The converted form, which a destination without the links API gets.
	m := artifact.NewOCI(artifact.ArtifactTypeNotaryV2, blob, plain(subject), sig.Annotations)
	body, err := artifact.MarshalOCI(m)
	if err != nil {
		return nil, err
	}
	desc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromBytes(body), Size: int64(len(body))}
	_, entry, err := remote.ReferrerEntry(desc, body)
	if err != nil {
		return nil, err
	}
	r := &copiedRef{Copied: Copied{Subject: subject.Digest, Source: plain(n.desc), Destination: desc, Converted: true}, entry: entry}
	// Converted by an earlier copy: one existence check, no links probe.
	existed := false
	if !c.linksProbed() {
		if existed, err = c.exists(ctx, desc); err != nil {
			return nil, err
		}
		if existed {
			r.Existed = true
			return r, nil
		}
	}
	keep, err := c.dstServesLinks(ctx, subject.Digest)
	if err != nil {
		return nil, fmt.Errorf("probing %s for the links API: %w", c.dst.Ref.Registry, err)
	}
	if keep {
		src, err := c.resolveLinkEntry(ctx, n)
		if err != nil {
			return nil, err
		}
		if _, err := c.copyGraph(ctx, blob); err != nil {
			return nil, fmt.Errorf("copying signature blob %s: %w", blob.Digest, err)
		}
		existed, err := c.copyGraph(ctx, src)
		if err != nil {
			return nil, fmt.Errorf("copying prototype artifact %s: %w", src.Digest, err)
		}
		r := &copiedRef{Copied: Copied{Subject: subject.Digest, Source: src, Destination: src, Existed: existed, Discovery: DiscoveryLinks}}
		if existed {
			r.Discovery = ""
		}
		return r, nil
	}
	// Convert: the same JWT as the only layer of an OCI 1.1 artifact
	// manifest whose subject is the signed manifest.
	if existed, err = c.exists(ctx, desc); err != nil {
		return nil, err
	}
	if !existed {
		if _, err := c.copyGraph(ctx, blob); err != nil {
			return nil, fmt.Errorf("copying signature blob %s: %w", blob.Digest, err)
		}
		if err := c.pushBytes(ctx, artifact.EmptyConfig, artifact.EmptyConfigData); err != nil {
			return nil, err
		}
		if err := c.pushBytes(ctx, desc, body); err != nil {
			return nil, err
		}
	}
	r.Existed = existed
	r.Discovery = c.discoveryOf(desc.Digest, existed)
	return r, nil
}

// resolveLinkEntry finds the exact manifest of a links entry at the
// source: its digest as discovery found it, else the other encodings the
// entry may have been pushed in.
func (c *copier) resolveLinkEntry(ctx context.Context, n *refNode) (ocispec.Descriptor, error) {
	cands := append([]ocispec.Descriptor{plain(n.desc)}, discover.LinkDigestCandidates(n.proto)...)
	var firstErr error
	tried := map[digest.Digest]bool{}
	for _, d := range cands {
		if tried[d.Digest] {
			continue
		}
		tried[d.Digest] = true
		ok, err := c.src.Target.Exists(ctx, d)
		if err == nil && ok {
			return d, nil
		}
		if err != nil && firstErr == nil && !isNotFound(err) {
			firstErr = err
		}
	}
	if firstErr != nil {
		return ocispec.Descriptor{}, fmt.Errorf("reading prototype artifact %s: %w", n.desc.Digest, firstErr)
	}
	return ocispec.Descriptor{}, fmt.Errorf("prototype artifact %s: the registry lists it but serves none of its encodings", n.desc.Digest)
}

func (c *copier) exists(ctx context.Context, desc ocispec.Descriptor) (bool, error) {
	if _, ok := c.atDst.Load(desc.Digest); ok {
		return true, nil
	}
	ok, err := c.dstW.Exists(ctx, desc)
	if err != nil {
		return false, fmt.Errorf("checking %s at %s: %w", desc.Digest, c.dst.Ref.Raw, err)
	}
	if ok {
		c.atDst.Store(desc.Digest, true)
	}
	return ok, nil
}

// pushBytes pushes data unless the destination has it.
func (c *copier) pushBytes(ctx context.Context, desc ocispec.Descriptor, data []byte) error {
	ok, err := c.exists(ctx, desc)
	if err != nil || ok {
		return err
	}
	if err := c.dstW.Push(ctx, desc, bytes.NewReader(data)); err != nil && !errors.Is(err, orasErrdef.ErrAlreadyExists) {
		return fmt.Errorf("pushing %s to %s: %w", desc.Digest, c.dst.Ref.Raw, err)
	}
	c.atDst.Store(desc.Digest, true)
	return nil
}
