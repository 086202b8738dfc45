package stresstest

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/signet-oci/signet/internal/testtool"
)

// TestDistributionIgnoresConditions records what docs/reliability.md says
// of distribution v3.1.2: it sends an ETag on manifest GET, but applies a
// manifest PUT whatever its If-Match or If-None-Match says. If a release
// starts honouring them, this fails: update the guarantee table.
func TestDistributionIgnoresConditions(t *testing.T) {
	addr := os.Getenv("SIGNET_TEST_REGISTRY")
	if addr == "" {
		testtool.Missing(t, "SIGNET_TEST_REGISTRY (a distribution v3.1.2 registry) is not set",
			"'make test' (scripts/test.sh) starts one and sets it")
	}
	u := fmt.Sprintf("http://%s/v2/stress/conditions-%d/manifests/idx", addr, time.Now().UnixNano())
	body := func(n int) []byte {
		return []byte(fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[],"annotations":{"n":"%d"}}`, n))
	}
	put := func(b []byte, hdr, val string) int {
		req, _ := http.NewRequest(http.MethodPut, u, bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/vnd.oci.image.index.v1+json")
		if hdr != "" {
			req.Header.Set(hdr, val)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if c := put(body(0), "If-None-Match", "*"); c != http.StatusCreated {
		t.Fatalf("first PUT: %d", c)
	}
	req, _ := http.NewRequest(http.MethodHead, u, nil)
	req.Header.Set("Accept", "application/vnd.oci.image.index.v1+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got, want := resp.Header.Get("ETag"), `"`+digest.FromBytes(body(0)).String()+`"`; got != want {
		t.Fatalf("ETag %q, want %q", got, want)
	}
	stale := `"` + digest.FromString("not the current one").String() + `"`
	for i, c := range []struct{ hdr, val string }{{"If-None-Match", "*"}, {"If-Match", stale}} {
		if code := put(body(i+1), c.hdr, c.val); code != http.StatusCreated {
			if code == http.StatusPreconditionFailed {
				t.Fatalf("%s: %s answered 412: this registry honours conditional PUTs now; update docs/reliability.md", c.hdr, c.val)
			}
			t.Fatalf("%s: %s: %d", c.hdr, c.val, code)
		}
	}
	// And the last PUT was applied.
	req, _ = http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Accept", "application/vnd.oci.image.index.v1+json")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if got := resp.Header.Get("Docker-Content-Digest"); got != digest.FromBytes(body(2)).String() {
		t.Fatalf("the tag holds %s, want the last PUT's %s", got, digest.FromBytes(body(2)))
	}
}
