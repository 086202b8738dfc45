package cli

import (
	"os"
	"path/filepath"
	"strings"
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
	for _, args := range [][]string{
		{"verify", "-f", "/dev/zero", "-c", cert, "file:" + filepath.Join(dir, "manifest.json")},
		{"verify", "-f", filepath.Join(dir, "token.jwt"), "-c", cert, "file:/dev/zero"},
	} {
		code, _, errOut := runCLI(t, args...)
		if code != ExitError || !strings.Contains(errOut, "limit") {
			t.Fatalf("%v: exit %d, %s", args, code, errOut)
		}
	}
}
