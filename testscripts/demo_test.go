package testscripts

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
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

// TestWalkthroughDoc runs docs/walkthrough.md's signet blocks as the page
// says a reader may: pasted in order into one shell (a bash script here),
// in a directory holding the checkout's testdata, with signet on PATH and
// regPort set to a free port. Every command must succeed, and the two
// registry verifications must find their signatures.
func TestWalkthroughDoc(t *testing.T) {
	if testing.Short() {
		t.Skip("the whole walkthrough; skipped with -short")
	}
	if _, err := exec.LookPath("bash"); err != nil {
		testtool.Missing(t, "bash is not installed", "apt-get install bash")
	}
	root, _ := filepath.Abs("..")
	doc, err := os.ReadFile(filepath.Join(root, "docs", "walkthrough.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := walkthroughBlocks(string(doc))
	if len(blocks) < 12 {
		t.Fatalf("%d signet blocks in docs/walkthrough.md, want one per step", len(blocks))
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	script := strings.Join(blocks, "\n")
	if !strings.Contains(script, `regPort="5000"`) {
		t.Fatalf("no regPort=\"5000\" in the blocks:\n%s", script)
	}
	script = strings.Replace(script, `regPort="5000"`, `regPort="`+port+`"`, 1)

	// This test binary is signet when called by that name (TestMain).
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	binDir, work := t.TempDir(), t.TempDir()
	if err := os.Symlink(self, filepath.Join(binDir, "signet")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(root, "testdata"), filepath.Join(work, "testdata")); err != nil {
		t.Fatal(err)
	}
	// set -e: the first command that fails ends the script; the trap stops
	// the registry then (the last block stops it otherwise).
	cmd := exec.Command("bash", "-c", "set -e\ntrap '[ -z \"${regPid:-}\" ] || kill $regPid 2>/dev/null || true' EXIT\n"+script)
	cmd.Dir = work
	cmd.Env = append(os.Environ(), "PATH="+binDir+string(os.PathListSeparator)+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("docs/walkthrough.md's blocks failed: %v\n%s\nscript:\n%s", err, out, script)
	}
	for _, want := range []string{": 1 of 1 signature(s) valid", ": 2 of 2 signature(s) valid"} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("no %q in the output:\n%s", want, out)
		}
	}
}

// walkthroughBlocks returns docs/walkthrough.md's signet blocks in order:
// each shell block after a "signet:" line, and the blocks that are signet
// commands (or the digest check, or stopping the registry) by themselves;
// the walkthrough's own blocks (docker, openssl, nv2, curl) are left out.
func walkthroughBlocks(doc string) []string {
	var blocks []string
	parts := strings.Split(doc, "```shell\n")
	for i := 1; i < len(parts); i++ {
		body, _, _ := strings.Cut(parts[i], "```")
		prev := strings.Split(strings.TrimSpace(parts[i-1]), "\n")
		last := prev[len(prev)-1]
		if _, after, ok := strings.Cut(parts[i-1], "```\n"); ok {
			lines := strings.Split(strings.TrimSpace(after), "\n")
			last = lines[len(lines)-1]
		}
		if last == "signet:" || strings.HasPrefix(body, "signet ") || strings.HasPrefix(body, "test ") || strings.HasPrefix(body, "kill ") {
			blocks = append(blocks, body)
		}
	}
	return blocks
}
