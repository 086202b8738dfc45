package cli_test

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/signet-oci/signet/internal/cli"
	"github.com/signet-oci/signet/internal/faultreg"
	"github.com/signet-oci/signet/pkg/registry"
)

// runIn runs signet with stdin.
func (e *env) runIn(stdin string, args ...string) (int, string, string) {
	e.t.Helper()
	return signetRun(stdin, args...)
}

// signatureCount is how many signatures verify finds for ref.
func (e *env) signatureCount(ref, crt string) string {
	e.t.Helper()
	_, out, _ := e.run("verify", ref, "-c", crt)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	return lines[len(lines)-1]
}

// TestDeleteSignature removes signatures listed by the links API and by the
// referrers API, with --dry-run, confirmation and refusals.
func TestDeleteSignature(t *testing.T) {
	e := newEnv(t)
	key, crt := e.path("signer.key"), e.path("signer.crt")
	e.ok("generate", "cert", "--key-out", key, "--cert-out", crt, "--cn", "signer", "--ip", "127.0.0.1", "--key-type", "ec-p256")
	subject := e.ref("@" + e.subject().Digest.String())
	// A prototype JWT artifact (links API) and a jws OCI artifact (referrers API).
	e.ok("sign", "-k", key, "-c", crt, "-o", e.path("sig.jwt"), subject)
	links := strings.TrimSpace(e.ok("push-signature", "--signature", e.path("sig.jwt"), "--artifact-format", "prototype", subject))
	e.ok("sign", "-k", key, "-c", crt, "--signature-format", "jws", "-o", e.path("sig.jws"), subject)
	referrers := strings.TrimSpace(e.ok("push-signature", "--signature", e.path("sig.jws"), "--artifact-format", "oci", subject))
	e.ok("sign", "-k", key, "-c", crt, "--signature-format", "cose", "-o", e.path("sig.cose"), subject)
	third := strings.TrimSpace(e.ok("push-signature", "--signature", e.path("sig.cose"), "--artifact-format", "oci", subject))
	want := func(what, count string) {
		t.Helper()
		if got := e.signatureCount(subject, crt); !strings.Contains(got, count) {
			t.Fatalf("%s: verify says %q, want %q", what, got, count)
		}
	}
	want("seeded", "3 of 3 signature(s) valid")

	// --dry-run: says what, deletes nothing.
	code, out, errOut := e.run("delete-signature", subject, "--artifact", links, "--dry-run")
	if code != 0 || !strings.Contains(out, "Would delete jwt signature "+links) || !strings.Contains(out, "(listed by links)") {
		t.Fatalf("dry run: exit %d\n%s%s", code, out, errOut)
	}
	want("after --dry-run", "3 of 3")

	// No terminal and no --yes: refused; a terminal answered "n": refused.
	code, _, errOut = e.run("delete-signature", subject, "--artifact", links)
	if code != 2 || !strings.Contains(errOut, "add --yes to confirm") {
		t.Fatalf("no terminal: exit %d %q", code, errOut)
	}
	restore := cli.PretendTerminal()
	code, _, errOut = e.runIn("n\n", "delete-signature", subject, "--artifact", links)
	if code != 1 || !strings.Contains(errOut, "Delete jwt signature "+links) || !strings.Contains(errOut, "not confirmed; nothing was deleted") {
		restore()
		t.Fatalf("answered n: exit %d %q", code, errOut)
	}
	want("after n", "3 of 3")
	// Answered "y": deleted, and only that one.
	code, out, errOut = e.runIn("y\n", "delete-signature", subject, "--artifact", links)
	restore()
	if code != 0 || !strings.Contains(out, "Deleted jwt signature "+links) {
		t.Fatalf("answered y: exit %d\n%s%s", code, out, errOut)
	}
	want("after deleting the links one", "2 of 2")
	code, out, _ = e.run("discover", subject)
	if code != 0 || strings.Contains(out, links) || !strings.Contains(out, referrers) {
		t.Fatalf("discover after delete:\n%s", out)
	}

	// --yes: the referrers one.
	out = e.ok("delete-signature", subject, "--artifact", referrers, "--yes")
	if !strings.Contains(out, "Deleted jws signature "+referrers+" of ") || !strings.Contains(out, "(listed by referrers)") {
		t.Fatalf("--yes: %s", out)
	}
	want("after deleting the referrers one", "1 of 1")
	gone := e.ref("@" + referrers)
	code, _, errOut = e.run("generate", "manifest", gone)
	if wantErr := "Error: " + gone + ": not found"; code != 4 || !strings.HasPrefix(errOut, wantErr) {
		t.Errorf("the deleted artifact: generate manifest exit %d, stderr %q; want 4, %q", code, errOut, wantErr)
	}

	// Refusals: not a signature (gone now, the subject itself, unknown).
	for _, c := range []struct {
		artifact string
		code     int
		want     string
	}{
		{referrers, 4, referrers + " is not a signature of "},
		{e.subject().Digest.String(), 2, "not one of its signatures"},
		{"sha256:" + strings.Repeat("ab", 32), 4, "is not a signature of"},
		{"md5:xyz", 2, "is not a digest"},
	} {
		code, _, errOut := e.run("delete-signature", subject, "--artifact", c.artifact, "--yes")
		if code != c.code || !strings.Contains(errOut, c.want) || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
			t.Errorf("--artifact %s: exit %d %q, want %d saying %q", c.artifact, code, errOut, c.code, c.want)
		}
	}
	want("after refusals", "1 of 1")
	_ = third
}

// TestDeleteSignatureRefused: a registry answering 405 to DELETE is
// reported with what it needs. Through the referrers API nothing is
// removed then; on the tag fallback the entry is removed from the
// sha256-<hex> index first (unlisted: exit 0), and the manifest that
// remains is reported.
func TestDeleteSignatureRefused(t *testing.T) {
	layout, err := filepath.Abs("../../testdata/oci-layout")
	if err != nil {
		t.Fatal(err)
	}
	const needs = "refuses to delete manifests (405 Method Not Allowed): deletion is disabled there; it must allow DELETE /v2/<name>/manifests/<digest> (distribution: storage.delete.enabled: true, or REGISTRY_STORAGE_DELETE_ENABLED=true)"
	for _, c := range []struct {
		name     string
		cfg      registry.Config
		fallback bool
	}{
		{"405", registry.Config{Memory: true}, false},
		{"tag fallback 405", registry.Config{Memory: true, DisableReferrersAPI: true, DisableLinks: true}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := faultreg.NewConfig(t, c.cfg)
			srv.Use(faultreg.Always(faultreg.Match(http.MethodDelete, func(string) bool { return true }), http.StatusMethodNotAllowed, nil, []byte(`{"errors":[{"code":"UNSUPPORTED","message":"The operation is unsupported."}]}`)))
			e := &env{t: t, host: srv.Host, dir: t.TempDir()}
			e.ok("copy", "oci-layout:"+layout+":latest", e.ref(":latest"))
			key, crt := e.cert("signer")
			subject := e.ref("@" + e.subject().Digest.String())
			e.ok("sign", "-k", key, "-c", crt, "--signature-format", "jws", "-o", e.path("sig.jws"), subject)
			art := strings.TrimSpace(e.ok("push-signature", "--signature", e.path("sig.jws"), "--artifact-format", "oci", subject))
			e.ok("sign", "-k", key, "-c", crt, "--signature-format", "jws", "-o", e.path("other.jws"), subject)
			other := strings.TrimSpace(e.ok("push-signature", "--signature", e.path("other.jws"), "--artifact-format", "oci", subject))
			code, out, errOut := e.run("delete-signature", subject, "--artifact", art, "--yes")
			if n := srv.Count(http.MethodDelete, "/v2/busybox/manifests/"+art); n != 1 {
				t.Errorf("%d DELETE requests for the signature, want 1", n)
			}
			if !c.fallback {
				if code != 1 || !strings.Contains(errOut, needs) || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
					t.Fatalf("exit %d\n%s%s\nwant one line saying %q", code, out, errOut, needs)
				}
				if got := e.signatureCount(subject, crt); !strings.Contains(got, "2 of 2") {
					t.Errorf("after the refusal: %q", got)
				}
				return
			}
			tag := "sha256-" + strings.TrimPrefix(e.subject().Digest.String(), "sha256:")
			if code != 0 || !strings.Contains(out, "Unlisted jws signature "+art) || !strings.Contains(out, "removed from the referrers tag "+tag+"; its manifest remains") ||
				!strings.Contains(errOut, "Warning: "+art+" is no longer listed, but its manifest remains in "+srv.Host+"/busybox: registry "+srv.Host+" "+needs) {
				t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
			}
			// Unlisted: verify sees the other one only; the manifest is
			// still stored.
			if got := e.signatureCount(subject, crt); !strings.Contains(got, "1 of 1") {
				t.Errorf("after unlisting: %q", got)
			}
			if resp, _ := srv.Do(t, http.MethodHead, "/v2/busybox/manifests/"+art, "", nil); resp.StatusCode != http.StatusOK {
				t.Errorf("the kept manifest: HEAD %d", resp.StatusCode)
			}
			code, _, errOut = e.run("delete-signature", subject, "--artifact", art, "--yes")
			if code != 4 || !strings.Contains(errOut, "is not a signature of") {
				t.Errorf("again: exit %d %q", code, errOut)
			}
			// Pruning on the tag fallback: the other one, signed by
			// someone not trusted here, is rejected and unlisted too.
			_, strangerCrt := e.cert("stranger")
			code, out, errOut = e.run("delete-signature", subject, "--all-invalid", "-c", strangerCrt, "--yes")
			if code != 0 || !strings.Contains(out, "Unlisted jws signature "+other) || strings.Contains(out, "Deleted") {
				t.Errorf("--all-invalid on the tag fallback: exit %d\n%s%s", code, out, errOut)
			}
			if code, _, errOut := e.run("verify", subject, "-c", crt); code != 4 || !strings.Contains(errOut, "no signature found") {
				t.Errorf("after pruning: exit %d %q", code, errOut)
			}
		})
	}
}

// TestDeleteRejectedSignatures: --expired and --all-invalid remove what
// verify rejects with the trust given, and nothing else.
func TestDeleteRejectedSignatures(t *testing.T) {
	e := newEnv(t)
	key, crt := e.cert("signer")
	strangerKey, strangerCrt := e.cert("stranger")
	subject := e.ref("@" + e.subject().Digest.String())
	push := func(name, key, crt string, extra ...string) string {
		sig := e.path(name + ".jws")
		e.ok(append([]string{"sign", "-k", key, "-c", crt, "--signature-format", "jws", "-o", sig, subject}, extra...)...)
		return strings.TrimSpace(e.ok("push-signature", "--signature", sig, "--artifact-format", "oci", subject))
	}
	valid := push("valid", key, crt)
	expired := push("expired", key, crt, "--expiry", "1s")
	stranger := push("stranger", strangerKey, strangerCrt)
	time.Sleep(2100 * time.Millisecond)

	code, out, errOut := e.run("delete-signature", subject, "--expired", "-c", crt, "--dry-run")
	if code != 0 || strings.Count(out, "Would delete") != 1 || !strings.Contains(out, "Would delete jws signature "+expired) {
		t.Fatalf("--expired --dry-run: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = e.run("delete-signature", subject, "--all-invalid", "-c", crt, "--dry-run")
	if code != 0 || strings.Count(out, "Would delete") != 2 || !strings.Contains(out, expired) || !strings.Contains(out, stranger) || strings.Contains(out, valid) {
		t.Fatalf("--all-invalid --dry-run: exit %d\n%s%s", code, out, errOut)
	}
	code, _, errOut = e.run("delete-signature", subject, "--all-invalid")
	if code != 2 || !strings.Contains(errOut, "give the certificates you trust") {
		t.Fatalf("--all-invalid without trust: exit %d %q", code, errOut)
	}
	code, _, errOut = e.run("delete-signature", subject, "--all-invalid", "--artifact", valid, "-c", crt)
	if code != 2 || !strings.Contains(errOut, "give one of --artifact, --all-invalid and --expired") {
		t.Fatalf("two selections: exit %d %q", code, errOut)
	}

	out = e.ok("delete-signature", subject, "--all-invalid", "-c", crt, "--yes")
	if strings.Count(out, "Deleted jws signature") != 2 || strings.Contains(out, valid) {
		t.Fatalf("--all-invalid --yes:\n%s", out)
	}
	if got := e.signatureCount(subject, crt); !strings.Contains(got, "1 of 1 signature(s) valid") {
		t.Fatalf("after pruning: %q", got)
	}
	out = e.ok("delete-signature", subject, "--all-invalid", "-c", crt, "--yes")
	if !strings.Contains(out, "Nothing to delete: 1 of 1 signature(s)") {
		t.Fatalf("nothing left to prune: %s", out)
	}
}

// TestDeleteSignatureStdinNull: stdin from /dev/null (cron, CI steps, ssh -n,
// a container without -i) is a character device but not a terminal:
// delete-signature asks no question there and refuses with exit status 2,
// naming --yes, as for any stdin that is not a terminal; nothing is deleted.
func TestDeleteSignatureStdinNull(t *testing.T) {
	e := newEnv(t)
	key, crt := e.path("signer.key"), e.path("signer.crt")
	e.ok("generate", "cert", "--key-out", key, "--cert-out", crt, "--ip", "127.0.0.1", "--key-type", "ec-p256")
	subject := e.ref("@" + e.subject().Digest.String())
	e.ok("sign", "-k", key, "-c", crt, "-o", e.path("sig.jwt"), subject)
	artifact := strings.TrimSpace(e.ok("push-signature", "--signature", e.path("sig.jwt"), subject))

	null, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	var out, errOut bytes.Buffer
	code := cli.Run(context.Background(), []string{"delete-signature", subject, "--artifact", artifact}, cli.IOStreams{In: null, Out: &out, Err: &errOut})
	if want := "Error: not deleting 1 signature(s): stdin is not a terminal to confirm on; add --yes to confirm\n"; code != cli.ExitUsage || errOut.String() != want || out.Len() != 0 {
		t.Errorf("stdin /dev/null: exit %d, stdout %q, stderr %q; want %d, %q", code, out.String(), errOut.String(), cli.ExitUsage, want)
	}
	if got := e.signatureCount(subject, crt); got != subject+": 1 of 1 signature(s) valid" {
		t.Errorf("after the refusal: %q, want the signature still there", got)
	}
}
