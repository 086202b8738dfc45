package cli

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/signet-oci/signet/internal/faultreg"
	"github.com/signet-oci/signet/internal/testpki"
	"github.com/signet-oci/signet/pkg/remote"
)

// TestHungRegistryBounded: against a registry that accepts connections and
// never answers, every command ends with exit 1 and one line that names the
// registry and --timeout (and does not advise raising it), within the
// bound: --timeout when given, else twice the header wait. The bounds are
// asserted with a generous margin: the wait is set by the input, not a
// performance figure.
func TestHungRegistryBounded(t *testing.T) {
	if 2*remote.DefaultHeaderTimeout+3*time.Second > 45*time.Second {
		t.Fatalf("default header wait %s: a hung registry could cost more than 45 s", remote.DefaultHeaderTimeout)
	}
	srv := faultreg.New(t)
	s := srv.Seed(t, "busybox")
	rel := make(chan struct{})
	defer close(rel)
	srv.Use(faultreg.Hang(faultreg.Match("", faultreg.PathContains("/v2/")), rel))
	ref := srv.Host + "/busybox:latest"
	tokenFile := filepath.Join(t.TempDir(), "sig.jwt")
	if err := os.WriteFile(tokenFile, s.Token, 0o644); err != nil {
		t.Fatal(err)
	}

	old := headerWait
	headerWait = 400 * time.Millisecond
	defer func() { headerWait = old }()

	for _, tc := range []struct {
		args  []string
		bound time.Duration
	}{
		{[]string{"discover", ref}, 2 * headerWait},
		{[]string{"verify", ref, "-c", s.CertFile}, 2 * headerWait},
		{[]string{"pull-signature", ref, "-o", t.TempDir()}, 2 * headerWait},
		{[]string{"generate", "manifest", ref}, 2 * headerWait},
		{[]string{"copy", ref, srv.Host + "/other:latest"}, 2 * headerWait},
		{[]string{"discover", ref, "--timeout", "1s"}, time.Second},
		{[]string{"push-signature", "--signature", tokenFile, ref, "--timeout", "1500ms"}, 1500 * time.Millisecond},
	} {
		before := srv.Total()
		start := time.Now()
		code, out, errOut := runCLI(t, tc.args...)
		took := time.Since(start)
		t.Logf("%v: %s %d %q", tc.args[0], took.Round(time.Millisecond), srv.Total()-before, errOut)
		line := strings.TrimSpace(errOut)
		if code != ExitError || out != "" || strings.Contains(line, "\n") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", tc.args, code, out, errOut)
		}
		if !strings.Contains(line, srv.Host) || !strings.Contains(line, "did not answer within") || !strings.Contains(line, "--timeout") || strings.Contains(line, "raise") {
			t.Errorf("%v: message %q", tc.args, line)
		}
		if took > tc.bound+3*time.Second {
			t.Errorf("%v: took %s, bound %s", tc.args, took, tc.bound)
		}
		if n := srv.Total() - before; n > 2 && !strings.Contains(strings.Join(tc.args, " "), "--timeout") {
			t.Errorf("%v: %d requests to a hung registry, want at most 2 (one retry)", tc.args, n)
		}
	}
}

// TestBackoffWithinDeadline: 429 with a Retry-After longer than --timeout
// ends the command at the deadline with the registry's answer, instead of
// sleeping past it.
func TestBackoffWithinDeadline(t *testing.T) {
	srv := faultreg.New(t)
	srv.Seed(t, "busybox")
	srv.Use(faultreg.Always(faultreg.Match("", faultreg.PathContains("/v2/")), http.StatusTooManyRequests, http.Header{"Retry-After": {"30"}}, nil))
	start := time.Now()
	code, _, errOut := runCLI(t, "discover", srv.Host+"/busybox:latest", "--timeout", "2s")
	if code != ExitError || time.Since(start) > 5*time.Second || !strings.Contains(errOut, "429") {
		t.Fatalf("exit %d after %s: %s", code, time.Since(start), errOut)
	}
}

// TestVerifyFileRevocationWithinTimeout: --timeout bounds verify -f too,
// revocation checks included. File mode checked the signature with no
// deadline: a signer whose OCSP responder and CRL distribution point
// accept connections and never answer cost the revocation client's own
// timeouts (5 s each, OCSP then CRL), whatever --timeout said.
func TestVerifyFileRevocationWithinTimeout(t *testing.T) {
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer hang.Close()
	defer close(release)
	now := time.Now()
	caKey, ca := testpki.Issue(t, &x509.Certificate{
		Subject: pkix.Name{CommonName: "hung responder CA"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature, BasicConstraintsValid: true, IsCA: true,
	}, nil, nil)
	key, leaf := testpki.Issue(t, &x509.Certificate{
		Subject: pkix.Name{CommonName: "signer"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		OCSPServer: []string{hang.URL + "/ocsp"}, CRLDistributionPoints: []string{hang.URL + "/ca.crl"},
	}, ca, caKey)
	signer := &testpki.Signer{Key: key, Chain: []*x509.Certificate{leaf, ca}, CA: ca}
	dir := t.TempDir()
	keyPath, chainPath, caPath := signer.WriteFiles(t, dir, "signer")
	manifest := filepath.Join(dir, "manifest.json")
	if err := os.WriteFile(manifest, []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	sig := filepath.Join(dir, "sig.jwt")
	if code, out, errOut := runCLIAt(time.Time{}, "sign", "-k", keyPath, "-c", chainPath, "--signature-format", "jwt", "-o", sig, "file:"+manifest); code != ExitOK {
		t.Fatalf("sign: exit %d\n%s\n%s", code, out, errOut)
	}
	start := time.Now()
	code, out, errOut := runCLIAt(time.Time{}, "verify", "-f", sig, "--ca-cert", caPath, "--timeout", "1s", "file:"+manifest)
	took := time.Since(start)
	if code != ExitVerifyFailed || !strings.Contains(errOut, "status unknown") || took > 4*time.Second {
		t.Fatalf("exit %d after %s; want %d (revocation unknown) within --timeout 1s (with a margin)\n%s\n%s", code, took.Round(time.Millisecond), ExitVerifyFailed, out, errOut)
	}
}
