package discover_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/signet-oci/signet/internal/faultreg"
	"github.com/signet-oci/signet/pkg/artifact"
	"github.com/signet-oci/signet/pkg/discover"
	"github.com/signet-oci/signet/pkg/remote"
)

// pushOthers gives subject n referrers that are not signatures.
func pushOthers(t *testing.T, srv *faultreg.Server, repo string, subject ocispec.Descriptor, n int) {
	t.Helper()
	empty := srv.PushBlob(t, repo, ocispec.MediaTypeEmptyJSON, []byte("{}"))
	for i := range n {
		m := fmt.Sprintf(`{"schemaVersion":2,"mediaType":%q,"artifactType":"application/vnd.example.sbom","config":{"mediaType":%q,"digest":%q,"size":2},"layers":[{"mediaType":%q,"digest":%q,"size":2}],"subject":{"mediaType":%q,"digest":%q,"size":%d},"annotations":{"i":"%d"}}`,
			ocispec.MediaTypeImageManifest, ocispec.MediaTypeEmptyJSON, empty.Digest, ocispec.MediaTypeEmptyJSON, empty.Digest,
			subject.MediaType, subject.Digest, subject.Size, i)
		srv.PushManifest(t, repo, "", ocispec.MediaTypeImageManifest, []byte(m))
	}
}

// referrersLog is a client transport that records the artifactType and
// Accept of every referrers API request and the size of each answer.
type referrersLog struct {
	mu      sync.Mutex
	types   []string
	accepts []string
	bytes   []int
}

func (l *referrersLog) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err != nil || !strings.Contains(r.URL.Path, "/referrers/") {
		return resp, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	l.mu.Lock()
	l.types = append(l.types, r.URL.Query().Get("artifactType"))
	l.accepts = append(l.accepts, r.Header.Get("Accept"))
	l.bytes = append(l.bytes, len(b))
	l.mu.Unlock()
	return resp, nil
}

// TestSignaturesReferrersFiltered: verify asks the referrers API for each
// signature type signet knows (?artifactType=, Accept: an OCI index), not
// for every referrer: the answers hold the signature only, and none of the
// other artifacts is fetched. A registry that ignores the filter (no
// OCI-Filters-Applied) is filtered client-side, with the same result.
func TestSignaturesReferrersFiltered(t *testing.T) {
	for _, ignore := range []bool{false, true} {
		t.Run(fmt.Sprintf("registry-ignores-filter=%v", ignore), func(t *testing.T) {
			srv := faultreg.New(t)
			s := srv.Seed(t, "busybox")
			pushOthers(t, srv, "busybox", s.Subject, 40)
			if ignore {
				// A registry that does not filter: the whole listing, and
				// no OCI-Filters-Applied.
				srv.Use(func(w http.ResponseWriter, r *http.Request) bool {
					if strings.Contains(r.URL.Path, "/referrers/") {
						r.URL.RawQuery = ""
					}
					return false
				})
			}
			log := &referrersLog{}
			d := newDiscoverer(t, srv, "busybox:latest", remote.Options{Transport: log}, discover.Options{Depth: 1})
			found, _, err := d.Signatures(context.Background(), s.Subject, discover.SignatureOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(found) != 1 || found[0].Artifact.Digest != s.Artifact.Digest || found[0].Err != nil {
				t.Fatalf("found %+v, want the one signature %s", found, s.Artifact.Digest)
			}
			log.mu.Lock()
			defer log.mu.Unlock()
			want := artifact.SignatureArtifactTypes()
			if len(log.types) != len(want) {
				t.Fatalf("referrers asked with artifactType %q, want once per type %q", log.types, want)
			}
			for _, w := range want {
				if !strings.Contains(strings.Join(log.types, "\n"), w) {
					t.Errorf("referrers asked with artifactType %q: %q missing", log.types, w)
				}
			}
			for _, a := range log.accepts {
				if !strings.Contains(a, ocispec.MediaTypeImageIndex) {
					t.Errorf("Accept %q, want %s", a, ocispec.MediaTypeImageIndex)
				}
			}
			for _, b := range log.bytes {
				if !ignore && b > 1024 {
					t.Errorf("a filtered answer of %d bytes: the 40 other referrers were sent", b)
				}
				if ignore && b < 40*200 {
					t.Errorf("an unfiltered answer of %d bytes: the fault did not ignore the filter", b)
				}
			}
			// No other referrer's manifest was fetched: two manifests (the
			// subject resolved by the caller is not fetched here; the
			// signature artifact) at most.
			var idx ocispec.Index
			_, body := srv.Do(t, http.MethodGet, "/v2/busybox/referrers/"+s.Subject.Digest.String(), "", nil)
			if err := json.Unmarshal(body, &idx); err != nil {
				t.Fatal(err)
			}
			for _, m := range idx.Manifests {
				if m.Digest == s.Artifact.Digest {
					continue
				}
				if n := srv.Count(http.MethodGet, "/v2/busybox/manifests/"+m.Digest.String()); n != 0 {
					t.Errorf("non-signature referrer %s fetched %d time(s)", m.Digest, n)
				}
			}
		})
	}
}
