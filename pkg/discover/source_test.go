package discover_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content/oci"
	orasremote "oras.land/oras-go/v2/registry/remote"

	"github.com/signet-oci/signet/pkg/artifact"
	"github.com/signet-oci/signet/pkg/discover"
	"github.com/signet-oci/signet/pkg/errdef"
	"github.com/signet-oci/signet/pkg/reference"
	"github.com/signet-oci/signet/pkg/registry"
)

// layoutFixture is an OCI layout directory on disk: an image tagged v1,
// written with oras-go's oci.Store, as signet copy and oras write one.
type layoutFixture struct {
	t       *testing.T
	dir     string
	store   *oci.Store
	subject ocispec.Descriptor
}

func newLayout(t *testing.T) *layoutFixture {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "lay")
	s, err := oci.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	f := &layoutFixture{t: t, dir: dir, store: s}
	cfg := f.blob(ocispec.MediaTypeImageConfig, []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`))
	layer := f.blob(ocispec.MediaTypeImageLayer, []byte("layer"))
	f.subject = f.manifest(ocispec.Manifest{Versioned: versioned, MediaType: ocispec.MediaTypeImageManifest, Config: cfg, Layers: []ocispec.Descriptor{layer}})
	if err := s.Tag(context.Background(), f.subject, "v1"); err != nil {
		t.Fatal(err)
	}
	return f
}

var versioned = ocispec.Manifest{}.Versioned

func init() { versioned.SchemaVersion = 2 }

func (f *layoutFixture) blob(mediaType string, b []byte) ocispec.Descriptor {
	f.t.Helper()
	d := ocispec.Descriptor{MediaType: mediaType, Digest: digest.FromBytes(b), Size: int64(len(b))}
	if ok, _ := f.store.Exists(context.Background(), d); ok {
		return d
	}
	if err := f.store.Push(context.Background(), d, bytes.NewReader(b)); err != nil {
		f.t.Fatal(err)
	}
	return d
}

func (f *layoutFixture) manifest(m any) ocispec.Descriptor {
	f.t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		f.t.Fatal(err)
	}
	mt := ocispec.MediaTypeImageManifest
	if _, ok := m.(ocispec.Index); ok {
		mt = ocispec.MediaTypeImageIndex
	}
	return f.blob(mt, b)
}

// artifactFor stores an OCI 1.1 artifact of artifactType with one blob,
// referring to subject.
func (f *layoutFixture) artifactFor(subject ocispec.Descriptor, artifactType, blobType string, blob []byte) ocispec.Descriptor {
	f.t.Helper()
	f.blob(artifact.EmptyConfig.MediaType, artifact.EmptyConfigData)
	b := f.blob(blobType, blob)
	return f.manifest(artifact.NewOCI(artifactType, b, subject, nil))
}

// open reads the layout afresh, read only, as a later process does.
func (f *layoutFixture) open(opts discover.Options, sel string) *discover.Discoverer {
	f.t.Helper()
	s, err := oci.NewFromFS(context.Background(), os.DirFS(f.dir))
	if err != nil {
		f.t.Fatal(err)
	}
	ref, err := reference.Parse("oci-layout:" + f.dir + sel)
	if err != nil {
		f.t.Fatal(err)
	}
	d, err := discover.NewSource(s, ref, opts)
	if err != nil {
		f.t.Fatal(err)
	}
	return d
}

func TestSourceDiscoversReferrersInALayout(t *testing.T) {
	f := newLayout(t)
	sig := f.artifactFor(f.subject, artifact.ArtifactTypeNotaryV2, artifact.MediaTypeJWT, []byte("a.b.c"))
	sbom := f.artifactFor(f.subject, "application/vnd.example.sbom", "application/json", []byte(`{}`))
	sbomSig := f.artifactFor(sbom, artifact.ArtifactTypeNotaryV2, artifact.MediaTypeJWT, []byte("d.e.f"))
	// An index listing the subject points at it too, but is no referrer.
	idx := f.manifest(ocispec.Index{Versioned: versioned, MediaType: ocispec.MediaTypeImageIndex, Manifests: []ocispec.Descriptor{f.subject}})
	if err := f.store.Tag(context.Background(), idx, "multi"); err != nil {
		t.Fatal(err)
	}

	g, err := f.open(discover.Options{}, ":v1").Discover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if g.Subject.Digest != f.subject.Digest || len(g.Subject.Annotations) != 0 {
		t.Errorf("subject %+v; want %s without the layout's ref.name annotation", g.Subject, f.subject.Digest)
	}
	want := map[string]string{discover.Links: "unsupported", discover.Referrers: "used", discover.TagFallback: "not needed"}
	for k, v := range want {
		if g.Mechanisms[k] != v {
			t.Errorf("mechanism %s = %q, want %q", k, g.Mechanisms[k], v)
		}
	}
	got := map[digest.Digest]*discover.Node{}
	for _, n := range g.Referrers {
		got[n.Digest] = n
	}
	if len(g.Referrers) != 2 || got[sig.Digest] == nil || got[sbom.Digest] == nil || got[idx.Digest] != nil {
		t.Fatalf("referrers %v; want %s and %s (not the index %s)", digests(g.Referrers), sig.Digest, sbom.Digest, idx.Digest)
	}
	if n := got[sig.Digest]; n.ArtifactType != artifact.ArtifactTypeNotaryV2 || !n.DigestVerified || len(n.Mechanisms) != 1 || n.Mechanisms[0] != discover.Referrers {
		t.Errorf("signature node %+v", n)
	}
	if kids := got[sbom.Digest].Referrers; len(kids) != 1 || kids[0].Digest != sbomSig.Digest {
		t.Errorf("referrers of the SBOM %v; want %s", digests(kids), sbomSig.Digest)
	}
	if g.Truncated {
		t.Error("truncated without a bound reached")
	}

	// --artifact-type and --depth 1.
	g, err = f.open(discover.Options{ArtifactType: "application/vnd.example.sbom", Depth: 1}, "@"+f.subject.Digest.String()).Discover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Referrers) != 1 || g.Referrers[0].Digest != sbom.Digest || len(g.Referrers[0].Referrers) != 0 {
		t.Errorf("filtered, depth 1: %v; want only %s, not followed", digests(g.Referrers), sbom.Digest)
	}

	// --max-referrers 1: one shown, truncated, said.
	g, err = f.open(discover.Options{MaxReferrers: 1, Depth: 1}, ":v1").Discover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Referrers) != 1 || !g.Truncated || len(g.Warnings) == 0 {
		t.Errorf("max 1: %d referrers, truncated %v, warnings %q", len(g.Referrers), g.Truncated, g.Warnings)
	}
}

func TestSourceSignatures(t *testing.T) {
	f := newLayout(t)
	good := f.artifactFor(f.subject, artifact.ArtifactTypeNotaryV2, artifact.MediaTypeJWT, []byte("a.b.c"))
	f.artifactFor(f.subject, "application/vnd.example.sbom", "application/json", []byte(`{}`))
	bad := f.artifactFor(f.subject, artifact.ArtifactTypeNotaryV2, artifact.MediaTypeJWT, []byte("x.y.z"))
	// The second envelope is changed on disk: its digest no longer matches.
	if err := os.WriteFile(filepath.Join(f.dir, "blobs", "sha256", digest.FromString("x.y.z").Encoded()), []byte("x.y.Z"), 0o644); err != nil {
		t.Fatal(err)
	}
	d := f.open(discover.Options{Depth: 1}, ":v1")
	subject, err := d.Resolve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	found, _, err := d.Signatures(context.Background(), subject, discover.SignatureOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 2 {
		t.Fatalf("%d signatures; want the two JWT artifacts, not the SBOM", len(found))
	}
	for _, s := range found {
		switch s.Artifact.Digest {
		case good.Digest:
			if s.Err != nil || string(s.Envelope) != "a.b.c" || s.Signature.Format != "jwt" {
				t.Errorf("good signature: %q, err %v", s.Envelope, s.Err)
			}
		case bad.Digest:
			if s.Err == nil || s.Envelope != nil {
				t.Errorf("tampered blob accepted: %q", s.Envelope)
			}
		default:
			t.Errorf("unexpected %s", s.Artifact.Digest)
		}
	}
}

func TestSourceErrors(t *testing.T) {
	f := newLayout(t)
	d := f.open(discover.Options{}, ":nope")
	if _, err := d.Discover(context.Background()); !errors.Is(err, errdef.ErrNotFound) {
		t.Errorf("unknown tag: %v; want not found", err)
	}
	d = f.open(discover.Options{}, "")
	if _, err := d.Discover(context.Background()); !errors.Is(err, errdef.ErrUsage) {
		t.Errorf("no tag: %v; want a usage error", err)
	}
	d = f.open(discover.Options{}, ":v1")
	subject, err := d.Resolve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := d.Signatures(context.Background(), subject, discover.SignatureOptions{}); !errors.Is(err, errdef.ErrNotFound) {
		t.Errorf("unsigned: %v; want not found", err)
	}
	if _, err := discover.NewSource(nil, reference.Reference{Raw: "x"}, discover.Options{}); err == nil {
		t.Error("a nil source accepted")
	}
}

func digests(ns []*discover.Node) []digest.Digest {
	var out []digest.Digest
	for _, n := range ns {
		out = append(out, n.Digest)
	}
	return out
}

// TestSourcePlatformManifestNotInIndexJSON: a manifest that index.json does
// not list (a platform manifest of a listed index) resolves by digest as a
// plain blob; discovery describes it by its own media type and finds its
// referrers.
func TestSourcePlatformManifestNotInIndexJSON(t *testing.T) {
	f := newLayout(t)
	idx := f.manifest(ocispec.Index{Versioned: versioned, MediaType: ocispec.MediaTypeImageIndex, Manifests: []ocispec.Descriptor{f.subject}})
	sig := f.artifactFor(f.subject, artifact.ArtifactTypeNotaryV2, artifact.MediaTypeJWT, []byte("a.b.c"))
	// index.json lists the index (tagged) and the signature, not the
	// platform manifest.
	index := ocispec.Index{Versioned: versioned, MediaType: ocispec.MediaTypeImageIndex, Manifests: []ocispec.Descriptor{
		{MediaType: idx.MediaType, Digest: idx.Digest, Size: idx.Size, Annotations: map[string]string{ocispec.AnnotationRefName: "multi"}},
		sig,
	}}
	b, err := json.Marshal(index)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(f.dir, "index.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	g, err := f.open(discover.Options{Depth: 1}, "@"+f.subject.Digest.String()).Discover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if g.Subject.MediaType != ocispec.MediaTypeImageManifest || g.Subject.Digest != f.subject.Digest || g.Subject.Size != f.subject.Size {
		t.Errorf("subject %+v; want the image manifest %s", g.Subject, f.subject.Digest)
	}
	if len(g.Referrers) != 1 || g.Referrers[0].Digest != sig.Digest {
		t.Errorf("referrers %v; want %s", digests(g.Referrers), sig.Digest)
	}
}

// Both kinds of place satisfy Source: a registry repository, an OCI layout
// (read-write and read-only).
var (
	_ discover.Source = (*orasremote.Repository)(nil)
	_ discover.Source = (*oci.Store)(nil)
	_ discover.Source = (*oci.ReadOnlyStore)(nil)
)

// TestSourceRegistryAndLayoutAgree: the layout's graph copied to a real
// registry (signet's embedded one, on a loopback listener) with oras-go's
// ExtendedCopy is discovered through NewSource over the registry
// repository with the same referrers, types and shapes as in the layout.
func TestSourceRegistryAndLayoutAgree(t *testing.T) {
	ctx := context.Background()
	f := newLayout(t)
	sig := f.artifactFor(f.subject, artifact.ArtifactTypeNotaryV2, artifact.MediaTypeJWT, []byte("a.b.c"))
	sbom := f.artifactFor(f.subject, "application/vnd.example.sbom", "application/json", []byte(`{}`))

	reg, err := registry.New(registry.Config{Memory: true})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: reg, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close(); reg.Close() })
	repo, err := orasremote.NewRepository(ln.Addr().String() + "/busybox")
	if err != nil {
		t.Fatal(err)
	}
	repo.PlainHTTP = true
	if _, err := oras.ExtendedCopy(ctx, f.store, "v1", repo, "v1", oras.DefaultExtendedCopyOptions); err != nil {
		t.Fatal(err)
	}

	ref, err := reference.Parse(ln.Addr().String() + "/busybox:v1")
	if err != nil {
		t.Fatal(err)
	}
	d, err := discover.NewSource(repo, ref, discover.Options{Depth: 1})
	if err != nil {
		t.Fatal(err)
	}
	fromRegistry, err := d.Discover(ctx)
	if err != nil {
		t.Fatal(err)
	}
	fromLayout, err := f.open(discover.Options{Depth: 1}, ":v1").Discover(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if fromRegistry.Subject.Digest != fromLayout.Subject.Digest || fromRegistry.Subject.MediaType != fromLayout.Subject.MediaType {
		t.Errorf("subjects %+v and %+v", fromRegistry.Subject, fromLayout.Subject)
	}
	want := []digest.Digest{sig.Digest, sbom.Digest}
	if sig.Digest > sbom.Digest {
		want = []digest.Digest{sbom.Digest, sig.Digest}
	}
	for name, g := range map[string]*discover.Graph{"registry": fromRegistry, "layout": fromLayout} {
		got := digests(g.Referrers)
		if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
			t.Errorf("%s: referrers %v; want %v", name, got, want)
		}
		for _, n := range g.Referrers {
			if n.Digest == sbom.Digest && n.ArtifactType != "application/vnd.example.sbom" {
				t.Errorf("%s: the SBOM's artifact type is %q", name, n.ArtifactType)
			}
		}
	}
}
