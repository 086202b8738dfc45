// Package discover builds the referrers graph of a subject. It asks every
// mechanism the registry supports — the prototype links API, the OCI 1.1
// referrers API, and, where that API is missing, the sha256-<hex> tag
// fallback — merges the answers by digest, records which mechanism found
// each referrer, and bounds depth, count and concurrency.
package discover

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"
	orasErrdef "oras.land/oras-go/v2/errdef"
	orasremote "oras.land/oras-go/v2/registry/remote"

	"github.com/signet-oci/signet/pkg/artifact"
	"github.com/signet-oci/signet/pkg/manifest"
	"github.com/signet-oci/signet/pkg/reference"
	"github.com/signet-oci/signet/pkg/remote"
)

// Mechanism names.
const (
	Links       = "links"
	Referrers   = "referrers"
	TagFallback = "tag-fallback"
)

// UsedPerArtifactType is the links mechanism's state when the registry's
// links API requires an artifact type (the 2021 prototype registry, which
// answers 400 ARTIFACT_TYPE_UNSPECIFIED without one) and discovery was
// asked for every type: it asked once per signature type signet knows
// (artifact.SignatureArtifactTypes), and cannot list the other types.
const UsedPerArtifactType = "used per artifact type"

// Defaults for the bounds.
const (
	DefaultMaxDepth = 8
	// DefaultLevelBudget is how many requests a level of referrers of
	// referrers may cost when the depth is automatic (Options.Depth 0).
	DefaultLevelBudget  = 1000
	DefaultMaxReferrers = 10000
	DefaultConcurrency  = 16
)

// Options bound and filter a discovery.
type Options struct {
	// ArtifactType keeps only referrers of this type (at every level).
	ArtifactType string
	// Depth is how many levels to follow (1: the subject's referrers only).
	// 0 is automatic: up to DefaultMaxDepth levels, following a level only
	// while it costs at most LevelBudget requests.
	Depth int
	// LevelBudget bounds the requests a deeper level may cost when Depth is
	// 0 (0: DefaultLevelBudget). An explicit Depth follows every level.
	LevelBudget int
	// MaxReferrers bounds the referrers taken per subject (0: default).
	MaxReferrers int
	// Concurrency bounds parallel requests for deeper levels (0: default).
	Concurrency int
	// ResolveLinkDigests resolves the digest of links-API entries with a
	// HEAD request each (the links API omits it), for at most
	// MaxLinkConfirmations entries per discovery. The digests of the others
	// (and of all of them without this option) are computed from the
	// walkthrough's encoding and marked unverified.
	ResolveLinkDigests bool
}

// MaxGraphNodes bounds the nodes of one referrers graph, whatever the
// depth: past it, discovery stops following referrers and marks the graph
// truncated.
const MaxGraphNodes = 50000

// MaxLinkConfirmations bounds the HEAD requests one discovery spends
// confirming links-API entry digests: the links API is not paginated, and
// one request per entry would turn a 10,000-entry answer into 10,000 round
// trips. Entries past the bound keep their computed digest, marked
// unverified (digestVerified false in JSON, "not confirmed" in the tree).
const MaxLinkConfirmations = 16

// tagListThreshold is the frontier size from which a discovery on a
// registry without the referrers API lists the repository's tags once
// (paged) instead of asking for the sha256-<hex> tag of every referrer.
const tagListThreshold = 2

// Node is one referrer.
type Node struct {
	ocispec.Descriptor
	// DigestVerified is false for a links-API entry whose digest was
	// computed rather than confirmed by the registry.
	DigestVerified bool
	// Mechanisms that found this referrer.
	Mechanisms []string
	// Config is the prototype artifact's config (its signature blob), from
	// the links API.
	Config *ocispec.Descriptor
	// Manifest is the links entry's JSON (prototype artifacts only).
	Manifest json.RawMessage `json:"-"`
	// Referrers of this referrer.
	Referrers []*Node
}

// Graph is a subject and its referrers.
type Graph struct {
	// Reference is the subject's reference as given.
	Reference string
	// Subject is the manifest the reference resolved to.
	Subject ocispec.Descriptor
	// Mechanisms maps each mechanism to "used", "unsupported", "not
	// needed" or (links) UsedPerArtifactType.
	Mechanisms map[string]string
	// LinksArtifactTypes, set when Mechanisms[Links] is
	// UsedPerArtifactType, are the artifact types the links API was asked
	// for, one request each per subject.
	LinksArtifactTypes []string
	// Referrers are the subject's referrers, merged by digest across the
	// mechanisms, each with its own referrers (Options.Depth).
	Referrers []*Node
	// Truncated is set when a bound cut the listing.
	Truncated bool
	// Warnings worth showing the user.
	Warnings []string
}

// Discoverer discovers referrers in one repository.
type Discoverer struct {
	client *remote.Client
	ref    reference.Reference
	opts   Options

	apiRepo *orasremote.Repository
	tagRepo *orasremote.Repository
	// src, when set (NewSource), is where everything is read instead of
	// a registry: referrers through its Predecessors.
	src Source

	// Each mechanism's support (state.go), learnt from its first answer
	// and never asked again once unsupported.
	linksState mechanismState
	apiState   mechanismState
	// truncated: a bound cut the listing (Graph.Truncated).
	truncated truncation

	mu sync.Mutex // guards the fields below
	// perTypeNoted: the warning that the links API was asked per type has
	// been given.
	perTypeNoted bool
	// fallbackTags, once listed, holds the repository's sha256-<hex>
	// referrers tags; a subject without one has no tag-fallback referrers
	// and is not asked. nil: not listed (ask for each subject).
	fallbackTags map[string]bool
	tagsListed   bool
	confirmed    int // links digests confirmed so far
	unconfirmed  int // links digests left unconfirmed by the bound
	warnings     []string
	suppressed   int
}

// New prepares a discovery in ref's repository.
func New(client *remote.Client, ref reference.Reference, opts Options) (*Discoverer, error) {
	opts, err := normalize(opts)
	if err != nil {
		return nil, err
	}
	api, err := client.Repository(ref)
	if err != nil {
		return nil, err
	}
	_ = api.SetReferrersCapability(true)
	tag, err := client.Repository(ref)
	if err != nil {
		return nil, err
	}
	_ = tag.SetReferrersCapability(false)
	return &Discoverer{client: client, ref: ref, opts: opts, apiRepo: api, tagRepo: tag}, nil
}

// Resolve returns the subject's descriptor.
func (d *Discoverer) Resolve(ctx context.Context) (ocispec.Descriptor, error) {
	desc, err := reference.Resolve(ctx, d.resolver(), d.ref)
	if err == nil && d.src != nil {
		return sourceSubject(ctx, d.src, desc)
	}
	return desc, err
}

// Discover resolves the subject and builds its referrers graph.
func (d *Discoverer) Discover(ctx context.Context) (*Graph, error) {
	subject, err := d.Resolve(ctx)
	if err != nil {
		return nil, err
	}
	return d.DiscoverSubject(ctx, subject)
}

// DiscoverSubject builds the referrers graph of a resolved subject.
func (d *Discoverer) DiscoverSubject(ctx context.Context, subject ocispec.Descriptor) (*Graph, error) {
	g := &Graph{Reference: d.ref.Raw, Subject: subject, Mechanisms: map[string]string{}}
	tctx := d.nestedProbe(ctx, 1)
	top, _, err := d.level(tctx, subject, g.Mechanisms, listing{max: d.opts.MaxReferrers})
	if err != nil {
		return nil, err
	}
	if g.Mechanisms[Links] == UsedPerArtifactType {
		g.LinksArtifactTypes = artifact.SignatureArtifactTypes()
	}
	g.Referrers = top
	visited := map[digest.Digest]bool{subject.Digest: true}
	for _, n := range top {
		visited[n.Digest] = true
	}
	frontier := top
	if leaf(tctx) {
		frontier = nil // the registry says none of them has referrers
	}
	for depth := 2; depth <= d.opts.Depth && len(frontier) > 0; depth++ {
		d.maybeListTags(ctx, len(frontier))
		if b := d.opts.LevelBudget; b > 0 {
			if cost := d.levelCost(frontier); cost > b {
				d.truncated.mark()
				d.warn(fmt.Sprintf("the %d referrers at depth %d were not searched for referrers of their own: that takes about %d requests, over the %d a level may cost by default; pass --depth %d to follow them", len(frontier), depth-1, cost, b, DefaultMaxDepth))
				break
			}
		}
		var next []*Node
		var mu sync.Mutex
		eg, ectx := errgroup.WithContext(ctx)
		eg.SetLimit(d.opts.Concurrency)
		for _, n := range frontier {
			if n.Digest == "" || !n.DigestVerified {
				continue
			}
			mu.Lock()
			full := len(visited) > MaxGraphNodes
			mu.Unlock()
			if full {
				d.truncated.mark()
				d.warn(fmt.Sprintf("the referrers graph has more than %d nodes; not followed further", MaxGraphNodes))
				break
			}
			eg.Go(func() error {
				lctx := d.nestedProbe(ectx, depth)
				kids, _, err := d.level(lctx, n.Descriptor, nil, listing{max: d.opts.MaxReferrers})
				if err != nil {
					return err
				}
				kidsLeaves := leaf(lctx)
				mu.Lock()
				defer mu.Unlock()
				for _, k := range kids {
					if len(visited) > MaxGraphNodes {
						// A registry inventing fresh referrers at every
						// level would otherwise grow the graph (and the
						// requests) geometrically.
						d.truncated.mark()
						d.warn(fmt.Sprintf("the referrers graph has more than %d nodes; not followed further", MaxGraphNodes))
						break
					}
					if visited[k.Digest] {
						d.warn(fmt.Sprintf("referrer %s appears more than once in the graph (a cycle or a shared referrer); shown once", k.Digest))
						continue
					}
					visited[k.Digest] = true
					n.Referrers = append(n.Referrers, k)
					if !kidsLeaves {
						next = append(next, k)
					}
				}
				return nil
			})
		}
		if err := eg.Wait(); err != nil {
			return nil, err
		}
		frontier = next
	}
	d.mu.Lock()
	if d.unconfirmed > 0 {
		d.mu.Unlock()
		msg := fmt.Sprintf("the digests of %d links entries were computed from the entries, not confirmed with the registry (at most %d are confirmed per run)", d.unconfirmed, MaxLinkConfirmations)
		if d.opts.Depth > 1 {
			msg += "; their referrers were not followed"
		}
		d.warn(msg)
		d.mu.Lock()
	}
	d.mu.Unlock()
	g.Truncated = d.truncated.marked()
	g.Warnings = d.takeWarnings()
	return g, nil
}

// maybeListTags lists the repository's tags once, when the registry has no
// referrers API and a level has at least tagListThreshold subjects to ask:
// one paged listing instead of one sha256-<hex> tag look-up per referrer
// (most of which would answer 404). A failed or cut listing leaves the
// per-subject look-ups in place.
func (d *Discoverer) maybeListTags(ctx context.Context, frontier int) {
	d.mu.Lock()
	skip := d.tagsListed || d.apiState.get() != unsupported || frontier < tagListThreshold
	d.tagsListed = d.tagsListed || !skip
	d.mu.Unlock()
	if skip {
		return
	}
	tags := map[string]bool{}
	err := d.tagRepo.Tags(ctx, "", func(page []string) error {
		for _, t := range page {
			if len(t) == len("sha256-")+64 && t[:7] == "sha256-" {
				tags[t] = true
			}
		}
		return nil
	})
	if err != nil {
		return
	}
	d.mu.Lock()
	d.fallbackTags = tags
	d.mu.Unlock()
}

// MaxWarnings bounds the warnings kept for one discovery; a hostile
// registry listing thousands of bad entries gets a count, not thousands of
// lines.
const MaxWarnings = 20

func (d *Discoverer) warn(s string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.warnings) < MaxWarnings {
		d.warnings = append(d.warnings, s)
		return
	}
	d.suppressed++
}

// takeWarnings returns the warnings so far, with a count of those left out.
func (d *Discoverer) takeWarnings() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	w := append([]string(nil), d.warnings...)
	if d.suppressed > 0 {
		w = append(w, fmt.Sprintf("%d more warnings like these were left out", d.suppressed))
	}
	return w
}

// listing bounds one mechanism's listing of one subject: it stops once
// more than max nodes accepted by keep (nil: every node) have been listed,
// without asking for further pages.
type listing struct {
	keep func(*Node) bool
	max  int
	// signatures: only signatures are wanted; the links API is asked for
	// the prototype's signature type (when no ArtifactType is set).
	signatures bool
}

// level lists the direct referrers of subject through every mechanism the
// registry supports and merges them by digest. A mechanism found
// unsupported is not asked again by this Discoverer. mech, when non-nil,
// receives each mechanism's state. cut reports that a listing stopped at
// lim before its end.
func (d *Discoverer) level(ctx context.Context, subject ocispec.Descriptor, mech map[string]string, lim listing) (nodes []*Node, cut bool, err error) {
	if d.src != nil {
		return d.sourceLevel(ctx, subject, mech, lim)
	}
	var (
		linkNodes, apiNodes []*Node
		linksErr, apiErr    error
		linksCut, apiCut    bool
		linksPer            bool
	)
	askLinks, askAPI := d.linksState.asked(), d.apiState.asked()
	var wg sync.WaitGroup
	if askLinks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			linkNodes, linksCut, linksPer, linksErr = d.links(ctx, subject, lim)
		}()
	}
	if askAPI {
		wg.Add(1)
		go func() {
			defer wg.Done()
			apiNodes, apiCut, apiErr = d.referrers(ctx, d.apiRepo, subject, Referrers, lim)
		}()
	}
	wg.Wait()

	set := func(k, v string) {
		if mech != nil {
			mech[k] = v
		}
	}
	switch {
	case !askLinks:
		set(Links, "unsupported")
	case linksErr == nil && linksPer:
		set(Links, UsedPerArtifactType)
	case linksErr == nil:
		set(Links, "used")
		d.linksState.learn(supported)
	case errors.Is(linksErr, remote.ErrLinksUnsupported):
		set(Links, "unsupported")
		d.linksState.set(unsupported)
		linksErr = nil
	}
	var tagNodes []*Node
	var tagErr error
	var tagCut bool
	switch {
	case askAPI && apiErr == nil:
		set(Referrers, "used")
		set(TagFallback, "not needed")
		d.apiState.set(supported)
	case !askAPI || errors.Is(apiErr, orasErrdef.ErrUnsupported):
		set(Referrers, "unsupported")
		d.apiState.set(unsupported)
		apiErr = nil
		if d.hasFallbackTag(subject) {
			tagNodes, tagCut, tagErr = d.referrers(ctx, d.tagRepo, subject, TagFallback, lim)
		}
		if tagErr == nil {
			set(TagFallback, "used")
		}
	}
	for _, e := range []error{linksErr, apiErr, tagErr} {
		if e != nil {
			return nil, false, fmt.Errorf("listing referrers of %s: %w", subject.Digest, e)
		}
	}
	return d.merge(linkNodes, apiNodes, tagNodes), linksCut || apiCut || tagCut, nil
}

// levelCost is the number of requests listing the referrers of every node
// of frontier would send: one per mechanism the registry supports, and on
// the tag fallback only for nodes that have a referrers tag (when the tags
// were listed).
func (d *Discoverer) levelCost(frontier []*Node) int {
	if d.src != nil {
		return 0 // a Source answers locally
	}
	links, api := d.linksState.get(), d.apiState.get()
	cost := 0
	for _, n := range frontier {
		if n.Digest == "" || !n.DigestVerified {
			continue
		}
		switch {
		case links == supportedPerType:
			cost += len(artifact.SignatureArtifactTypes())
		case links != unsupported:
			cost++
		}
		if api != unsupported || d.hasFallbackTag(n.Descriptor) {
			cost++
		}
	}
	return cost
}

// hasFallbackTag reports whether subject may have a sha256-<hex> referrers
// tag: true unless the repository's tags were listed and it has none.
func (d *Discoverer) hasFallbackTag(subject ocispec.Descriptor) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.fallbackTags == nil || subject.Digest.Algorithm() != digest.SHA256 {
		return true
	}
	return d.fallbackTags["sha256-"+subject.Digest.Encoded()]
}

func (d *Discoverer) merge(lists ...[]*Node) []*Node {
	byDigest := map[digest.Digest]*Node{}
	var out []*Node
	for _, l := range lists {
		for _, n := range l {
			if o, ok := byDigest[n.Digest]; ok && n.Digest != "" {
				o.Mechanisms = append(o.Mechanisms, n.Mechanisms...)
				if n.DigestVerified {
					o.DigestVerified = true
				}
				continue
			}
			byDigest[n.Digest] = n
			out = append(out, n)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Digest < out[j].Digest })
	if len(out) > d.opts.MaxReferrers {
		d.truncated.mark()
		d.warn(fmt.Sprintf("more than %d referrers; showing the first %d (raise --max-referrers)", d.opts.MaxReferrers, d.opts.MaxReferrers))
		out = out[:d.opts.MaxReferrers]
	}
	return out
}

func (d *Discoverer) referrers(ctx context.Context, repo *orasremote.Repository, subject ocispec.Descriptor, mechanism string, lim listing) ([]*Node, bool, error) {
	var nodes []*Node
	kept := 0
	list := func(fn func([]ocispec.Descriptor) error) error {
		return repo.Referrers(ctx, subject, d.opts.ArtifactType, fn)
	}
	if lim.signatures && d.opts.ArtifactType == "" {
		// Only signatures are wanted: ask for each signature type signet
		// knows (?artifactType=, concurrently) instead of the whole
		// listing, which may hold thousands of other artifacts. oras-go
		// filters the answer itself when the registry did not (no
		// OCI-Filters-Applied: artifactType), so the result is the same
		// either way; a registry that filters sends only the matches.
		list = func(fn func([]ocispec.Descriptor) error) error {
			return d.referrersOfTypes(ctx, repo, subject, artifact.SignatureArtifactTypes(), fn)
		}
	}
	if mechanism == TagFallback {
		list = func(fn func([]ocispec.Descriptor) error) error {
			// The index's entries are checked as they are read, as the
			// loop below checks them, and no more are held than the loop
			// takes before it stops: an index of millions of tiny
			// entries holds no more memory than the bound. Their
			// warnings wait for the index's digest check.
			var held, heldKept, more int
			var problems []string
			past := func() bool { return heldKept > lim.max || held > d.opts.MaxReferrers }
			page, err := d.fallbackIndex(ctx, repo, subject, func(artifactType string) bool {
				if past() || d.opts.ArtifactType != "" && artifactType != d.opts.ArtifactType {
					return false
				}
				// Signatures only: the others are dropped as they are
				// read, never built nor held.
				return !lim.signatures || maybeSignature(&Node{Descriptor: ocispec.Descriptor{ArtifactType: artifactType}})
			}, func(m ocispec.Descriptor) bool {
				if past() {
					return false
				}
				if m.Digest == subject.Digest || !manifest.ValidDigest(m.Digest) {
					if len(problems) < MaxWarnings {
						problems = append(problems, listedProblem(mechanism, subject, m))
					} else {
						more++ // left out of the warnings anyway
					}
					return false
				}
				held++
				if lim.keep == nil || lim.keep(&Node{Descriptor: m, DigestVerified: true, Mechanisms: []string{mechanism}}) {
					heldKept++
				}
				return true
			})
			if err != nil {
				return err
			}
			for _, p := range problems {
				d.warn(p)
			}
			d.mu.Lock()
			d.suppressed += more
			d.mu.Unlock()
			if len(page) == 0 {
				return nil
			}
			return fn(page)
		}
	}
	err := list(func(page []ocispec.Descriptor) error {
		for _, r := range page {
			if p := listedProblem(mechanism, subject, r); p != "" {
				d.warn(p)
				continue
			}
			n := &Node{Descriptor: r, DigestVerified: true, Mechanisms: []string{mechanism}}
			if lim.signatures && !maybeSignature(n) {
				continue // an SBOM or another artifact: not kept for signatures
			}
			nodes = append(nodes, n)
			if lim.keep == nil || lim.keep(n) {
				kept++
			}
			if kept > lim.max || len(nodes) > d.opts.MaxReferrers {
				return errTooMany
			}
		}
		return nil
	})
	cut := false
	switch {
	case errors.Is(err, errTooMany):
		err, cut = nil, true
	case errors.Is(err, orasErrdef.ErrTooManyPages):
		// Endless or cyclic Link pagination: keep what the bounded number
		// of pages gave.
		d.truncated.mark()
		d.warn(fmt.Sprintf("%s listing of %s stopped after the page limit (a registry paginating without end?); %d referrers taken", mechanism, subject.Digest, len(nodes)))
		err = nil
	}
	return nodes, cut, err
}

// listedProblem says why r, listed by mechanism as a referrer of subject,
// is ignored, or "" when it is not.
func listedProblem(mechanism string, subject, r ocispec.Descriptor) string {
	switch {
	case r.Digest == subject.Digest:
		return fmt.Sprintf("%s lists the subject %s as its own referrer; ignored", mechanism, subject.Digest)
	case !manifest.ValidDigest(r.Digest):
		return fmt.Sprintf("%s lists an entry with an invalid digest %q; ignored", mechanism, r.Digest)
	}
	return ""
}

// referrersOfTypes lists the referrers of subject of each of types through
// the referrers API, one filtered listing per type, concurrently, and hands
// the pages to fn one at a time. The first error (fn's included) stops it.
//
// Until the registry is known to serve the referrers API, the first type is
// asked alone: a registry without it answers one 404, not one per type.
func (d *Discoverer) referrersOfTypes(ctx context.Context, repo *orasremote.Repository, subject ocispec.Descriptor, types []string, fn func([]ocispec.Descriptor) error) error {
	var mu sync.Mutex
	locked := func(page []ocispec.Descriptor) error {
		mu.Lock()
		defer mu.Unlock()
		return fn(page)
	}
	known := d.apiState.get() == supported
	if !known && len(types) > 1 {
		if err := repo.Referrers(ctx, subject, types[0], locked); err != nil {
			return err
		}
		types = types[1:]
	}
	eg, ectx := errgroup.WithContext(ctx)
	for _, t := range types {
		eg.Go(func() error {
			return repo.Referrers(ectx, subject, t, locked)
		})
	}
	return eg.Wait()
}

// fallbackIndex reads the subject's sha256-<hex> referrers tag in one
// request (oras-go's tag-schema reading, which would need a second request
// to tell a missing tag from one holding something else): no tag is no
// referrers; a tag holding something other than an image index (the
// subject itself, say) is ignored with a warning. The index is bounded in
// size and digest-checked; only the entries keepType and keep accept are
// held (readIndex).
func (d *Discoverer) fallbackIndex(ctx context.Context, repo *orasremote.Repository, subject ocispec.Descriptor, keepType func(artifactType string) bool, keep func(ocispec.Descriptor) bool) ([]ocispec.Descriptor, error) {
	tag := subject.Digest.Algorithm().String() + "-" + subject.Digest.Encoded()
	desc, rc, err := repo.Manifests().FetchReference(ctx, tag)
	if err != nil {
		if errors.Is(err, orasErrdef.ErrNotFound) {
			return nil, nil
		}
		return nil, err
	}
	defer rc.Close()
	if desc.MediaType != ocispec.MediaTypeImageIndex || desc.Digest == subject.Digest {
		what := desc.MediaType
		if desc.Digest == subject.Digest {
			what = "the subject itself"
		}
		d.warn(fmt.Sprintf("the referrers tag %s holds %s (%s), not an index of referrers; ignored", tag, desc.Digest, what))
		return nil, nil
	}
	if desc.Size > repo.MaxMetadataBytes {
		return nil, fmt.Errorf("referrers index at tag %s is %d bytes, over the %d-byte limit", tag, desc.Size, repo.MaxMetadataBytes)
	}
	out, err := readIndex(rc, desc, keepType, keep, indexReadSize)
	if err != nil {
		return nil, fmt.Errorf("the referrers index at tag %s: %w", tag, err)
	}
	return out, nil
}

var errTooMany = errors.New("too many referrers")

// links asks the prototype links API. Entries carry no digest (formats.md
// §4): it is computed from the walkthrough's encoding of the entry and, with
// ResolveLinkDigests, confirmed with the registry.
//
// The request carries the artifact type wanted: Options.ArtifactType, or
// for signatures the prototype's signature type. Listing every type asks
// without one; a registry that requires one (400 ARTIFACT_TYPE_UNSPECIFIED,
// the 2021 prototype) is then asked once per signature type signet knows,
// for this subject and every later one (perType reports it).
func (d *Discoverer) links(ctx context.Context, subject ocispec.Descriptor, lim listing) (nodes []*Node, cut, perType bool, err error) {
	state := d.linksState.get()
	var types []string
	switch {
	case d.opts.ArtifactType != "":
		types = []string{d.opts.ArtifactType}
	case lim.signatures:
		// A links entry is a signature only as a prototype artifact,
		// whose type is the prototype's.
		types = []string{artifact.ArtifactTypeNotaryV2}
	case state == supportedPerType:
		types, perType = artifact.SignatureArtifactTypes(), true
	default:
		types = []string{""}
	}
	resps, err := d.askLinks(ctx, subject, types)
	if errors.Is(err, remote.ErrLinksArtifactTypeRequired) && types[0] == "" {
		d.linksState.set(supportedPerType)
		types, perType = artifact.SignatureArtifactTypes(), true
		resps, err = d.askLinks(ctx, subject, types)
	}
	if err != nil {
		return nil, false, false, err
	}
	if perType {
		d.notePerType()
	}
	total := 0
	for _, r := range resps {
		total += len(r.Links)
	}
	nodes = make([]*Node, 0, min(total, d.opts.MaxReferrers+1))
	kept, seen := 0, 0
	seenDigest := map[digest.Digest]bool{}
	for ti, resp := range resps {
		for i, raw := range resp.Links {
			seen++
			var m artifact.PrototypeManifest
			if err := json.Unmarshal(raw, &m); err != nil {
				d.warn(fmt.Sprintf("links entry %d is not an artifact manifest; ignored", i))
				continue
			}
			names := false
			for _, s := range m.Manifests {
				if s.Digest == subject.Digest {
					names = true
				}
			}
			if !names {
				d.warn(fmt.Sprintf("links entry %d does not point at %s; ignored", i, subject.Digest))
				continue
			}
			if types[ti] != "" && m.ArtifactType != types[ti] {
				continue // not what was asked for
			}
			n := &Node{Mechanisms: []string{Links}, Manifest: raw}
			n.MediaType = artifact.MediaTypeArtifactManifest
			n.ArtifactType = m.ArtifactType
			n.Annotations = m.Annotations
			if m.Config != nil {
				c := m.Config.OCI()
				n.Config = &c
			}
			likely := likelyLinkDigest(raw)
			if seenDigest[likely.Digest] {
				continue // listed under two types
			}
			seenDigest[likely.Digest] = true
			n.Digest = likely.Digest
			n.Size = likely.Size
			nodes = append(nodes, n)
			if lim.keep == nil || lim.keep(n) {
				kept++
			}
			if kept > lim.max || len(nodes) > d.opts.MaxReferrers {
				cut = seen < total
				break
			}
		}
		if cut {
			break
		}
	}
	if d.opts.ResolveLinkDigests {
		d.resolveLinkDigests(ctx, nodes)
	}
	return nodes, cut, perType, nil
}

// askLinks asks the links API for each of types (concurrently) and returns
// the answers in order, or the first error.
func (d *Discoverer) askLinks(ctx context.Context, subject ocispec.Descriptor, types []string) ([]*remote.LinksResponse, error) {
	resps := make([]*remote.LinksResponse, len(types))
	if len(types) == 1 {
		r, err := d.client.Links(ctx, d.ref, subject.Digest.String(), types[0])
		resps[0] = r
		return resps, err
	}
	eg, ectx := errgroup.WithContext(ctx)
	for i, t := range types {
		eg.Go(func() error {
			r, err := d.client.Links(ectx, d.ref, subject.Digest.String(), t)
			resps[i] = r
			return err
		})
	}
	return resps, eg.Wait()
}

// notePerType warns, once per discovery, that the links API was asked per
// artifact type and so lists no other type.
func (d *Discoverer) notePerType() {
	d.mu.Lock()
	noted := d.perTypeNoted
	d.perTypeNoted = true
	d.mu.Unlock()
	if !noted {
		d.warn(fmt.Sprintf("the links API of %s requires an artifact type: asked for %s only; links of other types are not listed (pass --artifact-type to ask for one)",
			d.ref.Registry, strings.Join(artifact.SignatureArtifactTypes(), " and ")))
	}
}

// likelyLinkDigest is LinkDigestCandidates' first candidate, computed
// alone (one hash, not three, per entry).
func likelyLinkDigest(compact []byte) ocispec.Descriptor {
	var ind bytes.Buffer
	if json.Indent(&ind, compact, "", "  ") == nil {
		ind.WriteByte('\n')
		return describe(ind.Bytes())
	}
	return describe(compact)
}

// LinkDigestCandidates returns the descriptors a links entry may have been
// pushed as, most likely first: the walkthrough's heredoc layout (two-space
// indent and a final newline, which `signet generate artifact` and
// `push-signature` write), then compact, then compact with a newline.
func LinkDigestCandidates(compact []byte) []ocispec.Descriptor {
	var ind bytes.Buffer
	var out []ocispec.Descriptor
	if json.Indent(&ind, compact, "", "  ") == nil {
		ind.WriteByte('\n')
		out = append(out, describe(ind.Bytes()))
	}
	out = append(out, describe(compact), describe(append(append([]byte{}, compact...), '\n')))
	return out
}

func describe(b []byte) ocispec.Descriptor {
	return ocispec.Descriptor{MediaType: artifact.MediaTypeArtifactManifest, Digest: digest.FromBytes(b), Size: int64(len(b))}
}

// resolveLinkDigests confirms the digests of the first nodes, within the
// run's MaxLinkConfirmations, with HEAD requests; the rest stay unverified.
func (d *Discoverer) resolveLinkDigests(ctx context.Context, nodes []*Node) {
	d.mu.Lock()
	take := min(len(nodes), MaxLinkConfirmations-d.confirmed)
	d.confirmed += take
	d.unconfirmed += len(nodes) - take
	d.mu.Unlock()
	nodes = nodes[:take]
	eg, ectx := errgroup.WithContext(ctx)
	eg.SetLimit(d.opts.Concurrency)
	for _, n := range nodes {
		eg.Go(func() error {
			for _, c := range LinkDigestCandidates(n.Manifest) {
				ok, err := d.apiRepo.Manifests().Exists(ectx, c)
				if err == nil && ok {
					n.Digest, n.Size, n.DigestVerified = c.Digest, c.Size, true
					return nil
				}
			}
			return nil
		})
	}
	_ = eg.Wait()
}

// nestedProbe returns ctx asking the registry, with the referrers listing
// of a subject at depth, whether any of its referrers has referrers of its
// own (remote.WithNestedProbe; signet's embedded registry answers), when
// the discovery goes deeper than depth. leaf(ctx) then reports "none".
func (d *Discoverer) nestedProbe(ctx context.Context, depth int) context.Context {
	if depth >= d.opts.Depth {
		return ctx
	}
	ctx, p := remote.WithNestedProbe(ctx)
	return context.WithValue(ctx, probeKey{}, p)
}

type probeKey struct{}

// leaf reports that the registry said none of the referrers listed with
// ctx (from nestedProbe) has referrers of its own.
func leaf(ctx context.Context) bool {
	p, _ := ctx.Value(probeKey{}).(*remote.NestedProbe)
	return p != nil && p.None()
}
