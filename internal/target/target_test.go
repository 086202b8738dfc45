package target

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signet-oci/signet/internal/testimage"
	"github.com/signet-oci/signet/pkg/discover"
	"github.com/signet-oci/signet/pkg/errdef"
	"github.com/signet-oci/signet/pkg/reference"
)

func TestCheckLayout(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	lay := filepath.Join(dir, "lay")
	if err := testimage.WriteOCILayout(lay); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path  string
		usage bool
		want  string
	}{
		{filepath.Join(dir, "missing"), true, "OCI layout " + filepath.Join(dir, "missing") + " does not exist; check the path"},
		{file, false, file + " is a file, not an OCI image layout directory"},
		{empty, false, empty + " is not an OCI image layout (no oci-layout file)"},
		{lay, false, ""},
	} {
		err := CheckLayout(c.path)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.path, err)
		case c.want != "" && (err == nil || err.Error() != c.want || errors.Is(err, errdef.ErrUsage) != c.usage):
			t.Errorf("%s: %v; want %q (usage error: %v)", c.path, err, c.want, c.usage)
		}
	}
	// The same checks through the one door, for every kind of command.
	ref, _ := reference.Parse("oci-layout:" + file + ":v1")
	if _, err := Discoverer(context.Background(), "discover", ref, nil, discover.Options{}); err == nil || !strings.Contains(err.Error(), "is a file") {
		t.Errorf("Discoverer on a file: %v", err)
	}
	if _, err := Open(context.Background(), ref, nil, true); err == nil || !strings.Contains(err.Error(), "is a file") {
		t.Errorf("Open for writing on a file: %v", err)
	}
	ref, _ = reference.Parse("docker-archive:" + file)
	if _, err := Discoverer(context.Background(), "verify", ref, nil, discover.Options{}); !errors.Is(err, errdef.ErrUsage) || !strings.Contains(err.Error(), "verify needs a registry reference or oci-layout:DIR") {
		t.Errorf("Discoverer on a docker archive: %v", err)
	}
}

// TestResolveManifestInALayout: the manifest a layout's tag names is
// described as a registry describes it (no ref.name annotation), with its
// exact bytes.
func TestResolveManifestInALayout(t *testing.T) {
	lay := filepath.Join(t.TempDir(), "lay")
	if err := testimage.WriteOCILayout(lay); err != nil {
		t.Fatal(err)
	}
	ref, _ := reference.Parse("oci-layout:" + lay + ":latest")
	desc, b, err := ResolveManifest(context.Background(), ref, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(desc.Annotations) != 0 || desc.MediaType == "" || desc.Size != int64(len(b)) {
		t.Errorf("descriptor %+v for %d bytes", desc, len(b))
	}
	ref, _ = reference.Parse("oci-layout:" + lay + "@" + desc.Digest.String())
	d2, _, err := ResolveManifest(context.Background(), ref, nil)
	if err != nil || d2.Digest != desc.Digest || d2.MediaType != desc.MediaType {
		t.Errorf("by digest: %+v, %v; want %+v", d2, err, desc)
	}
}
