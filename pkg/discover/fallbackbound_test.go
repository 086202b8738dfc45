package discover_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/signet-oci/signet/internal/faultreg"
	"github.com/signet-oci/signet/pkg/discover"
	"github.com/signet-oci/signet/pkg/registry"
	"github.com/signet-oci/signet/pkg/remote"
)

// TestFallbackIndexOfEmptyEntries: a registry without the referrers API
// whose sha256-<hex> index lists 300,000 empty entries ({}: a signature
// candidate without a digest) before a valid signature. The signature is
// found, the empty entries are refused with 20 warnings and a count, and
// reading them costs memory for what is kept, not for each entry (before
// the entries were checked as they were read, all 300,000 were held first:
// 230 MB allocated, against 0.4 MB now).
func TestFallbackIndexOfEmptyEntries(t *testing.T) {
	srv := faultreg.NewConfig(t, registry.Config{DisableReferrersAPI: true, DisableLinks: true})
	s := srv.Seed(t, "busybox")
	const empty = 300000
	var idx bytes.Buffer
	idx.WriteString(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[`)
	idx.WriteString(strings.Repeat(`{},`, empty))
	fmt.Fprintf(&idx, `{"mediaType":%q,"digest":%q,"size":%d,"artifactType":%q}]}`, s.Artifact.MediaType, s.Artifact.Digest, s.Artifact.Size, s.Artifact.ArtifactType)
	// The registry refuses to store such an index; it is served in its
	// place (GET and HEAD of the tag).
	body := idx.Bytes()
	srv.Use(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != "/v2/busybox/manifests/sha256-"+s.Subject.Digest.Encoded() {
			return false
		}
		w.Header().Set("Content-Type", ocispec.MediaTypeImageIndex)
		w.Header().Set("Docker-Content-Digest", digest.FromBytes(body).String())
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		if r.Method == http.MethodGet {
			w.Write(body)
		}
		return true
	})

	d := newDiscoverer(t, srv, "busybox:latest", remote.Options{}, discover.Options{})
	ctx := context.Background()
	subject, err := d.Resolve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	found, warnings, err := d.Signatures(ctx, subject, discover.SignatureOptions{})
	runtime.ReadMemStats(&after)
	if err != nil || len(found) != 1 || found[0].Artifact.Digest != s.Artifact.Digest || found[0].Err != nil {
		t.Fatalf("Signatures = %+v, %v; want the signature %s", found, err, s.Artifact.Digest)
	}
	want := strings.Repeat(`tag-fallback lists an entry with an invalid digest ""; ignored`+"\n", discover.MaxWarnings) +
		fmt.Sprintf("%d more warnings like these were left out", empty-discover.MaxWarnings)
	if got := strings.Join(warnings, "\n"); got != want {
		t.Errorf("warnings:\n%s\nwant:\n%s", got, want)
	}
	// The test's server, in this process, allocates too.
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 24<<20 {
		t.Errorf("reading the index allocated %d MB; want memory for what is kept, not per entry", alloc>>20)
	}
	t.Logf("allocated %d kB", (after.TotalAlloc-before.TotalAlloc)>>10)
}
