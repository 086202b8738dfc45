package testimage

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// repoTestdata is the committed testdata directory.
const repoTestdata = "../../testdata"

// TestCommittedTestdataIsReproducible regenerates the fixtures in a
// temporary directory and requires the committed testdata/ to hold exactly
// the same files and bytes. If it fails, run `go run ./cmd/signet-testdata`
// from the repository root and commit the result.
func TestCommittedTestdataIsReproducible(t *testing.T) {
	dir := t.TempDir()
	if err := Generate(dir); err != nil {
		t.Fatal(err)
	}
	got := listFiles(t, dir)
	if want := GeneratedFiles(); !slices.Equal(got, want) {
		t.Fatalf("Generate wrote %v, GeneratedFiles says %v", got, want)
	}
	committed := listFiles(t, repoTestdata)
	for _, f := range got {
		if !slices.Contains(committed, f) {
			t.Errorf("testdata/%s missing; run go run ./cmd/signet-testdata", f)
			continue
		}
		a, _ := os.ReadFile(filepath.Join(dir, f))
		b, _ := os.ReadFile(filepath.Join(repoTestdata, f))
		if !bytes.Equal(a, b) {
			t.Errorf("testdata/%s differs from the generator's output; run go run ./cmd/signet-testdata", f)
		}
	}
	// No stale blob in the committed layout.
	for _, f := range committed {
		if filepath.Dir(f) == OCILayoutDir+"/blobs/sha256" && !slices.Contains(got, f) {
			t.Errorf("testdata/%s is stale (not generated)", f)
		}
	}
}

func TestDeterministic(t *testing.T) {
	a, b := New(), New()
	if !bytes.Equal(a.Config, b.Config) || !bytes.Equal(a.DockerGenerateManifest(), b.DockerGenerateManifest()) {
		t.Fatal("two builds differ")
	}
	x, _ := TarBytes(a.LegacyEntries())
	y, _ := TarBytes(b.LegacyEntries())
	if !bytes.Equal(x, y) {
		t.Fatal("legacy archives differ")
	}
}

func TestConfig(t *testing.T) {
	img := New()
	var cfg ocispec.Image
	if err := json.Unmarshal(img.Config, &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.OS != "linux" || cfg.Architecture != "amd64" {
		t.Errorf("platform %s/%s", cfg.OS, cfg.Architecture)
	}
	if len(cfg.RootFS.DiffIDs) != len(img.Layers) {
		t.Fatalf("%d diff_ids for %d layers", len(cfg.RootFS.DiffIDs), len(img.Layers))
	}
	for i, l := range img.Layers {
		if cfg.RootFS.DiffIDs[i] != digest.FromBytes(l) {
			t.Errorf("diff_ids[%d] wrong", i)
		}
	}
}

// TestDockerGenerateManifestIsIndentedJSON checks the hand-assembled bytes
// are valid JSON in json.MarshalIndent's three-space shape (formats.md §1).
func TestDockerGenerateManifestIsIndentedJSON(t *testing.T) {
	b := New().DockerGenerateManifest()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, b, "", "   "); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), b) {
		t.Fatalf("not in canonical three-space indent form:\n%s", b)
	}
	if b[len(b)-1] != '}' {
		t.Fatal("trailing bytes after the closing brace")
	}
}

func listFiles(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if rel == "README.md" {
			return nil
		}
		out = append(out, rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}
