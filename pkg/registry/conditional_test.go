package registry

import (
	"bytes"
	"net/http"
	"strconv"
	"sync"
	"testing"

	"github.com/opencontainers/go-digest"
)

func indexBody(n int) []byte {
	return []byte(`{"schemaVersion":2,"mediaType":"` + mtOCIIndex + `","manifests":[],"annotations":{"n":"` + strconv.Itoa(n) + `"}}`)
}

func condPut(t *testing.T, url string, body []byte, hdr, val string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", mtOCIIndex)
	if hdr != "" {
		req.Header.Set(hdr, val)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// TestConditionalManifestPut: the ETag is the digest on GET and HEAD;
// If-Match and If-None-Match on PUT answer 412 unless the reference is in
// the state the client saw.
func TestConditionalManifestPut(t *testing.T) {
	for name, cfg := range storages(t) {
		t.Run(name, func(t *testing.T) {
			_, base := newTestRegistry(t, cfg)
			u := base + "/v2/r/manifests/idx"
			b0, b1, b2 := indexBody(0), indexBody(1), indexBody(2)
			q := func(b []byte) string { return `"` + digest.FromBytes(b).String() + `"` }

			// No tag yet: If-Match fails, If-None-Match: * succeeds once.
			if r := condPut(t, u, b0, "If-Match", q(b0)); r.StatusCode != http.StatusPreconditionFailed {
				t.Fatalf("If-Match on a missing tag: %s, want 412", r.Status)
			}
			if r := condPut(t, u, b0, "If-None-Match", "*"); r.StatusCode != http.StatusCreated {
				t.Fatalf("If-None-Match: * on a missing tag: %s, want 201", r.Status)
			}
			if r := condPut(t, u, b1, "If-None-Match", "*"); r.StatusCode != http.StatusPreconditionFailed {
				t.Fatalf("If-None-Match: * on an existing tag: %s, want 412", r.Status)
			}
			for _, m := range []string{http.MethodGet, http.MethodHead} {
				resp, _ := do(t, m, u, "", nil)
				if got := resp.Header.Get("ETag"); got != q(b0) {
					t.Fatalf("%s ETag = %q, want %q", m, got, q(b0))
				}
			}
			// If-Match with the current ETag moves the tag; a stale one does not.
			if r := condPut(t, u, b1, "If-Match", q(b0)); r.StatusCode != http.StatusCreated {
				t.Fatalf("If-Match current: %s, want 201", r.Status)
			}
			if r := condPut(t, u, b2, "If-Match", q(b0)); r.StatusCode != http.StatusPreconditionFailed {
				t.Fatalf("If-Match stale: %s, want 412", r.Status)
			}
			if r := condPut(t, u, b2, "If-Match", "W/"+q(b1)); r.StatusCode != http.StatusPreconditionFailed {
				t.Fatalf("If-Match weak: %s, want 412 (strong comparison)", r.Status)
			}
			resp, body := do(t, http.MethodGet, u, "", nil)
			if resp.Header.Get("ETag") != q(b1) || string(body) != string(b1) {
				t.Fatalf("after a refused PUT the tag holds %s (ETag %s), want the last accepted", body, resp.Header.Get("ETag"))
			}
			if r := condPut(t, u, b2, "If-Match", `"x", `+q(b1)); r.StatusCode != http.StatusCreated {
				t.Fatalf("If-Match list: %s, want 201", r.Status)
			}
		})
	}
}

// TestConditionalManifestPutRace: of concurrent PUTs carrying the same
// If-Match, exactly one wins.
func TestConditionalManifestPutRace(t *testing.T) {
	for name, cfg := range storages(t) {
		t.Run(name, func(t *testing.T) {
			_, base := newTestRegistry(t, cfg)
			u := base + "/v2/r/manifests/idx"
			b0 := indexBody(0)
			if r := condPut(t, u, b0, "", ""); r.StatusCode != http.StatusCreated {
				t.Fatal(r.Status)
			}
			etag := `"` + digest.FromBytes(b0).String() + `"`
			const n = 16
			var wg sync.WaitGroup
			codes := make([]int, n)
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					codes[i] = condPut(t, u, indexBody(i+1), "If-Match", etag).StatusCode
				}()
			}
			wg.Wait()
			won := 0
			for _, c := range codes {
				switch c {
				case http.StatusCreated:
					won++
				case http.StatusPreconditionFailed:
				default:
					t.Fatalf("status %d", c)
				}
			}
			if won != 1 {
				t.Fatalf("%d conditional PUTs on one ETag succeeded, want exactly 1", won)
			}
		})
	}
}
