package testregistry_test

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/signet-oci/signet/internal/testregistry"
)

func status(t *testing.T, c *http.Client, url, user, password string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		req.SetBasicAuth(user, password)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestOptions: each option changes what the registry answers.
func TestOptions(t *testing.T) {
	const sub = "/v2/busybox/referrers/sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"
	c := http.DefaultClient

	full := testregistry.Start(t)
	if got := status(t, c, full.URL+"/v2/", "", ""); got != 200 {
		t.Errorf("GET /v2/: %d, want 200", got)
	}
	if got := status(t, c, full.URL+sub, "", ""); got != 200 {
		t.Errorf("referrers: %d, want 200", got)
	}
	if full.URL != "http://"+full.Host {
		t.Errorf("URL %q, Host %q", full.URL, full.Host)
	}

	noRef := testregistry.Start(t, testregistry.NoReferrers())
	if got := status(t, c, noRef.URL+sub, "", ""); got != 404 {
		t.Errorf("referrers with NoReferrers: %d, want 404", got)
	}

	var calls atomic.Int64
	wrapped := testregistry.Start(t, testregistry.Wrap(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls.Add(1)
			if r.Method == http.MethodDelete {
				w.WriteHeader(http.StatusTeapot)
				return
			}
			next.ServeHTTP(w, r)
		})
	}))
	if got := status(t, c, wrapped.URL+"/v2/", "", ""); got != 200 || calls.Load() != 1 {
		t.Errorf("wrapped GET /v2/: %d after %d calls, want 200 after 1", got, calls.Load())
	}

	root := t.TempDir()
	disk := testregistry.Start(t, testregistry.Root(root))
	req, _ := http.NewRequest(http.MethodPost, disk.URL+"/v2/busybox/blobs/uploads/?digest=sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae", nil)
	req.Body = http.NoBody
	if resp, err := c.Do(req); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
	}
	if entries, err := os.ReadDir(root); err != nil || len(entries) == 0 {
		t.Errorf("Root: nothing stored under %s (%v)", root, err)
	}

	auth := testregistry.Start(t, testregistry.Auth("alice", "s3cret"), testregistry.TLS())
	pool := x509.NewCertPool()
	pool.AddCert(auth.Certificate())
	tc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	if !strings.HasPrefix(auth.URL, "https://") {
		t.Errorf("TLS URL %q", auth.URL)
	}
	if got := status(t, tc, auth.URL+"/v2/", "", ""); got != 401 {
		t.Errorf("no credentials: %d, want 401", got)
	}
	if got := status(t, tc, auth.URL+"/v2/", "alice", "wrong"); got != 401 {
		t.Errorf("wrong password: %d, want 401", got)
	}
	if got := status(t, tc, auth.URL+"/v2/", "alice", "s3cret"); got != 200 {
		t.Errorf("right password: %d, want 200", got)
	}
}

// TestStartCleansUp: the registry stops when the test ends.
func TestStartCleansUp(t *testing.T) {
	var url string
	t.Run("inner", func(t *testing.T) { url = testregistry.Start(t).URL })
	if _, err := http.Get(url + "/v2/"); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("%s after its test ended: %v, want connection refused", url, err)
	}
}
