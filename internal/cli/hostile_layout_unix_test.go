//go:build unix

package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/opencontainers/go-digest"
)

// TestHostileLayout: an OCI layout received from elsewhere is read within
// bounds by verify, discover and pull-signature: a manifest over
// manifest.MaxManifestSize (a 64 MiB sparse file) and a manifest that is a
// FIFO are each refused unread, with one line naming the layout and the
// bound and exit status 1 (a local input that is not what it should be).
func TestHostileLayout(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "lay")
	if err := os.MkdirAll(filepath.Join(dir, "blobs", "sha256"), 0o755); err != nil {
		t.Fatal(err)
	}
	huge, fifo := digest.FromString("huge"), digest.FromString("fifo")
	index := fmt.Sprintf(`{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"%s","size":%d,"annotations":{"org.opencontainers.image.ref.name":"latest"}}]}`, huge, 64<<20)
	for name, b := range map[string]string{"oci-layout": `{"imageLayoutVersion":"1.0.0"}`, "index.json": index} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(b), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Create(filepath.Join(dir, "blobs", "sha256", huge.Encoded()))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(64 << 20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	cert := filepath.Join(corpusDir, "valid-walkthrough-openssl-cert", "trusted-0.pem")
	ref := "oci-layout:" + dir + ":latest"
	want := fmt.Sprintf("Error: the OCI layout %s: blobs/sha256/%s is %d bytes, over the 4194304-byte limit for a manifest; refused unread\n", dir, huge.Encoded(), 64<<20)
	cmds := [][]string{
		{"verify", "-c", cert, ref},
		{"discover", ref},
		{"pull-signature", "-o", filepath.Join(t.TempDir(), "sigs"), ref},
	}
	for _, args := range cmds {
		code, _, errOut := runCLI(t, args...)
		if code != ExitError || errOut != want {
			t.Errorf("%v: exit %d, stderr %q; want exit %d, %q", args, code, errOut, ExitError, want)
		}
	}

	// The same layout listing a FIFO instead: refused, not waited on.
	if err := os.WriteFile(filepath.Join(dir, "index.json"), []byte(strings.Replace(index, string(huge), string(fifo), 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "blobs", "sha256", fifo.Encoded()), 0o644); err != nil {
		t.Skipf("no FIFO here: %v", err)
	}
	want = fmt.Sprintf("Error: the OCI layout %s: blobs/sha256/%s is not a regular file (a named pipe); refused unread\n", dir, fifo.Encoded())
	for _, args := range cmds {
		code, _, errOut := runCLI(t, args...)
		if code != ExitError || errOut != want {
			t.Errorf("%v: exit %d, stderr %q; want exit %d, %q", args, code, errOut, ExitError, want)
		}
	}
}
