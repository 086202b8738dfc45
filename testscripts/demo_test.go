package testscripts

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/signet-oci/signet/internal/testtool"
)

// TestDemoPlainText runs `make demo`'s script (scripts/demo.sh) with its
// output going to a file, as in a CI log, and a terminal type set: it must
// succeed and write no terminal escape sequence.
func TestDemoPlainText(t *testing.T) {
	if testing.Short() {
		t.Skip("the whole walkthrough; skipped with -short")
	}
	for _, tool := range []string{"bash", "curl", "tput"} {
		if _, err := exec.LookPath(tool); err != nil {
			testtool.Missing(t, tool+" is not installed", "apt-get install bash curl ncurses-bin")
		}
	}
	// This test binary is signet when called by that name (TestMain).
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "signet")
	if err := os.Symlink(self, bin); err != nil {
		t.Fatal(err)
	}
	root, _ := filepath.Abs("..")
	log := filepath.Join(t.TempDir(), "demo.log")
	f, err := os.Create(log)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", filepath.Join(root, "scripts", "demo.sh"))
	cmd.Env = append(os.Environ(), "SIGNET_BIN="+bin, "TERM=xterm-256color")
	cmd.Stdout, cmd.Stderr = f, f
	err = cmd.Run()
	f.Close()
	out, _ := os.ReadFile(log)
	if err != nil {
		t.Fatalf("demo failed: %v\n%s", err, out)
	}
	if i := bytes.IndexByte(out, 0x1b); i >= 0 {
		t.Fatalf("the demo wrote a terminal escape at byte %d into a file:\n%q", i, out[max(0, i-80):min(len(out), i+80)])
	}
	if !bytes.Contains(out, []byte("== Done")) {
		t.Fatalf("no final step:\n%s", out)
	}
}
