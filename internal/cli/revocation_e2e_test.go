package cli_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/signet-oci/signet/internal/testpki"
)

func serialOf(s *testpki.Signer) string {
	var parts []string
	for _, b := range s.Chain[0].SerialNumber.Bytes() {
		parts = append(parts, fmt.Sprintf("%02X", b))
	}
	return strings.Join(parts, ":")
}

// TestRevocation: verify checks the revocation of every trusted chain, for
// jwt, jws and cose alike, against OCSP and CRL endpoints the certificates
// name (httptest), with --revocation strict|soft|off for an unreachable
// responder and --crl for offline use.
func TestRevocation(t *testing.T) {
	e := newEnv(t)
	ca := testpki.NewRevocationCA(t, "signet revocation CA")
	good := ca.Leaf(t, "good signer", true, true)
	bad := ca.Leaf(t, "revoked signer", true, true)
	ca.Revoke(bad.Chain[0])
	goodKey, goodChain, caFile := good.WriteFiles(t, e.dir, "good")
	badKey, badChain, _ := bad.WriteFiles(t, e.dir, "bad")
	manifest := e.path("manifest.json")
	e.ok("generate", "manifest", e.ref(":latest"), "-o", manifest)
	crl := ca.WriteCRL(t, e.dir, "ca.crl", time.Now().Add(time.Hour))

	for _, f := range []string{"jwt", "jws", "cose"} {
		t.Run(f, func(t *testing.T) {
			e.t = t
			goodSig, badSig := e.path("good."+f), e.path("bad."+f)
			e.ok("sign", "-k", goodKey, "-c", goodChain, "--signature-format", f, "-o", goodSig, "file:"+manifest)
			e.ok("sign", "-k", badKey, "-c", badChain, "--signature-format", f, "-o", badSig, "file:"+manifest)
			verify := func(sig string, extra ...string) (int, string, string) {
				return e.run(append([]string{"verify", "-f", sig, "--ca-cert", caFile, "file:" + manifest}, extra...)...)
			}
			expect := func(what string, code int, out, errOut string, wantCode int, wantOut, wantErr string) {
				t.Helper()
				if code != wantCode || !strings.Contains(out, wantOut) || !strings.Contains(errOut, wantErr) {
					t.Errorf("%s: exit %d (want %d)\nstdout: %s\nstderr: %s\nwant stdout to say %q, stderr %q", what, code, wantCode, out, errOut, wantOut, wantErr)
				}
			}
			code, out, errOut := verify(goodSig)
			expect("good", code, out, errOut, 0, "not revoked", "")
			code, out, errOut = verify(badSig)
			expect("revoked", code, out, errOut, 3, "", "revocation: certificate \"CN=revoked signer,O=signet tests\" (serial "+serialOf(bad)+") is revoked")
			code, out, errOut = verify(badSig, "--revocation", "soft")
			expect("revoked, soft", code, out, errOut, 3, "", "is revoked")
			code, out, errOut = verify(badSig, "--revocation", "off")
			expect("revoked, off", code, out, errOut, 0, "VALID", "")

			ca.SetDown(true)
			defer ca.SetDown(false)
			code, out, errOut = verify(goodSig)
			expect("unreachable, strict", code, out, errOut, 3, "", "status unknown")
			code, out, errOut = verify(goodSig, "--revocation", "soft")
			expect("unreachable, soft", code, out, errOut, 0, "revocation status UNKNOWN", "")
			code, out, errOut = verify(goodSig, "--crl", crl)
			expect("unreachable, local CRL", code, out, errOut, 0, "not revoked", "")
			code, out, errOut = verify(badSig, "--crl", crl)
			expect("revoked, local CRL", code, out, errOut, 3, "", "(serial "+serialOf(bad)+") is revoked")

			code, out, _ = verify(goodSig, "--revocation", "soft", "--format", "json")
			var rep struct {
				Signatures []struct {
					Valid                        bool
					Revocation, RevocationDetail string
				}
			}
			if err := json.Unmarshal([]byte(out), &rep); err != nil || code != 0 || len(rep.Signatures) != 1 {
				t.Fatalf("json: exit %d, %v\n%s", code, err, out)
			}
			if v := rep.Signatures[0]; !v.Valid || v.Revocation != "unknown" || !strings.Contains(v.RevocationDetail, "503") {
				t.Errorf("json verdict: %s", out)
			}
		})
	}
	e.t = t
	code, _, errOut := e.run("verify", "-f", e.path("good.jws"), "--ca-cert", caFile, "--revocation", "lenient", "file:"+manifest)
	if code != 2 || !strings.Contains(errOut, "--revocation: revocation mode \"lenient\": use strict, soft or off") {
		t.Errorf("bad --revocation: exit %d, %q", code, errOut)
	}
	code, _, errOut = e.run("verify", "-f", e.path("good.jws"), "--ca-cert", caFile, "--crl", e.path("nope.crl"), "file:"+manifest)
	if code != 2 || !strings.Contains(errOut, "nope.crl") {
		t.Errorf("missing --crl file: exit %d, %q", code, errOut)
	}
}
