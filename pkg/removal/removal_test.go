package removal_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/signet-oci/signet/internal/faultreg"
	"github.com/signet-oci/signet/pkg/errdef"
	"github.com/signet-oci/signet/pkg/registry"
	"github.com/signet-oci/signet/pkg/remote"
	"github.com/signet-oci/signet/pkg/removal"
)

// TestFindAndExecute: a proven signature is found and deleted, its sibling
// and a non-signature referrer stay; a non-signature is refused.
func TestFindAndExecute(t *testing.T) {
	srv := faultreg.New(t)
	s := srv.Seed(t, "busybox")
	sibling := srv.SignatureFor(t, "busybox", s.Subject)
	// A referrer that is not a signature (an SBOM-like artifact).
	sbomBlob := srv.PushBlob(t, "busybox", "application/spdx+json", []byte(`{"spdxVersion":"SPDX-2.3"}`))
	srv.PushBlob(t, "busybox", "application/vnd.oci.empty.v1+json", []byte("{}"))
	sbom := srv.PushManifest(t, "busybox", "", ocispec.MediaTypeImageManifest, []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/spdx+json","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[{"mediaType":"application/spdx+json","digest":"`+sbomBlob.Digest.String()+`","size":`+itoa(sbomBlob.Size)+`}],"subject":{"mediaType":"`+s.Subject.MediaType+`","digest":"`+s.Subject.Digest.String()+`","size":`+itoa(s.Subject.Size)+`}}`))
	client := srv.Client(t, remote.Options{})
	ref := srv.Ref(t, "busybox@"+s.Subject.Digest.String())
	ctx := context.Background()

	_, err := removal.Find(ctx, client, ref, sbom.Digest)
	if !errors.Is(err, errdef.ErrNotFound) || !strings.Contains(err.Error(), "is not a signature of") {
		t.Fatalf("an SBOM: %v", err)
	}
	_, err = removal.Find(ctx, client, ref, digest.FromString("nothing"))
	if !errors.Is(err, errdef.ErrNotFound) {
		t.Fatalf("unknown digest: %v", err)
	}

	p, err := removal.Find(ctx, client, ref, s.Artifact.Digest)
	if err != nil {
		t.Fatal(err)
	}
	if p.Format != "jwt" || len(p.Mechanisms) == 0 || p.Mechanisms[0] != removal.Referrers {
		t.Fatalf("plan %+v", p)
	}
	res, err := p.Execute(ctx, client)
	if err != nil || res.AlreadyGone || len(res.StillListedBy) != 0 {
		t.Fatalf("execute: %v %+v", err, res)
	}
	if n := srv.Count(http.MethodDelete, "/v2/busybox/manifests/"+s.Artifact.Digest.String()); n != 1 {
		t.Errorf("%d DELETE requests, want 1", n)
	}
	if _, err := removal.Find(ctx, client, ref, s.Artifact.Digest); !errors.Is(err, errdef.ErrNotFound) {
		t.Errorf("deleted signature still found: %v", err)
	}
	if _, err := removal.Find(ctx, client, ref, sibling.Artifact.Digest); err != nil {
		t.Errorf("the other signature: %v", err)
	}
	// The SBOM is still there.
	resp, _ := srv.Do(t, http.MethodHead, "/v2/busybox/manifests/"+sbom.Digest.String(), "", nil)
	if resp.StatusCode != http.StatusOK {
		t.Errorf("the SBOM: HEAD %d", resp.StatusCode)
	}
	// Executing again: the registry no longer has it.
	res, err = p.Execute(ctx, client)
	if err != nil || !res.AlreadyGone {
		t.Errorf("second execute: %v %+v", err, res)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestTagFallback: on a registry listing signatures only through the
// sha256-<hex> tag fallback, the entry is removed from that index first
// (its sibling kept), then the manifest is deleted; a 405 after the index
// rewrite leaves the signature unlisted and reports the refusal.
func TestTagFallback(t *testing.T) {
	srv := faultreg.NewConfig(t, registry.Config{Memory: true, DisableReferrersAPI: true, DisableLinks: true})
	var mu sync.Mutex
	var seq []string
	srv.Use(func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodPut || r.Method == http.MethodDelete {
			mu.Lock()
			seq = append(seq, r.Method+" "+r.URL.Path)
			mu.Unlock()
		}
		return false
	})
	s := srv.Seed(t, "busybox")
	sibling := srv.SignatureFor(t, "busybox", s.Subject)
	third := srv.SignatureFor(t, "busybox", s.Subject)
	client := srv.Client(t, remote.Options{})
	ref := srv.Ref(t, "busybox@"+s.Subject.Digest.String())
	ctx := context.Background()
	fast := &remote.IndexUpdateOptions{SettleDelay: 10 * time.Millisecond}
	if _, err := client.UpdateReferrersIndex(ctx, ref, s.Subject.Digest, remote.IndexChange{Add: []ocispec.Descriptor{s.Artifact, sibling.Artifact, third.Artifact}}, fast); err != nil {
		t.Fatal(err)
	}
	tag := remote.ReferrersTag(s.Subject.Digest)

	p, err := removal.Find(ctx, client, ref, s.Artifact.Digest)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Mechanisms) != 1 || p.Mechanisms[0] != removal.TagFallback {
		t.Fatalf("mechanisms %v", p.Mechanisms)
	}
	p.IndexOptions = fast
	mu.Lock()
	seq = nil
	mu.Unlock()
	res, err := p.Execute(ctx, client)
	if err != nil || res.Unlisted == nil || res.Unlisted.Tag != tag || !res.Unlisted.Written || res.ManifestKept != nil || len(res.StillListedBy) != 0 {
		t.Fatalf("execute: %v %+v", err, res)
	}
	want := []string{"PUT /v2/busybox/manifests/" + tag, "DELETE /v2/busybox/manifests/" + s.Artifact.Digest.String()}
	if !slices.Equal(seq, want) {
		t.Errorf("requests %q, want the index rewrite, then the DELETE: %q", seq, want)
	}
	for _, d := range []digest.Digest{sibling.Artifact.Digest, third.Artifact.Digest} {
		if _, err := removal.Find(ctx, client, ref, d); err != nil {
			t.Errorf("a kept signature: %v", err)
		}
	}
	if _, err := removal.Find(ctx, client, ref, s.Artifact.Digest); !errors.Is(err, errdef.ErrNotFound) {
		t.Errorf("the removed one: %v", err)
	}

	// Deletion disabled: unlisted all the same, the refusal reported.
	srv.Use(faultreg.Always(faultreg.Match(http.MethodDelete, func(string) bool { return true }), http.StatusMethodNotAllowed, nil, nil))
	p, err = removal.Find(ctx, client, ref, sibling.Artifact.Digest)
	if err != nil {
		t.Fatal(err)
	}
	p.IndexOptions = fast
	res, err = p.Execute(ctx, client)
	if err != nil || res.Unlisted == nil || res.ManifestKept == nil || res.ManifestKept.Status != http.StatusMethodNotAllowed || !strings.Contains(res.ManifestKept.Error(), "REGISTRY_STORAGE_DELETE_ENABLED=true") {
		t.Fatalf("execute with deletion disabled: %v %+v", err, res)
	}
	if _, err := removal.Find(ctx, client, ref, sibling.Artifact.Digest); !errors.Is(err, errdef.ErrNotFound) {
		t.Errorf("the unlisted one: %v", err)
	}
	if _, err := removal.Find(ctx, client, ref, third.Artifact.Digest); err != nil {
		t.Errorf("the last one: %v", err)
	}
}
