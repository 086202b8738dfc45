package cli_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/signet-oci/signet/internal/testpki"
)

// TestTimestampedSignatures: sign --timestamp-url against an in-process
// RFC 3161 TSA, then verify before and after the signing certificate
// expires, with and without --tsa-root-cert, as a user would.
func TestTimestampedSignatures(t *testing.T) {
	e := newEnv(t)
	tsa := testpki.New(t, "signet test TSA")
	other := testpki.New(t, "other TSA")
	tsaRoot := tsa.WriteRoot(t, e.dir, "tsa-root.crt")
	otherRoot := other.WriteRoot(t, e.dir, "other-root.crt")
	short := testpki.ShortLived(t, "signet expiring signer", time.Now().Add(4*time.Second))
	key, chain, ca := short.WriteFiles(t, e.dir, "short")
	subject := e.ref("@" + e.subject().Digest.String())

	sign := func(name, format string, extra ...string) string {
		out := e.path(name)
		e.ok(append([]string{"sign", "-k", key, "-c", chain, "--signature-format", format, "-o", out, subject}, extra...)...)
		return out
	}
	stamped := map[string]string{}
	for _, f := range []string{"jws", "cose"} {
		stamped[f] = sign("stamped."+f, f, "--timestamp-url", tsa.URL, "--timestamp-root-cert", tsaRoot)
	}
	plain := sign("plain.jws", "jws")
	foreign := sign("foreign.jws", "jws", "--timestamp-url", other.URL, "--timestamp-root-cert", otherRoot)

	// Usage errors: one line, exit 2, nothing written.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--timestamp-url", tsa.URL}, "--timestamp-url and --timestamp-root-cert go together"},
		{[]string{"--signature-format", "jwt", "--timestamp-url", tsa.URL, "--timestamp-root-cert", tsaRoot}, "--timestamp-url applies to jws and cose signatures only"},
	} {
		out := e.path("never.sig")
		args := append([]string{"sign", "-k", key, "-c", chain, "-o", out, subject}, c.args...)
		if !contains(c.args, "--signature-format") {
			args = append(args, "--signature-format", "jws")
		}
		code, _, errOut := e.run(args...)
		if code != 2 || !strings.Contains(errOut, c.want) || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
			t.Errorf("%v: exit %d, stderr %q; want 2 and one line saying %q", c.args, code, errOut, c.want)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("%v: %s was written", c.args, out)
		}
	}
	// A TSA answer that does not chain to --timestamp-root-cert: signing
	// fails, nothing written.
	code, _, errOut := e.run("sign", "-k", key, "-c", chain, "--signature-format", "jws", "-o", e.path("never.jws"), "--timestamp-url", tsa.URL, "--timestamp-root-cert", otherRoot, subject)
	if code != 1 || !strings.Contains(errOut, "timestamp from "+tsa.URL) || !strings.Contains(errOut, "unknown authority") {
		t.Errorf("untrusted TSA answer at signing: exit %d, %q", code, errOut)
	}

	verify := func(sig string, extra ...string) (int, string, string) {
		return e.run(append([]string{"verify", "-f", sig, "--ca-cert", ca, subject}, extra...)...)
	}
	// Before expiry: valid, and the verdict names the timestamp.
	for f, sig := range stamped {
		code, out, errOut := verify(sig, "--tsa-root-cert", tsaRoot)
		if code != 0 || !strings.Contains(out, "timestamped ") || !strings.Contains(out, "by CN=signet test TSA,O=signet tests") {
			t.Fatalf("%s before expiry: exit %d\n%s%s", f, code, out, errOut)
		}
	}

	time.Sleep(time.Until(short.Chain[0].NotAfter.Add(1100 * time.Millisecond)))

	// Expired but timestamped while valid: valid with --tsa-root-cert.
	for f, sig := range stamped {
		code, out, errOut := verify(sig, "--tsa-root-cert", tsaRoot, "--format", "json")
		if code != 0 {
			t.Fatalf("%s expired but timestamped: exit %d\n%s%s", f, code, out, errOut)
		}
		var rep struct {
			Verified   bool
			Signatures []struct {
				Valid              bool
				TimestampedAt      *time.Time
				TimestampAuthority string
			}
		}
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatal(err)
		}
		v := rep.Signatures[0]
		if !rep.Verified || !v.Valid || v.TimestampedAt == nil || !v.TimestampedAt.Before(short.Chain[0].NotAfter) || v.TimestampAuthority != "CN=signet test TSA,O=signet tests" {
			t.Fatalf("%s: JSON verdict %s", f, out)
		}
		// Without trusting the TSA: the expired certificate is refused,
		// and the reason says what would help.
		code, out, errOut = verify(sig)
		if code != 3 || !strings.Contains(errOut, "expired") || !strings.Contains(errOut, "--tsa-root-cert") {
			t.Errorf("%s expired, TSA not trusted: exit %d\n%s%s", f, code, out, errOut)
		}
	}
	for _, c := range []struct{ name, sig, want string }{
		{"expired, not timestamped", plain, "no timestamp countersignature"},
		{"timestamp from an untrusted TSA", foreign, "unknown authority"},
	} {
		code, out, errOut := verify(c.sig, "--tsa-root-cert", tsaRoot)
		if code != 3 || !strings.Contains(errOut, "RFC 3161 timestamp: ") || !strings.Contains(errOut, c.want) {
			t.Errorf("%s: exit %d, want 3 saying %q\n%s%s", c.name, code, c.want, out, errOut)
		}
	}

	// Registry mode: push the timestamped cose signature and the plain
	// one; verify reports each, the timestamped one valid.
	e.ok("push-signature", "--signature", stamped["cose"], "--artifact-format", "oci", e.ref(""))
	e.ok("push-signature", "--signature", plain, "--artifact-format", "oci", e.ref(""))
	code, out, errOut := e.run("verify", subject, "--ca-cert", ca, "--tsa-root-cert", tsaRoot)
	if code != 0 || strings.Count(out, "VALID    ") != 1 || strings.Count(out, "INVALID  ") != 1 || !strings.Contains(out, "cose signature by CN=signet expiring signer,O=signet tests, timestamped ") || !strings.Contains(out, "1 of 2 signature(s) valid") {
		t.Fatalf("registry verify: exit %d\n%s%s", code, out, errOut)
	}
	t.Logf("signet verify:\n%s", out)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
