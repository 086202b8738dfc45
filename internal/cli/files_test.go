package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signet-oci/signet/internal/faultreg"
)

const layoutRef = "oci-layout:../../testdata/oci-layout:latest"

// keyPair makes a key and certificate with signet generate cert.
func keyPair(t *testing.T, dir string) (key, crt string) {
	t.Helper()
	key, crt = filepath.Join(dir, "example.key"), filepath.Join(dir, "example.crt")
	if code, _, errOut := runCLI(t, "generate", "cert", "--key-out", key, "--cert-out", crt, "--ip", "127.0.0.1", "--key-type", "ec-p256"); code != 0 {
		t.Fatalf("generate cert: %d %s", code, errOut)
	}
	return key, crt
}

// TestOutputFileRule: every -o follows docs/cli-conventions.md "Files":
// it never destroys an input of the same command or a private key (exit
// 2, the file left as it was), writes through devices (as root too:
// /dev/null stays a character device), and follows symlinks.
func TestOutputFileRule(t *testing.T) {
	dir := t.TempDir()
	key, crt := keyPair(t, dir)
	keyBytes, _ := os.ReadFile(key)
	m := filepath.Join(dir, "m.json")
	if code, _, errOut := runCLI(t, "generate", "manifest", layoutRef, "-o", m); code != 0 {
		t.Fatalf("generate manifest: %d %s", code, errOut)
	}
	manifest, _ := os.ReadFile(m)

	for _, tc := range []struct {
		name string
		args []string
		file string
		want string
	}{
		{"sign over the manifest it signs", []string{"sign", "-k", key, "-c", crt, "-o", m, "file:" + m}, m, "input"},
		{"sign over its key", []string{"sign", "-k", key, "-c", crt, "-o", key, "--force", "file:" + m}, key, "input"},
		{"generate manifest over a key", []string{"generate", "manifest", layoutRef, "-o", key}, key, "private key"},
		{"sign over a key", []string{"sign", "-k", filepath.Join(dir, "missing.key"), "-c", crt, "-o", key, "file:" + m}, key, "private key"},
		{"generate cert over its CA key", []string{"generate", "cert", "--key-out", key, "--cert-out", filepath.Join(dir, "leaf.crt"), "--ca-key", key, "--ca-cert", crt, "--force"}, key, "input"},
	} {
		code, out, errOut := runCLI(t, tc.args...)
		if code != ExitUsage || !strings.Contains(errOut, tc.want) || strings.Count(strings.TrimSpace(errOut), "\n") != 0 || out != "" {
			t.Errorf("%s: exit %d, stdout %q, stderr %q", tc.name, code, out, errOut)
		}
		if tc.file == m {
			if b, _ := os.ReadFile(m); string(b) != string(manifest) {
				t.Errorf("%s: the manifest changed", tc.name)
			}
		} else if b, _ := os.ReadFile(key); string(b) != string(keyBytes) {
			t.Errorf("%s: the key changed", tc.name)
		}
	}

	// --force lets -o replace a key that is not an input.
	other := filepath.Join(dir, "other.key")
	os.WriteFile(other, keyBytes, 0o600)
	if code, _, errOut := runCLI(t, "generate", "manifest", layoutRef, "-o", other, "--force"); code != 0 {
		t.Fatalf("--force: %d %s", code, errOut)
	}

	// Devices are written through: /dev/null stays a character device.
	for _, args := range [][]string{
		{"generate", "manifest", layoutRef, "-o", "/dev/null"},
		{"sign", "-k", key, "-c", crt, "-o", "/dev/null", "file:" + m},
	} {
		code, _, errOut := runCLI(t, args...)
		fi, err := os.Lstat("/dev/null")
		if err != nil || fi.Mode()&os.ModeCharDevice == 0 {
			t.Fatalf("%v: /dev/null is now %v", args, fi.Mode())
		}
		if code != 0 {
			t.Fatalf("%v: exit %d %s", args, code, errOut)
		}
	}

	// A symlink stays a symlink; its target gets the bytes.
	link := filepath.Join(dir, "link.json")
	os.Symlink("target.json", link)
	if code, _, errOut := runCLI(t, "generate", "manifest", layoutRef, "-o", link); code != 0 {
		t.Fatalf("symlink: %d %s", code, errOut)
	}
	fi, _ := os.Lstat(link)
	b, _ := os.ReadFile(filepath.Join(dir, "target.json"))
	if fi.Mode()&os.ModeSymlink == 0 || string(b) != string(manifest) {
		t.Fatalf("symlink replaced (%v) or target wrong (%d bytes)", fi.Mode(), len(b))
	}
}

// TestOutputToDevStdout: -o /dev/stdout with stdout a pipe (signet run as
// a process, as root in CI) writes the bytes into the pipe and leaves
// /dev/stdout what it was.
func TestOutputToDevStdout(t *testing.T) {
	before, err := os.Lstat("/dev/stdout")
	if err != nil {
		t.Skip("no /dev/stdout on this system")
	}
	want, err := os.ReadFile(filepath.Join("..", "..", "testdata", "oci-layout", "blobs", "sha256", "250328a6e9a0f8699a9a5d8e0051c4fda97cf9349963581304198c4bbddffeb2"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "generate", "manifest", layoutRef, "-o", "/dev/stdout")
	cmd.Env = append(os.Environ(), "SIGNET_CLI_TEST_AS_SIGNET=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	// The manifest, then its digest on a line of its own.
	if !strings.HasPrefix(string(out), string(want)) || !strings.Contains(string(out), "sha256:250328a6") {
		t.Fatalf("stdout %q", out)
	}
	// stdout redirected to a file (signet … -o /dev/stdout > out.json):
	// the file gets the manifest and the digest line, in order.
	redirected := filepath.Join(t.TempDir(), "out.json")
	f, err := os.Create(redirected)
	if err != nil {
		t.Fatal(err)
	}
	cmd = exec.Command(os.Args[0], "generate", "manifest", layoutRef, "-o", "/dev/stdout")
	cmd.Env = append(os.Environ(), "SIGNET_CLI_TEST_AS_SIGNET=1")
	cmd.Stdout = f
	err = cmd.Run()
	f.Close()
	got, _ := os.ReadFile(redirected)
	if err != nil || string(got) != string(want)+"sha256:250328a6e9a0f8699a9a5d8e0051c4fda97cf9349963581304198c4bbddffeb2\n" {
		t.Fatalf("redirected: %v %q", err, got)
	}
	after, err := os.Lstat("/dev/stdout")
	if err != nil || after.Mode() != before.Mode() {
		t.Fatalf("/dev/stdout was %v, is %v (%v)", before.Mode(), after.Mode(), err)
	}
}

// TestPullSignatureOutputIsAFile: pull-signature's -o names a directory;
// an existing file there is refused before any request (exit status 2,
// one line saying what -o needs, no tag warning of a resolve that should
// not have happened), and the file stays as it was.
func TestPullSignatureOutputIsAFile(t *testing.T) {
	srv := faultreg.New(t)
	srv.Seed(t, "a")
	file := filepath.Join(t.TempDir(), "sigs")
	if err := os.WriteFile(file, []byte("keep\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, "pull-signature", srv.Host+"/a:latest", "-o", file)
	want := "Error: -o " + file + " is a file, not a directory; name a directory for the signature files (created if missing)\n"
	if code != ExitUsage || errOut != want || out != "" {
		t.Errorf("exit %d, stdout %q, stderr %q; want %d, %q", code, out, errOut, ExitUsage, want)
	}
	if b, _ := os.ReadFile(file); string(b) != "keep\n" {
		t.Errorf("the file changed: %q", b)
	}
}
