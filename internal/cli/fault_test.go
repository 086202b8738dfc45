package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/signet-oci/signet/internal/faultreg"
)

// runCLI runs signet in-process, verifying at faultreg.Now, and returns its
// exit status, stdout and stderr (through RunString, the runner of every
// test package).
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	return runCLIAt(faultreg.Now, args...)
}

// runCLIAt is runCLI verifying at now (the zero time: the current time).
func runCLIAt(now time.Time, args ...string) (int, string, string) {
	return RunString(withVerifyTime(context.Background(), now), "", args...)
}

type jsonReport struct {
	Verified   bool `json:"verified"`
	Valid      int  `json:"validSignatures"`
	Signatures []struct {
		Artifact struct {
			Digest string `json:"digest"`
		} `json:"artifact"`
		Valid  bool   `json:"valid"`
		Reason string `json:"reason"`
		Class  string `json:"errorClass"`
	} `json:"signatures"`
}

// TestVerifyExitStatuses: scripts can trust signet verify's exit status
// against a registry: 0 when a signature is valid, 3 when signatures were
// found and none is valid (wrong bytes from the registry included), 4 when
// there is none; --format json lists every signature examined with its
// verdict and reason.
func TestVerifyExitStatuses(t *testing.T) {
	srv := faultreg.New(t)
	s := srv.Seed(t, "busybox")
	ref := srv.Host + "/busybox:latest"

	code, out, errOut := runCLI(t, "verify", ref, "-c", s.CertFile, "--format", "json")
	if code != ExitOK {
		t.Fatalf("valid: exit %d\n%s\n%s", code, out, errOut)
	}

	// A second signature whose blob the registry corrupts: still 0, and
	// both are listed.
	bad := srv.SignatureFor(t, "busybox", s.Subject)
	srv.Use(faultreg.Always(faultreg.Match(http.MethodGet, faultreg.PathSuffix("/blobs/"+bad.Blob.Digest.String())), 200, http.Header{"Content-Type": {"application/octet-stream"}}, bytes.Repeat([]byte("x"), int(bad.Blob.Size))))
	code, out, errOut = runCLI(t, "verify", ref, "-c", s.CertFile, "--format", "json")
	var rep jsonReport
	if code != ExitOK || json.Unmarshal([]byte(out), &rep) != nil || len(rep.Signatures) != 2 || rep.Valid != 1 {
		t.Fatalf("one valid, one corrupted: exit %d\n%s\n%s", code, out, errOut)
	}
	for _, v := range rep.Signatures {
		want := "fetching signature blob " + bad.Blob.Digest.String() + ": mismatched digest"
		if v.Artifact.Digest == bad.Artifact.Digest.String() && (v.Valid || v.Reason != want || v.Class != "fetch") {
			t.Fatalf("corrupted signature verdict: %+v, want class fetch and reason %q", v, want)
		}
	}

	// Only the corrupted one (the genuine blob corrupted too): 3.
	srv.Use(faultreg.Always(faultreg.Match(http.MethodGet, faultreg.PathSuffix("/blobs/"+s.Blob.Digest.String())), 200, http.Header{"Content-Type": {"application/octet-stream"}}, bytes.Repeat([]byte("x"), int(s.Blob.Size))))
	code, out, errOut = runCLI(t, "verify", ref, "-c", s.CertFile, "--format", "json")
	rep = jsonReport{}
	if code != ExitVerifyFailed || json.Unmarshal([]byte(out), &rep) != nil || len(rep.Signatures) != 2 || rep.Valid != 0 || rep.Verified {
		t.Fatalf("none valid: exit %d\n%s\n%s", code, out, errOut)
	}
	for _, v := range rep.Signatures {
		if v.Class != "fetch" || !strings.HasSuffix(v.Reason, ": mismatched digest") {
			t.Fatalf("none valid: verdict %+v, want class fetch, mismatched digest", v)
		}
	}
	if want := "Error: " + srv.Host + "/busybox@" + s.Subject.Digest.String() + ": 2 signature(s) found, none valid"; lastLine(errOut) != want {
		t.Fatalf("none valid: stderr ends with %q, want %q", lastLine(errOut), want)
	}

	// Trusting another certificate: 3, class untrusted chain.
	srv.Reset()
	other := filepath.Join(corpusDir, "valid-walkthrough-openssl-cert", "trusted-0.pem")
	code, out, _ = runCLI(t, "verify", ref, "-c", other, "--format", "json")
	rep = jsonReport{}
	if code != ExitVerifyFailed || json.Unmarshal([]byte(out), &rep) != nil || rep.Signatures[0].Class != "untrusted chain" {
		t.Fatalf("untrusted: exit %d\n%s", code, out)
	}

	// An image without signatures: 4.
	_, mb := srv.Do(t, http.MethodGet, "/v2/busybox/manifests/latest", "", nil)
	srv.PushManifest(t, "busybox", "unsigned", "application/vnd.oci.image.manifest.v1+json", append(mb, ' '))
	code, out, errOut = runCLI(t, "verify", srv.Host+"/busybox:unsigned", "-c", s.CertFile)
	if code != ExitNotFound {
		t.Fatalf("unsigned: exit %d\n%s\n%s", code, out, errOut)
	}
	unsigned := digest.FromBytes(append(mb, ' '))
	if want := "Error: no signature found for " + srv.Host + "/busybox@" + unsigned.String(); lastLine(errOut) != want {
		t.Fatalf("unsigned: stderr ends with %q, want %q", lastLine(errOut), want)
	}
}

// lastLine is the last non-empty line of s.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

// TestPullSignatureWrongBytes: a registry serving wrong bytes for the
// signature blob's digest gets nothing written.
func TestPullSignatureWrongBytes(t *testing.T) {
	srv := faultreg.New(t)
	s := srv.Seed(t, "busybox")
	srv.Use(faultreg.Always(faultreg.Match(http.MethodGet, faultreg.PathSuffix("/blobs/"+s.Blob.Digest.String())), 200, http.Header{"Content-Type": {"application/octet-stream"}}, bytes.Repeat([]byte("x"), int(s.Blob.Size))))
	dir := filepath.Join(t.TempDir(), "sigs")
	code, out, errOut := runCLI(t, "pull-signature", srv.Host+"/busybox:latest", "-o", dir)
	if code != ExitError {
		t.Fatalf("exit %d, want %d\n%s\n%s", code, ExitError, out, errOut)
	}
	skipped := "Warning: skipped " + s.Artifact.Digest.String() + ": fetching signature blob " + s.Blob.Digest.String() + ": mismatched digest\n"
	if !strings.Contains(errOut, skipped) {
		t.Fatalf("stderr does not say why the signature was skipped (%q):\n%s", skipped, errOut)
	}
	if want := "Error: none of the 1 signature artifact(s) of " + srv.Host + "/busybox@" + s.Subject.Digest.String() + " could be downloaded"; lastLine(errOut) != want {
		t.Fatalf("stderr ends with %q, want %q", lastLine(errOut), want)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 0 || strings.TrimSpace(out) != "" {
		t.Fatalf("wrote %v, printed %q", ents, out)
	}
	if _, err := os.Stat(dir); err == nil {
		t.Fatalf("left the directory %s it made for nothing", dir)
	}
	if !strings.Contains(errOut, s.Artifact.Digest.String()) {
		t.Fatalf("stderr does not name the artifact: %s", errOut)
	}
	srv.Reset()
	code, out, errOut = runCLI(t, "pull-signature", srv.Host+"/busybox:latest", "-o", dir)
	b, err := os.ReadFile(strings.TrimSpace(out))
	if code != ExitOK || err != nil || !bytes.Equal(b, s.Token) {
		t.Fatalf("control: exit %d %v\n%s", code, err, errOut)
	}
}

// TestVerifyRegistryFailsToServeSignature: a registry that refuses or
// fails to serve a listed signature proves nothing about it: exit 1 with
// the registry's explained error, not 3 ("found, none valid", which
// scripts read as forged or untrusted); the JSON report still lists the
// signature with class fetch and the reason.
func TestVerifyRegistryFailsToServeSignature(t *testing.T) {
	srv := faultreg.New(t)
	s := srv.Seed(t, "busybox")
	srv.Use(faultreg.Always(faultreg.Match(http.MethodGet, faultreg.PathSuffix("/blobs/"+s.Blob.Digest.String())), http.StatusForbidden, nil, []byte(`{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}`)))
	code, out, errOut := runCLI(t, "verify", srv.Host+"/busybox:latest", "-c", s.CertFile, "--format", "json")
	var rep jsonReport
	if code != ExitError || json.Unmarshal([]byte(out), &rep) != nil || len(rep.Signatures) != 1 || rep.Verified || rep.Signatures[0].Class != "fetch" || !strings.Contains(rep.Signatures[0].Reason, "403") {
		t.Fatalf("exit %d, want %d, and the signature listed with class fetch\n%s\n%s", code, ExitError, out, errOut)
	}
	if want := "Error: registry " + srv.Host + " denied access (403); the account lacks permission for this repository"; lastLine(errOut) != want {
		t.Fatalf("stderr ends with %q, want %q", lastLine(errOut), want)
	}
}
