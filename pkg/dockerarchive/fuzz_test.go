package dockerarchive

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"

	"github.com/signet-oci/signet/internal/testimage"
	"github.com/signet-oci/signet/pkg/manifest"
)

// FuzzOpen feeds arbitrary bytes to the archive reader: it must never
// panic or hang, and whatever it accepts must be self-consistent (a
// non-empty descriptor matching Manifest(), every referenced blob
// fetchable and verified).
func FuzzOpen(f *testing.F) {
	for _, p := range []string{legacyTar, ociTar} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	img := testimage.New()
	ids := img.LayerIDs()
	es := remove(f, img.LegacyEntries(), ids[1]+"/layer.tar")
	es = append(es, testimage.Entry{Name: ids[1] + "/layer.tar", Typeflag: 2, Linkname: "../" + ids[0] + "/layer.tar"})
	if b, err := testimage.TarBytes(es); err == nil {
		f.Add(b)
	}
	f.Add([]byte{})
	f.Fuzz(fuzzOpen)
}

// fuzzOpen is FuzzOpen's body.
func fuzzOpen(t *testing.T, data []byte) {
	{
		p := filepath.Join(t.TempDir(), "f.tar")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		a, err := Open(p)
		if err != nil {
			if bytes.ContainsRune([]byte(err.Error()), '\n') {
				t.Fatalf("multi-line error %q", err)
			}
			return
		}
		defer a.Close()
		ctx := context.Background()
		d := a.Descriptor()
		if d.MediaType == "" || d.Digest == "" || d.Size <= 0 {
			t.Fatalf("empty descriptor %+v", d)
		}
		got, err := manifest.Fetch(ctx, a, d)
		if err != nil || !bytes.Equal(got, a.Manifest()) {
			t.Fatalf("manifest fetch: %v", err)
		}
		var m struct {
			Config    *ocispec.Descriptor
			Layers    []ocispec.Descriptor
			Manifests []ocispec.Descriptor
		}
		if err := json.Unmarshal(got, &m); err != nil {
			t.Fatalf("accepted manifest is not JSON: %v", err)
		}
		descs := append(m.Layers, m.Manifests...)
		if m.Config != nil {
			descs = append(descs, *m.Config)
		}
		for _, c := range descs {
			rc, err := a.Fetch(ctx, c)
			if err != nil {
				continue // index children may be absent
			}
			_, _ = io.Copy(io.Discard, content.NewVerifyReader(rc, c))
			rc.Close()
		}
	}
}
