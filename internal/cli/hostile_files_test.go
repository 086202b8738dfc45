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
