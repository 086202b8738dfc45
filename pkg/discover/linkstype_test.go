package discover_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/signet-oci/signet/internal/faultreg"
	"github.com/signet-oci/signet/pkg/artifact"
	"github.com/signet-oci/signet/pkg/discover"
	"github.com/signet-oci/signet/pkg/remote"
)

// requireLinksType answers a links request without ?artifact-type= as the
// 2021 prototype registry does (400 ARTIFACT_TYPE_UNSPECIFIED) and records
// the artifact type of every links request.
// noNestedHint removes the request for the nested-referrers hint, so that
// the embedded registry answers as a registry without it.
func noNestedHint(_ http.ResponseWriter, r *http.Request) bool {
	r.Header.Del(remote.HeaderWantNested)
	return false
}

func requireLinksType(asked *[]string, mu *sync.Mutex) faultreg.Fault {
	return func(w http.ResponseWriter, r *http.Request) bool {
		if !strings.Contains(r.URL.Path, "/_ext/oci-artifacts/v1/") {
			return false
		}
		at := r.URL.Query().Get("artifact-type")
		mu.Lock()
		*asked = append(*asked, at)
		mu.Unlock()
		if at != "" {
			return false
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"errors":[{"code":"ARTIFACT_TYPE_UNSPECIFIED","message":"manifest link artifact type is not specified"}]}` + "\n"))
		return true
	}
}

// seedPrototype pushes a subject with an OCI signature (faultreg.Seed) and
// a prototype signature artifact of it; it returns the seed and the
// prototype artifact's config (its JWT blob).
func seedPrototype(t *testing.T, srv *faultreg.Server) *faultreg.Seeded {
	t.Helper()
	s := srv.Seed(t, "busybox")
	m, err := artifact.NewPrototype(s.Blob, s.Subject).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	srv.PushManifest(t, "busybox", "", artifact.MediaTypeArtifactManifest, m)
	return s
}

// TestLinksArtifactTypeRequired: a 400 ARTIFACT_TYPE_UNSPECIFIED means "ask
// with a type", never "no links API".
func TestLinksArtifactTypeRequired(t *testing.T) {
	srv := faultreg.New(t)
	s := seedPrototype(t, srv)
	var mu sync.Mutex
	var asked []string
	srv.Use(requireLinksType(&asked, &mu))
	c := srv.Client(t, remote.Options{})
	ref := srv.Ref(t, "busybox:latest")
	_, err := c.Links(context.Background(), ref, s.Subject.Digest.String(), "")
	if !errors.Is(err, remote.ErrLinksArtifactTypeRequired) || errors.Is(err, remote.ErrLinksUnsupported) {
		t.Fatalf("without a type: err = %v, want ErrLinksArtifactTypeRequired", err)
	}
	lr, err := c.Links(context.Background(), ref, s.Subject.Digest.String(), artifact.ArtifactTypeNotaryV2)
	if err != nil || len(lr.Links) != 1 {
		t.Fatalf("with a type: %v, %+v", err, lr)
	}
}

// TestDiscoverLinksPerType: discover without --artifact-type on a registry
// that requires one asks once per signature type signet knows, says so in
// the mechanisms and a warning, finds the prototype signature, and keeps
// asking per type (no second typeless request) at the next level.
func TestDiscoverLinksPerType(t *testing.T) {
	srv := faultreg.New(t)
	s := seedPrototype(t, srv)
	var mu sync.Mutex
	var asked []string
	// Without the nested-referrers hint (noNestedHint), as on a registry
	// other than signet's: the next level is asked.
	srv.Use(noNestedHint, requireLinksType(&asked, &mu))
	d := newDiscoverer(t, srv, "busybox:latest", remote.Options{}, discover.Options{ResolveLinkDigests: true, Depth: 2})
	g, err := d.Discover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := g.Mechanisms[discover.Links]; got != discover.UsedPerArtifactType {
		t.Errorf("mechanisms[links] = %q, want %q", got, discover.UsedPerArtifactType)
	}
	if strings.Join(g.LinksArtifactTypes, " ") != strings.Join(artifact.SignatureArtifactTypes(), " ") {
		t.Errorf("LinksArtifactTypes = %v", g.LinksArtifactTypes)
	}
	var prototype, oci bool
	for _, n := range g.Referrers {
		switch {
		case n.Config != nil && n.Config.Digest == s.Blob.Digest && n.DigestVerified:
			prototype = true
		case n.Digest == s.Artifact.Digest:
			oci = true
		}
	}
	if !prototype || !oci {
		t.Errorf("referrers %+v: prototype found %v, oci found %v", g.Referrers, prototype, oci)
	}
	warned := 0
	for _, w := range g.Warnings {
		if strings.Contains(w, "requires an artifact type") && strings.Contains(w, artifact.ArtifactTypeNotaryV2) && strings.Contains(w, artifact.ArtifactTypeNotation) {
			warned++
		}
	}
	if warned != 1 {
		t.Errorf("want one warning about asking per type, got %q", g.Warnings)
	}
	typeless := 0
	for _, a := range asked {
		if a == "" {
			typeless++
		}
	}
	// The subject: typeless (400), then the two types; depth 2, for each
	// of the two referrers: the two types.
	if typeless != 1 || len(asked) != 1+2+2*2 {
		t.Errorf("links asked for %q: want one typeless request, then per type", asked)
	}
}

// TestSignaturesLinksTyped: verify and pull-signature ask the links API for
// the prototype's signature type, in one request, on every registry.
func TestSignaturesLinksTyped(t *testing.T) {
	srv := faultreg.New(t)
	s := seedPrototype(t, srv)
	var mu sync.Mutex
	var asked []string
	srv.Use(requireLinksType(&asked, &mu))
	d := newDiscoverer(t, srv, "busybox:latest", remote.Options{}, discover.Options{Depth: 1})
	found, warnings, err := d.Signatures(context.Background(), s.Subject, discover.SignatureOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 2 {
		t.Fatalf("found %d signatures, want the prototype and the oci one (warnings %q)", len(found), warnings)
	}
	byLinks := false
	for _, f := range found {
		if f.Err != nil {
			t.Errorf("%s: %v", f.Artifact.Digest, f.Err)
		}
		if len(f.Mechanisms) == 1 && f.Mechanisms[0] == discover.Links {
			byLinks = true
		}
	}
	if !byLinks {
		t.Error("the prototype signature was not found through the links API")
	}
	if len(asked) != 1 || asked[0] != artifact.ArtifactTypeNotaryV2 {
		t.Errorf("links asked for %q, want once for %s", asked, artifact.ArtifactTypeNotaryV2)
	}
	for _, w := range warnings {
		if strings.Contains(w, "requires an artifact type") {
			t.Errorf("unexpected warning %q", w)
		}
	}
}

// TestDiscoverLinksTypeRequiredEvenWithType: a registry answering 400
// ARTIFACT_TYPE_UNSPECIFIED even to a request with a type is asked once
// without and at most once per type, and the error says what it answered.
func TestDiscoverLinksTypeRequiredEvenWithType(t *testing.T) {
	srv := faultreg.New(t)
	s := seedPrototype(t, srv)
	srv.Use(faultreg.Always(faultreg.Match(http.MethodGet, faultreg.PathContains("/_ext/oci-artifacts/v1/")), http.StatusBadRequest,
		http.Header{"Content-Type": {"application/json"}}, []byte(`{"errors":[{"code":"ARTIFACT_TYPE_UNSPECIFIED","message":"manifest link artifact type is not specified"}]}`)))
	d := newDiscoverer(t, srv, "busybox:latest", remote.Options{}, discover.Options{})
	_, err := d.Discover(context.Background())
	if !errors.Is(err, remote.ErrLinksArtifactTypeRequired) || !strings.Contains(err.Error(), "ARTIFACT_TYPE_UNSPECIFIED") {
		t.Fatalf("err = %v", err)
	}
	path := "/v2/_ext/oci-artifacts/v1/busybox/manifests/" + s.Subject.Digest.String() + "/links"
	// The typed requests go out together; the first refusal may cancel
	// the others before they are sent.
	if n, most := srv.Count(http.MethodGet, path), 1+len(artifact.SignatureArtifactTypes()); n < 2 || n > most {
		t.Errorf("links asked %d times, want 2 to %d", n, most)
	}
}
