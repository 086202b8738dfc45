package transfer_test

import (
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content/oci"

	"github.com/signet-oci/signet/internal/faultreg"
	"github.com/signet-oci/signet/pkg/artifact"
	"github.com/signet-oci/signet/pkg/discover"
	"github.com/signet-oci/signet/pkg/manifest"
	"github.com/signet-oci/signet/pkg/reference"
	"github.com/signet-oci/signet/pkg/registry"
	"github.com/signet-oci/signet/pkg/remote"
	"github.com/signet-oci/signet/pkg/transfer"
)

// source is a registry (links API and referrers API) holding an image
// with an OCI 1.1 signature, a prototype signature, and a referrer of the
// OCI signature (an SBOM-like artifact).
type source struct {
	srv      *faultreg.Server
	seed     *faultreg.Seeded
	proto    ocispec.Descriptor
	jwt2     ocispec.Descriptor // the prototype's JWT
	nested   ocispec.Descriptor
	manifest int // manifests in the graph: image, OCI sig, prototype, nested
}

func newSource(t *testing.T) *source {
	t.Helper()
	srv := faultreg.New(t)
	s := srv.Seed(t, "src")
	// The prototype carries another signature of the same image (its own
	// JWT), so its conversion differs from the OCI signature above.
	other := srv.SignatureFor(t, "aux", s.Subject)
	jwt2 := srv.PushBlob(t, "src", artifact.MediaTypeJWT, other.Token)
	pm, err := artifact.NewPrototype(jwt2, s.Subject).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	proto := srv.PushManifest(t, "src", "", artifact.MediaTypeArtifactManifest, pm)
	layer := srv.PushBlob(t, "src", "application/spdx+json", []byte(`{"spdxVersion":"SPDX-2.3"}`))
	srv.PushBlob(t, "src", artifact.EmptyConfig.MediaType, artifact.EmptyConfigData)
	sbom := ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest, ArtifactType: "application/spdx+json", Config: artifact.EmptyConfig, Layers: []ocispec.Descriptor{layer}, Subject: &s.Artifact}
	sbom.SchemaVersion = 2
	sbom.Subject = &ocispec.Descriptor{MediaType: s.Artifact.MediaType, Digest: s.Artifact.Digest, Size: s.Artifact.Size}
	sb, _ := json.Marshal(sbom)
	nested := srv.PushManifest(t, "src", "", ocispec.MediaTypeImageManifest, sb)
	return &source{srv: srv, seed: s, proto: proto, jwt2: jwt2, nested: nested, manifest: 4}
}

func open(t *testing.T, c *remote.Client, ref reference.Reference) transfer.Endpoint {
	t.Helper()
	repo, err := c.Repository(ref)
	if err != nil {
		t.Fatal(err)
	}
	return transfer.Endpoint{Ref: ref, Target: repo}
}

func runCopy(t *testing.T, src *source, dst *faultreg.Server, opts transfer.Options) (*transfer.Result, error) {
	t.Helper()
	c := src.srv.Client(t, remote.Options{PlainHTTP: true})
	sref := src.srv.Ref(t, "src:latest")
	dref := dst.Ref(t, "dst:latest")
	opts.Recursive = true
	opts.Tag = "latest"
	return transfer.Copy(context.Background(), c, open(t, c, sref), open(t, c, dref), src.seed.Subject, opts)
}

// dstGraph discovers the destination's graph as signet would.
func dstGraph(t *testing.T, dst *faultreg.Server) *discover.Graph {
	t.Helper()
	c := dst.Client(t, remote.Options{PlainHTTP: true})
	d, err := discover.New(c, dst.Ref(t, "dst:latest"), discover.Options{Depth: 3})
	if err != nil {
		t.Fatal(err)
	}
	g, err := d.Discover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func digestsOf(ns []*discover.Node) []string {
	var out []string
	for _, n := range ns {
		out = append(out, n.Digest.String())
	}
	sort.Strings(out)
	return out
}

// TestCopyToRegistryWithoutReferrersAPI: to a registry with neither the
// links API nor the referrers API (like distribution), the OCI signature
// and its referrer travel as they are and are indexed under the
// sha256-<hex> tag; the prototype signature becomes an OCI 1.1 artifact
// with the same JWT and the image as subject. A second run sends only
// existence checks.
func TestCopyToRegistryWithoutReferrersAPI(t *testing.T) {
	src := newSource(t)
	dst := faultreg.NewConfig(t, registry.Config{DisableReferrersAPI: true, DisableLinks: true})
	res, err := runCopy(t, src, dst, transfer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Referrers) != 3 || res.Converted() != 1 {
		t.Fatalf("copied %+v, want 3 referrers with 1 converted", res.Referrers)
	}
	var converted transfer.Copied
	for _, r := range res.Referrers {
		if r.Existed {
			t.Errorf("%s reported as existing on a first copy", r.Source.Digest)
		}
		if r.Discovery != transfer.DiscoveryTagFallback {
			t.Errorf("%s: discovery %q, want tag-fallback", r.Source.Digest, r.Discovery)
		}
		if r.Converted {
			converted = r
		}
	}
	if converted.Source.Digest != src.proto.Digest {
		t.Fatalf("converted %s, want the prototype %s", converted.Source.Digest, src.proto.Digest)
	}
	// The converted artifact carries the JWT and names the image.
	c := dst.Client(t, remote.Options{PlainHTTP: true})
	repo, _ := c.Repository(dst.Ref(t, "dst:latest"))
	b, err := manifest.Fetch(context.Background(), repo, converted.Destination)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := artifact.Parse(ocispec.MediaTypeImageManifest, b)
	if err != nil || sig.Kind != artifact.KindOCIJWT || sig.Blob.Digest != src.jwt2.Digest || !sig.Names(src.seed.Subject.Digest) {
		t.Fatalf("converted artifact %s: %+v, %v", b, sig, err)
	}
	g := dstGraph(t, dst)
	want := []string{converted.Destination.Digest.String(), src.seed.Artifact.Digest.String()}
	sort.Strings(want)
	if got := digestsOf(g.Referrers); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("destination referrers %v, want %v", got, want)
	}
	for _, n := range g.Referrers {
		if n.Digest == src.seed.Artifact.Digest && (len(n.Referrers) != 1 || n.Referrers[0].Digest != src.nested.Digest) {
			t.Fatalf("the signature's referrer did not travel: %+v", n.Referrers)
		}
	}

	// Again: existence checks only, at most one request per manifest at
	// the destination, and nothing written.
	before := dst.Total()
	puts := dst.Count(http.MethodPut, "/v2/dst/manifests/latest")
	res, err = runCopy(t, src, dst, transfer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sent := dst.Total() - before
	if sent > int64(src.manifest) {
		t.Errorf("the second copy sent %d requests to the destination, want at most %d (one per manifest)", sent, src.manifest)
	}
	if dst.Count(http.MethodPut, "/v2/dst/manifests/latest") != puts {
		t.Error("the second copy tagged again")
	}
	for _, r := range res.Referrers {
		if !r.Existed {
			t.Errorf("second copy: %s not reported as existing", r.Source.Digest)
		}
	}
}

// TestCopyKeepsPrototypeWhereLinksServed: a destination with the links API
// gets the prototype artifact byte for byte; the OCI artifacts are found
// through its referrers API.
func TestCopyKeepsPrototypeWhereLinksServed(t *testing.T) {
	src := newSource(t)
	dst := faultreg.New(t)
	res, err := runCopy(t, src, dst, transfer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Converted() != 0 || len(res.Referrers) != 3 {
		t.Fatalf("copied %+v", res.Referrers)
	}
	for _, r := range res.Referrers {
		want := transfer.DiscoveryReferrers
		if r.Source.Digest == src.proto.Digest {
			want = transfer.DiscoveryLinks
		}
		if r.Discovery != want || r.Destination.Digest != r.Source.Digest {
			t.Errorf("%s: %+v, want discovery %s and the same digest", r.Source.Digest, r, want)
		}
	}
	if dst.Count(http.MethodGet, "/v2/dst/manifests/sha256-"+src.seed.Subject.Digest.Encoded()) != 0 {
		t.Error("the referrers tag was touched on a registry with the referrers API")
	}
	g := dstGraph(t, dst)
	if got := digestsOf(g.Referrers); len(got) != 2 {
		t.Fatalf("destination referrers %v", got)
	}
}

// TestCopyArtifactTypeFilter keeps only the type asked for.
func TestCopyArtifactTypeFilter(t *testing.T) {
	src := newSource(t)
	dst := faultreg.New(t)
	res, err := runCopy(t, src, dst, transfer.Options{ArtifactType: "application/spdx+json"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Referrers) != 0 {
		t.Fatalf("the SBOM's subject is a signature, which is filtered out; copied %+v", res.Referrers)
	}
	res, err = runCopy(t, src, dst, transfer.Options{ArtifactType: artifact.ArtifactTypeNotaryV2})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Referrers) != 2 {
		t.Fatalf("copied %+v, want the two signatures", res.Referrers)
	}
}

// TestCopyNoReferrers: an image without referrers copies, with an empty
// list.
func TestCopyNoReferrers(t *testing.T) {
	srv := faultreg.New(t)
	s := srv.Seed(t, "other") // the image only is copied from "other"'s twin
	c := srv.Client(t, remote.Options{PlainHTTP: true})
	srv.PushBlob(t, "plain", "", []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`))
	img := srv.PushManifest(t, "plain", "v1", s.Subject.MediaType, mustFetch(t, c, srv.Ref(t, "other:latest"), s.Subject))
	dst := faultreg.NewConfig(t, registry.Config{DisableReferrersAPI: true, DisableLinks: true})
	res, err := transfer.Copy(context.Background(), c, open(t, c, srv.Ref(t, "plain:v1")), open(t, c, dst.Ref(t, "dst:v1")), img, transfer.Options{Recursive: true, Tag: "v1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Referrers) != 0 || res.RootExisted {
		t.Fatalf("%+v", res)
	}
}

func mustFetch(t *testing.T, c *remote.Client, ref reference.Reference, d ocispec.Descriptor) []byte {
	t.Helper()
	repo, _ := c.Repository(ref)
	b, err := manifest.Fetch(context.Background(), repo, d)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestCopyRefusedManifest: a destination that refuses one referrer's
// manifest fails the copy, and the result does not list it.
func TestCopyRefusedManifest(t *testing.T) {
	src := newSource(t)
	dst := faultreg.New(t)
	refused := src.seed.Artifact.Digest
	dst.Use(func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, "/manifests/"+refused.String()) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"errors":[{"code":"MANIFEST_INVALID","message":"policy: no signatures here"}]}`))
			return true
		}
		return false
	})
	res, err := runCopy(t, src, dst, transfer.Options{Concurrency: 1})
	if err == nil || !strings.Contains(err.Error(), refused.String()) {
		t.Fatalf("err = %v, want a refusal naming %s", err, refused)
	}
	for _, r := range res.Referrers {
		if r.Source.Digest == refused || r.Source.Digest == src.nested.Digest {
			t.Fatalf("%s reported copied although refused: %+v", r.Source.Digest, res.Referrers)
		}
	}
}

// TestCopyIndex: an index travels with every platform manifest and the
// referrers of each.
func TestCopyIndex(t *testing.T) {
	srv := faultreg.New(t)
	amd := srv.Seed(t, "multi")
	// A second platform manifest with its own signature.
	cfg := srv.PushBlob(t, "multi", ocispec.MediaTypeImageConfig, []byte(`{"architecture":"arm64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`))
	m := ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest, Config: cfg, Layers: []ocispec.Descriptor{}}
	m.SchemaVersion = 2
	mb, _ := json.Marshal(m)
	arm := srv.PushManifest(t, "multi", "", ocispec.MediaTypeImageManifest, mb)
	armSig := srv.SignatureFor(t, "multi", arm)
	idx := ocispec.Index{MediaType: ocispec.MediaTypeImageIndex, Manifests: []ocispec.Descriptor{
		{MediaType: amd.Subject.MediaType, Digest: amd.Subject.Digest, Size: amd.Subject.Size, Platform: &ocispec.Platform{OS: "linux", Architecture: "amd64"}},
		{MediaType: arm.MediaType, Digest: arm.Digest, Size: arm.Size, Platform: &ocispec.Platform{OS: "linux", Architecture: "arm64"}},
	}}
	idx.SchemaVersion = 2
	ib, _ := json.Marshal(idx)
	index := srv.PushManifest(t, "multi", "v1", ocispec.MediaTypeImageIndex, ib)
	indexSig := srv.SignatureFor(t, "multi", index)

	dst := faultreg.NewConfig(t, registry.Config{DisableReferrersAPI: true, DisableLinks: true})
	c := srv.Client(t, remote.Options{PlainHTTP: true})
	res, err := transfer.Copy(context.Background(), c, open(t, c, srv.Ref(t, "multi:v1")), open(t, c, dst.Ref(t, "dst:v1")), index, transfer.Options{Recursive: true, Tag: "v1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Manifests) != 2 {
		t.Fatalf("platform manifests %+v", res.Manifests)
	}
	got := map[digest.Digest]digest.Digest{}
	for _, r := range res.Referrers {
		got[r.Source.Digest] = r.Subject
	}
	want := map[digest.Digest]digest.Digest{amd.Artifact.Digest: amd.Subject.Digest, armSig.Artifact.Digest: arm.Digest, indexSig.Artifact.Digest: index.Digest}
	if len(got) != len(want) {
		t.Fatalf("copied %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("copied %v, want %v", got, want)
		}
	}
	// The arm64 signature is found at the destination.
	dc := dst.Client(t, remote.Options{PlainHTTP: true})
	d, _ := discover.New(dc, dst.Ref(t, "dst@"+arm.Digest.String()), discover.Options{})
	g, err := d.Discover(context.Background())
	if err != nil || len(g.Referrers) != 1 || g.Referrers[0].Digest != armSig.Artifact.Digest {
		t.Fatalf("arm64 referrers at the destination: %+v, %v", g, err)
	}
}

// TestCopyToLayoutAndBack: registry -> OCI layout (the prototype is
// converted: a layout has no links API) -> another registry.
func TestCopyToLayoutAndBack(t *testing.T) {
	src := newSource(t)
	c := src.srv.Client(t, remote.Options{PlainHTTP: true})
	dir := t.TempDir() + "/layout"
	store, err := oci.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	lref, _ := reference.Parse("oci-layout:" + dir + ":latest")
	res, err := transfer.Copy(context.Background(), c, open(t, c, src.srv.Ref(t, "src:latest")), transfer.Endpoint{Ref: lref, Target: store}, src.seed.Subject, transfer.Options{Recursive: true, Tag: "latest"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Referrers) != 3 || res.Converted() != 1 {
		t.Fatalf("to the layout: %+v", res.Referrers)
	}
	for _, r := range res.Referrers {
		if r.Discovery != transfer.DiscoveryLayout {
			t.Errorf("%+v", r)
		}
	}
	// Reopen (as another process would) and copy on.
	store2, err := oci.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	dst := faultreg.NewConfig(t, registry.Config{DisableReferrersAPI: true, DisableLinks: true})
	res, err = transfer.Copy(context.Background(), c, transfer.Endpoint{Ref: lref, Target: store2}, open(t, c, dst.Ref(t, "dst:latest")), src.seed.Subject, transfer.Options{Recursive: true, Tag: "latest"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Referrers) != 3 || res.Converted() != 0 {
		t.Fatalf("from the layout: %+v", res.Referrers)
	}
	g := dstGraph(t, dst)
	if len(g.Referrers) != 2 {
		t.Fatalf("destination referrers %+v", g.Referrers)
	}
}

// recorder is an Observer that records events.
type recorder struct {
	mu      sync.Mutex
	started map[digest.Digest]bool
	done    map[digest.Digest]bool
	skipped map[digest.Digest]bool
	bytes   map[digest.Digest]int64
}

func newRecorder() *recorder {
	return &recorder{started: map[digest.Digest]bool{}, done: map[digest.Digest]bool{}, skipped: map[digest.Digest]bool{}, bytes: map[digest.Digest]int64{}}
}
func (r *recorder) Start(d ocispec.Descriptor) {
	r.mu.Lock()
	r.started[d.Digest] = true
	r.mu.Unlock()
}
func (r *recorder) Read(d ocispec.Descriptor, n int64) {
	r.mu.Lock()
	r.bytes[d.Digest] += n
	r.mu.Unlock()
}
func (r *recorder) Done(d ocispec.Descriptor) { r.mu.Lock(); r.done[d.Digest] = true; r.mu.Unlock() }
func (r *recorder) Skipped(d ocispec.Descriptor) {
	r.mu.Lock()
	r.skipped[d.Digest] = true
	r.mu.Unlock()
}
func (r *recorder) Mounted(d ocispec.Descriptor) { r.mu.Lock(); r.done[d.Digest] = true; r.mu.Unlock() }

// TestCopyObserver: the observer hears of every blob copied, with its
// bytes, and of what the destination had already.
func TestCopyObserver(t *testing.T) {
	src := newSource(t)
	dst := faultreg.New(t)
	rec := newRecorder()
	if _, err := runCopy(t, src, dst, transfer.Options{Observer: rec}); err != nil {
		t.Fatal(err)
	}
	jwt := src.seed.Blob
	if !rec.started[jwt.Digest] || !rec.done[jwt.Digest] || rec.bytes[jwt.Digest] != jwt.Size {
		t.Fatalf("the JWT blob: started %v done %v bytes %d (want %d)", rec.started[jwt.Digest], rec.done[jwt.Digest], rec.bytes[jwt.Digest], jwt.Size)
	}
	if !rec.done[src.seed.Subject.Digest] {
		t.Error("the image manifest was not reported done")
	}
	rec2 := newRecorder()
	if _, err := runCopy(t, src, dst, transfer.Options{Observer: rec2}); err != nil {
		t.Fatal(err)
	}
	if len(rec2.started) != 0 || !rec2.skipped[src.seed.Subject.Digest] || !rec2.skipped[src.seed.Artifact.Digest] {
		t.Fatalf("second copy: started %v, skipped %v", rec2.started, rec2.skipped)
	}
}

// TestCopyRefusedManifestTagFallback: where the destination needs the tag
// fallback, what was pushed before a refusal is still indexed, and only
// what is found there is reported copied.
func TestCopyRefusedManifestTagFallback(t *testing.T) {
	src := newSource(t)
	dst := faultreg.NewConfig(t, registry.Config{DisableReferrersAPI: true, DisableLinks: true})
	// One at a time, in digest order: the second is refused, after the
	// first was pushed.
	subject := ocispec.Descriptor{MediaType: src.seed.Subject.MediaType, Digest: src.seed.Subject.Digest, Size: src.seed.Subject.Size}
	cb, _ := artifact.MarshalOCI(artifact.NewOCI(artifact.ArtifactTypeNotaryV2, src.jwt2, subject, nil))
	converted := digest.FromBytes(cb)
	refused, source := src.seed.Artifact.Digest, src.seed.Artifact.Digest
	if src.proto.Digest > src.seed.Artifact.Digest {
		refused, source = converted, src.proto.Digest
	}
	dst.Use(func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, "/manifests/"+refused.String()) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"errors":[{"code":"MANIFEST_INVALID","message":"no"}]}`))
			return true
		}
		return false
	})
	res, err := runCopy(t, src, dst, transfer.Options{Concurrency: 1})
	if err == nil || !strings.Contains(err.Error(), refused.String()) {
		t.Fatalf("err = %v", err)
	}
	if len(res.Referrers) != 1 || res.Referrers[0].Source.Digest == source {
		t.Fatalf("reported %+v, want the one pushed before the refusal of %s", res.Referrers, refused)
	}
	found := map[string]bool{}
	for _, d := range digestsOf(dstGraph(t, dst).Referrers) {
		found[d] = true
	}
	for _, r := range res.Referrers {
		if r.Source.Digest == refused || !found[r.Destination.Digest.String()] {
			t.Errorf("reported %+v, but the destination lists %v", r, found)
		}
	}
}
