package discover_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/signet-oci/signet/internal/faultreg"
	"github.com/signet-oci/signet/pkg/artifact"
	"github.com/signet-oci/signet/pkg/discover"
	"github.com/signet-oci/signet/pkg/errdef"
	"github.com/signet-oci/signet/pkg/remote"
)

func index(entries ...ocispec.Descriptor) []byte {
	if entries == nil {
		entries = []ocispec.Descriptor{}
	}
	b, _ := json.Marshal(ocispec.Index{Versioned: specsV2, MediaType: ocispec.MediaTypeImageIndex, Manifests: entries})
	return b
}

func entry(d digest.Digest) ocispec.Descriptor {
	return ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, ArtifactType: "application/example", Digest: d, Size: 100}
}

// referrersGraph answers the referrers API from graph (subject -> its
// referrers) and 404s the links API.
func referrersGraph(graph map[digest.Digest][]digest.Digest) faultreg.Fault {
	return func(w http.ResponseWriter, r *http.Request) bool {
		if strings.Contains(r.URL.Path, "/_ext/") {
			w.WriteHeader(404)
			return true
		}
		i := strings.Index(r.URL.Path, "/referrers/")
		if i < 0 {
			return false
		}
		var es []ocispec.Descriptor
		for _, d := range graph[digest.Digest(r.URL.Path[i+len("/referrers/"):])] {
			es = append(es, entry(d))
		}
		w.Header().Set("Content-Type", ocispec.MediaTypeImageIndex)
		w.Write(index(es...))
		return true
	}
}

func newDiscoverer(t *testing.T, srv *faultreg.Server, ref string, ropts remote.Options, opts discover.Options) *discover.Discoverer {
	t.Helper()
	d, err := discover.New(srv.Client(t, ropts), srv.Ref(t, ref), opts)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestFaultCyclicReferrerGraph: A refers to the subject, B to A, and the
// registry claims A and the subject refer to B (cycles) and B to itself:
// discovery terminates, shows each node once, and warns.
func TestFaultCyclicReferrerGraph(t *testing.T) {
	srv := faultreg.New(t)
	s := srv.Seed(t, "busybox")
	a, b, c := digest.FromString("A"), digest.FromString("B"), digest.FromString("C")
	subj := s.Subject.Digest
	srv.Use(referrersGraph(map[digest.Digest][]digest.Digest{
		subj: {a, c},
		a:    {b, subj},
		b:    {a, b, subj, c},
		c:    {c},
	}))
	d := newDiscoverer(t, srv, "busybox:latest", remote.Options{}, discover.Options{Depth: 8})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	g, err := d.Discover(ctx)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[digest.Digest]int{}
	var walk func([]*discover.Node)
	walk = func(ns []*discover.Node) {
		for _, n := range ns {
			seen[n.Digest]++
			walk(n.Referrers)
		}
	}
	walk(g.Referrers)
	if len(seen) != 3 || seen[a] != 1 || seen[b] != 1 || seen[c] != 1 {
		t.Fatalf("nodes: %v", seen)
	}
	// The cycles A→B→A and subject→A→B→subject, the shared C and the
	// self-references of B and C: each warned about, nothing else.
	again := func(d digest.Digest) string {
		return "referrer " + d.String() + " appears more than once in the graph (a cycle or a shared referrer); shown once"
	}
	self := func(d digest.Digest) string {
		return "referrers lists the subject " + d.String() + " as its own referrer; ignored"
	}
	want := []string{again(a), again(subj), again(subj), again(c), self(b), self(c)}
	got := slices.Clone(g.Warnings)
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// 1 + one listing per node, no more
	if n := srv.Count(http.MethodGet, "/v2/busybox/referrers/"+b.String()); n != 1 {
		t.Fatalf("B listed %d times", n)
	}
}

// TestFaultDeepChain: a chain of referrers deeper than the maximum depth
// is cut at it.
func TestFaultDeepChain(t *testing.T) {
	srv := faultreg.New(t)
	s := srv.Seed(t, "busybox")
	graph := map[digest.Digest][]digest.Digest{}
	prev := s.Subject.Digest
	for i := range 50 {
		d := digest.FromString(fmt.Sprint(i))
		graph[prev] = []digest.Digest{d}
		prev = d
	}
	srv.Use(referrersGraph(graph))
	g, err := newDiscoverer(t, srv, "busybox:latest", remote.Options{}, discover.Options{}).Discover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	depth := 0
	for ns := g.Referrers; len(ns) > 0; ns = ns[0].Referrers {
		depth++
	}
	if depth != discover.DefaultMaxDepth {
		t.Fatalf("depth %d, want %d", depth, discover.DefaultMaxDepth)
	}
	_, err = discover.New(srv.Client(t, remote.Options{}), srv.Ref(t, "busybox:latest"), discover.Options{Depth: 9})
	if !errors.Is(err, errdef.ErrUsage) || err.Error() != "--depth 9 is over the maximum of 8" {
		t.Fatalf("--depth 9: %v, want the usage error \"--depth 9 is over the maximum of 8\"", err)
	}
}

// TestFaultEndlessPagination: a referrers API whose Link header always
// names a next page (a new one each time, or the same page again) is read
// for at most MaxPages pages; discovery keeps what it got and warns.
func TestFaultEndlessPagination(t *testing.T) {
	for _, cyclic := range []bool{false, true} {
		t.Run(fmt.Sprintf("cyclic=%v", cyclic), func(t *testing.T) {
			srv := faultreg.New(t)
			s := srv.Seed(t, "busybox")
			srv.Use(endlessPages(cyclic))
			d := newDiscoverer(t, srv, "busybox:latest", remote.Options{MaxPages: 7}, discover.Options{Depth: 1})
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			g, err := d.Discover(ctx)
			if err != nil {
				t.Fatal(err)
			}
			checkPageLimit(t, srv, g, s.Subject.Digest, 7)
		})
	}
	// Without MaxPages the listing is bounded by DefaultMaxPages.
	t.Run("default-bound", func(t *testing.T) {
		srv := faultreg.New(t)
		s := srv.Seed(t, "busybox")
		srv.Use(endlessPages(false))
		d := newDiscoverer(t, srv, "busybox:latest", remote.Options{}, discover.Options{Depth: 1})
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		g, err := d.Discover(ctx)
		if err != nil {
			t.Fatal(err)
		}
		checkPageLimit(t, srv, g, s.Subject.Digest, remote.DefaultMaxPages)
	})
}

// endlessPages answers the referrers API with one entry per page and a
// Link to a next page: a new one each time, or (cyclic) the same page
// again. The links API is off.
func endlessPages(cyclic bool) faultreg.Fault {
	return func(w http.ResponseWriter, r *http.Request) bool {
		if strings.Contains(r.URL.Path, "/_ext/") {
			w.WriteHeader(404)
			return true
		}
		if !strings.Contains(r.URL.Path, "/referrers/") {
			return false
		}
		page := 0
		fmt.Sscan(r.URL.Query().Get("page"), &page)
		next := page + 1
		if cyclic {
			next = page
		}
		w.Header().Set("Content-Type", ocispec.MediaTypeImageIndex)
		w.Header().Set("Link", fmt.Sprintf(`<%s?page=%d>; rel="next"`, r.URL.Path, next))
		w.Write(index(entry(digest.FromString(fmt.Sprint("page", page)))))
		return true
	}
}

// checkPageLimit requires the listing of subject to have stopped after
// exactly pages pages, the graph marked truncated with the page-limit
// warning.
func checkPageLimit(t *testing.T, srv *faultreg.Server, g *discover.Graph, subject digest.Digest, pages int) {
	t.Helper()
	if n := srv.Count(http.MethodGet, "/v2/busybox/referrers/"+subject.String()); n != pages {
		t.Fatalf("%d pages requested, want %d", n, pages)
	}
	if !g.Truncated {
		t.Fatalf("not marked truncated after the page limit; warnings %q", g.Warnings)
	}
	want := "referrers listing of " + subject.String() + " stopped after the page limit (a registry paginating without end?)"
	if len(g.Warnings) != 1 || !strings.HasPrefix(g.Warnings[0], want) {
		t.Fatalf("warnings %q, want the one %q", g.Warnings, want)
	}
}

// TestFaultLinksThousands: a links response with thousands of entries,
// most of them not pointing at the subject, is handled quickly with a
// bounded number of warnings; the examined signatures are bounded by
// MaxSignatures.
func TestFaultLinksThousands(t *testing.T) {
	srv := faultreg.New(t)
	s := srv.Seed(t, "busybox")
	var links []json.RawMessage
	other := digest.FromString("other")
	for i := range 5000 {
		subj := s.Subject.Digest
		if i%2 == 1 {
			subj = other
		}
		m := artifact.NewPrototype(ocispec.Descriptor{MediaType: artifact.MediaTypeJWT, Digest: digest.FromString(fmt.Sprint(i)), Size: 10}, ocispec.Descriptor{MediaType: s.Subject.MediaType, Digest: subj, Size: s.Subject.Size})
		b, _ := json.Marshal(m)
		links = append(links, b)
	}
	body, _ := json.Marshal(remote.LinksResponse{Digest: s.Subject.Digest.String(), Links: links})
	srv.Use(
		faultreg.Always(faultreg.Match(http.MethodGet, faultreg.PathContains("/_ext/")), 200, http.Header{"Content-Type": {"application/json"}}, body),
		faultreg.Always(faultreg.Match("", faultreg.PathContains("/blobs/sha256:")), 404, nil, nil),
	)
	d := newDiscoverer(t, srv, "busybox:latest", remote.Options{}, discover.Options{Depth: 1})
	start := time.Now()
	found, warnings, err := d.Signatures(context.Background(), s.Subject, discover.SignatureOptions{MaxSignatures: 50})
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 50 {
		t.Fatalf("%d examined, want 50", len(found))
	}
	if len(warnings) > discover.MaxWarnings+3 {
		t.Fatalf("%d warnings", len(warnings))
	}
	if took > 10*time.Second || srv.Total() > 200 {
		t.Fatalf("took %s and %d requests", took, srv.Total())
	}
	t.Logf("%d links in %s, %d requests, %d warnings (last %q)", len(links), took, srv.Total(), len(warnings), warnings[len(warnings)-1])
}

// TestFaultLinksHuge: a links response larger than MaxMetadataSize is
// refused with an error that says so.
func TestFaultLinksHuge(t *testing.T) {
	srv := faultreg.New(t)
	s := srv.Seed(t, "busybox")
	srv.Use(faultreg.Endless(faultreg.Match(http.MethodGet, faultreg.PathContains("/_ext/")), "application/json", []byte(`{"links":[`), []byte(`{"a":"`+strings.Repeat("x", 1000)+`"},`)))
	c := srv.Client(t, remote.Options{MaxMetadataSize: 1 << 20})
	_, err := c.Links(context.Background(), srv.Ref(t, "busybox:latest"), s.Subject.Digest.String(), "")
	if err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("err = %v", err)
	}
}

var specsV2 = specs.Versioned{SchemaVersion: 2}

// TestFaultExplodingGraph: a registry inventing 120 fresh referrers for
// every node: the graph stops at MaxGraphNodes, marked truncated, and the
// requests stay proportional to the nodes kept.
func TestFaultExplodingGraph(t *testing.T) {
	srv := faultreg.New(t)
	srv.Seed(t, "busybox")
	srv.Use(func(w http.ResponseWriter, r *http.Request) bool {
		if strings.Contains(r.URL.Path, "/_ext/") {
			w.WriteHeader(404)
			return true
		}
		i := strings.Index(r.URL.Path, "/referrers/")
		if i < 0 {
			return false
		}
		parent := r.URL.Path[i+len("/referrers/"):]
		es := make([]ocispec.Descriptor, 120)
		for j := range es {
			es[j] = entry(digest.FromString(parent + fmt.Sprint(j)))
		}
		w.Header().Set("Content-Type", ocispec.MediaTypeImageIndex)
		w.Write(index(es...))
		return true
	})
	d := newDiscoverer(t, srv, "busybox:latest", remote.Options{}, discover.Options{Depth: 4})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	g, err := d.Discover(ctx)
	if err != nil {
		t.Fatal(err)
	}
	nodes := 0
	var walk func([]*discover.Node)
	walk = func(ns []*discover.Node) {
		for _, n := range ns {
			nodes++
			walk(n.Referrers)
		}
	}
	walk(g.Referrers)
	if !g.Truncated || nodes > discover.MaxGraphNodes+1 || nodes < 1000 {
		t.Fatalf("truncated %v, %d nodes", g.Truncated, nodes)
	}
	if n := srv.Total(); n > int64(nodes)+50 {
		t.Fatalf("%d requests for %d nodes", n, nodes)
	}
	t.Logf("%d nodes, %d requests", nodes, srv.Total())
}

// TestLevelBudget: with the automatic depth a level of referrers of
// referrers is followed only while it costs at most LevelBudget requests;
// past it the graph is marked truncated with a warning that names --depth,
// and no request is spent on that level. An explicit depth follows it.
func TestLevelBudget(t *testing.T) {
	srv := faultreg.New(t)
	s := srv.Seed(t, "busybox")
	graph := map[digest.Digest][]digest.Digest{}
	var kids []digest.Digest
	for i := range 6 {
		k := digest.FromString(fmt.Sprint("kid", i))
		kids = append(kids, k)
		graph[k] = []digest.Digest{digest.FromString(fmt.Sprint("grandkid", i))}
	}
	graph[s.Subject.Digest] = kids
	srv.Use(referrersGraph(graph))
	listed := func() int {
		n := 0
		for _, k := range kids {
			n += srv.Count(http.MethodGet, "/v2/busybox/referrers/"+k.String())
		}
		return n
	}

	g, err := newDiscoverer(t, srv, "busybox:latest", remote.Options{}, discover.Options{LevelBudget: 5}).Discover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !g.Truncated || len(g.Referrers) != 6 || len(g.Referrers[0].Referrers) != 0 {
		t.Fatalf("over budget: truncated=%v, %d referrers, first has %d", g.Truncated, len(g.Referrers), len(g.Referrers[0].Referrers))
	}
	if !strings.Contains(strings.Join(g.Warnings, "\n"), "--depth 8") {
		t.Errorf("no warning naming --depth: %q", g.Warnings)
	}
	if n := listed(); n != 0 {
		t.Errorf("%d requests spent on the level that was not followed", n)
	}

	g, err = newDiscoverer(t, srv, "busybox:latest", remote.Options{}, discover.Options{LevelBudget: 6}).Discover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if g.Truncated || len(g.Referrers[0].Referrers) != 1 {
		t.Fatalf("within budget: truncated=%v, first has %d referrers", g.Truncated, len(g.Referrers[0].Referrers))
	}

	before := listed()
	g, err = newDiscoverer(t, srv, "busybox:latest", remote.Options{}, discover.Options{Depth: 8, LevelBudget: 1}).Discover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if g.Truncated || len(g.Referrers[5].Referrers) != 1 || listed()-before != 6 {
		t.Fatalf("explicit depth: truncated=%v, last has %d referrers, %d listings", g.Truncated, len(g.Referrers[5].Referrers), listed()-before)
	}
}
