package cli

import (
	"os"
	"path/filepath"
	"testing"
)

// TestVerifyEndlessFiles: a signature file or manifest file that never
// ends (a pipe from a hostile server, /dev/zero) is refused at its size
// limit instead of being read until memory runs out.
func TestVerifyEndlessFiles(t *testing.T) {
	if _, err := os.Stat("/dev/zero"); err != nil {
		t.Skip("no /dev/zero")
	}
	dir := filepath.Join(corpusDir, "valid-walkthrough-openssl-cert")
	cert := filepath.Join(dir, "trusted-0.pem")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"verify", "-f", "/dev/zero", "-c", cert, "file:" + filepath.Join(dir, "manifest.json")}, "Error: signature file /dev/zero is over the 1 MiB limit\n"},
		{[]string{"verify", "-f", filepath.Join(dir, "token.jwt"), "-c", cert, "file:/dev/zero"}, "Error: manifest file /dev/zero is over the 4194304-byte limit\n"},
	} {
		code, _, errOut := runCLI(t, c.args...)
		if code != ExitError || errOut != c.want {
			t.Fatalf("%v: exit %d, stderr %q; want exit %d, %q", c.args, code, errOut, ExitError, c.want)
		}
	}
}

// TestEndlessTrustFiles: a key, certificate, CRL or trust policy file that
// never ends is refused at its bound (signature.MaxTrustFileSize,
// revocation.MaxCRLFileSize) with one line naming it, not read until memory
// runs out.
func TestEndlessTrustFiles(t *testing.T) {
	if _, err := os.Stat("/dev/zero"); err != nil {
		t.Skip("no /dev/zero")
	}
	dir := filepath.Join(corpusDir, "valid-walkthrough-openssl-cert")
	cert := filepath.Join(dir, "trusted-0.pem")
	token, manifest := filepath.Join(dir, "token.jwt"), "file:"+filepath.Join(dir, "manifest.json")
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"verify", "-f", token, "-c", "/dev/zero", manifest}, ExitError,
			"Error: read certificate file \"/dev/zero\": larger than 8388608 bytes, more than any key or certificate file holds; check the path\n"},
		{[]string{"verify", "-f", token, "-c", cert, "--crl", "/dev/zero", manifest}, ExitUsage,
			"Error: CRL /dev/zero: larger than 33554432 bytes, more than any CRL signet reads; check the path\n"},
		{[]string{"verify", "-f", token, "--trust-policy", "/dev/zero", "--trust-store", t.TempDir(), manifest}, ExitUsage,
			"Error: notation signature: trust policy /dev/zero: larger than 8388608 bytes, more than any trust policy holds; check the path\n"},
		{[]string{"sign", "-k", "/dev/zero", "-o", filepath.Join(t.TempDir(), "sig.jwt"), manifest}, ExitError,
			"Error: read key file \"/dev/zero\": larger than 8388608 bytes, more than any key or certificate file holds; check the path\n"},
	} {
		code, _, errOut := runCLI(t, c.args...)
		if code != c.code || errOut != c.want {
			t.Errorf("%v: exit %d, stderr %q; want exit %d, %q", c.args, code, errOut, c.code, c.want)
		}
	}
}
