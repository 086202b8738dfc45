package fsutil

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "example.key")
	if err := WriteFileAtomic(p, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, want 0600", fi.Mode().Perm())
	}
	if err := WriteFileAtomic(p, nil, 0o600); err == nil || err.Error() != "refusing to write an empty file to "+p {
		t.Errorf("empty write: err = %v", err)
	}
	if b, _ := os.ReadFile(p); string(b) != "secret" {
		t.Errorf("failed write changed the file: %q", b)
	}
	missing := filepath.Join(dir, "missing", "x")
	if err := WriteFileAtomic(missing, []byte("x"), 0o644); !errors.Is(err, fs.ErrNotExist) || !strings.HasPrefix(err.Error(), "cannot write "+missing+": ") {
		t.Errorf("write into a missing directory: err = %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the file (no temporary left behind)", len(entries))
	}
}
