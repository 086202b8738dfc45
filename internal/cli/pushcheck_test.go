package cli

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/signet-oci/signet/internal/faultreg"
)

// TestPushSignatureChecksSubject: push-signature and generate artifact
// refuse, before any upload, a signature that does not parse (exit 3), that
// signs another manifest than --manifest or REFERENCE's tag (exit 3, JWT
// and JWS alike), and a subject the registry does not have (exit 4, "push
// the image first"); --force lets the deliberate case through.
func TestPushSignatureChecksSubject(t *testing.T) {
	srv := faultreg.New(t)
	s := srv.Seed(t, "busybox")
	dir := t.TempDir()
	key, crt := keyPair(t, dir)
	ref := srv.Host + "/busybox"

	// The seeded image's manifest, another manifest, and signatures.
	m := filepath.Join(dir, "m.json")
	if code, _, errOut := runCLI(t, "generate", "manifest", ref+":latest", "-o", m); code != 0 {
		t.Fatal(errOut)
	}
	other := filepath.Join(dir, "other.json")
	if code, _, errOut := runCLI(t, "generate", "manifest", layoutRef, "-o", other); code != 0 {
		t.Fatal(errOut)
	}
	sig := func(name, format, manifest string) string {
		p := filepath.Join(dir, name)
		if code, _, errOut := runCLI(t, "sign", "-k", key, "-c", crt, "--signature-format", format, "-o", p, "file:"+manifest); code != 0 {
			t.Fatalf("sign %s: %s", name, errOut)
		}
		return p
	}
	jwtSig, jwsSig, otherSig := sig("m.jwt", "jwt", m), sig("m.jws", "jws", m), sig("other.jwt", "jwt", other)
	coseOther := sig("other.cose", "cose", other)
	full, _ := os.ReadFile(jwtSig)
	truncated := filepath.Join(dir, "truncated.jwt")
	os.WriteFile(truncated, full[:len(full)/2], 0o644)
	// The tag "other" names another image in the repository.
	if code, _, errOut := runCLI(t, "copy", layoutRef, ref+":other"); code != 0 {
		t.Fatal(errOut)
	}
	var writes atomic.Int64
	srv.Use(func(_ http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodPut || r.Method == http.MethodPost || r.Method == http.MethodPatch {
			writes.Add(1)
		}
		return false
	})

	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"truncated JWT", []string{"push-signature", "--artifact-format", "oci", "--signature", truncated, ref + ":latest"}, ExitVerifyFailed, "not a readable x509 JWT"},
		{"JWT of another manifest", []string{"push-signature", "--artifact-format", "oci", "--signature", otherSig, "--manifest", m, ref + ":latest"}, ExitVerifyFailed, "does not sign --manifest"},
		{"JWS of another manifest", []string{"push-signature", "--signature", jwsSig, "--manifest", other, ref}, ExitVerifyFailed, "does not sign --manifest"},
		{"COSE of another manifest", []string{"push-signature", "--signature", coseOther, ref + ":latest"}, ExitVerifyFailed, "does not sign " + ref + ":latest"},
		{"tag of another image", []string{"push-signature", "--artifact-format", "oci", "--signature", jwtSig, ref + ":other"}, ExitVerifyFailed, "does not sign " + ref + ":other"},
		{"digest of another image", []string{"push-signature", "--artifact-format", "oci", "--signature", jwtSig, ref + "@" + s.Artifact.Digest.String()}, ExitVerifyFailed, "the signature signs"},
		{"unknown repository", []string{"push-signature", "--artifact-format", "oci", "--signature", jwtSig, srv.Host + "/nothing"}, ExitNotFound, "push the image first"},
		{"unknown tag", []string{"push-signature", "--artifact-format", "oci", "--signature", jwtSig, ref + ":nope"}, ExitNotFound, "push the image first"},
		{"JWS, unknown repository", []string{"push-signature", "--signature", jwsSig, srv.Host + "/nothing"}, ExitNotFound, "push the image first"},
		{"generate artifact, truncated", []string{"generate", "artifact", "--signature", truncated, "--manifest", m}, ExitVerifyFailed, "not a readable x509 JWT"},
		{"generate artifact, other manifest", []string{"generate", "artifact", "--signature", otherSig, "--manifest", m}, ExitVerifyFailed, "does not sign --manifest"},
		{"generate artifact, JWS of other", []string{"generate", "artifact", "--artifact-format", "oci", "--signature", jwsSig, "--manifest", other}, ExitVerifyFailed, "does not sign --manifest"},
	} {
		writes.Store(0)
		code, out, errOut := runCLI(t, tc.args...)
		if code != tc.code || out != "" || !strings.Contains(errOut, tc.want) || strings.Count(strings.TrimSpace(errOut), "\n") > 1 {
			t.Errorf("%s: exit %d (want %d), stdout %q, stderr %q", tc.name, code, tc.code, out, errOut)
		}
		if n := writes.Load(); n != 0 {
			t.Errorf("%s: %d uploads reached the registry", tc.name, n)
		}
	}

	// The right ones go through, and --force pushes the deliberate case.
	for _, args := range [][]string{
		{"push-signature", "--artifact-format", "oci", "--signature", jwtSig, ref + ":latest"},
		{"push-signature", "--signature", jwsSig, "--manifest", m, ref},
		{"push-signature", "--artifact-format", "oci", "--signature", otherSig, "--manifest", m, ref + ":latest", "--force"},
		{"generate", "artifact", "--signature", otherSig, "--manifest", m, "--force"},
	} {
		if code, _, errOut := runCLI(t, args...); code != 0 {
			t.Errorf("%v: exit %d %s", args, code, errOut)
		}
	}
	if writes.Load() == 0 {
		t.Error("the accepted pushes wrote nothing")
	}
}

// TestPushSignatureDiscoveryAfterRetry: the discovery path push-signature
// reports comes from what the registry answered (OCI-Subject on the
// manifest PUT; a PUT of the sha256-<hex> tag), not from counting
// requests: a manifest PUT that is retried once (503, then 201) is still
// "referrers" on a registry that indexes the subject.
func TestPushSignatureDiscoveryAfterRetry(t *testing.T) {
	srv := faultreg.New(t)
	s := srv.Seed(t, "busybox")
	dir := t.TempDir()
	key, crt := keyPair(t, dir)
	ref := srv.Host + "/busybox@" + s.Subject.Digest.String()
	sig := filepath.Join(dir, "sig.jwt")
	if code, _, errOut := runCLI(t, "sign", "-k", key, "-c", crt, "-o", sig, ref); code != 0 {
		t.Fatal(errOut)
	}
	var puts atomic.Int64
	srv.Use(func(_ http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/sha256:") {
			puts.Add(1)
		}
		return false
	}, faultreg.FailFirst(faultreg.Match(http.MethodPut, faultreg.PathContains("/manifests/sha256:")), nil, 503))
	code, out, errOut := runCLI(t, "push-signature", "--signature", sig, "--artifact-format", "oci", "--format", "json", ref)
	if code != 0 {
		t.Fatalf("push-signature: exit %d: %s", code, errOut)
	}
	if n := puts.Load(); n != 2 {
		t.Fatalf("the manifest PUT was sent %d time(s); the test wants it retried", n)
	}
	if !strings.Contains(out, `"discovery": "referrers"`) || !strings.Contains(errOut, "indexed by the registry's referrers API") {
		t.Fatalf("a retried PUT misreported the discovery path:\nstdout %s\nstderr %s", out, errOut)
	}
}
