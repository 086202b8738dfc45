package dockerarchive

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"
	orasErrdef "oras.land/oras-go/v2/errdef"

	"github.com/signet-oci/signet/internal/testimage"
	"github.com/signet-oci/signet/pkg/manifest"
)

// FuzzOpen feeds arbitrary bytes to the archive reader: it must never
// panic or hang, and whatever it accepts must be self-consistent: a
// non-empty descriptor matching Manifest(), the config and every layer
// fetched and verified independently (size and digest), the reader
// failing exactly when the bytes do not match their descriptor.
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
	// An OCI archive whose first layer has its declared size but other
	// bytes: Open accepts it (it checks sizes), reading the layer must fail.
	var oci []testimage.Entry
	for _, e := range img.OCIArchiveEntries() {
		if e.Name == "blobs/sha256/"+digest.FromBytes(img.Layers[0]).Encoded() {
			e.Body = bytes.Clone(e.Body)
			e.Body[len(e.Body)/2] ^= 0xff
		}
		oci = append(oci, e)
	}
	if b, err := testimage.TarBytes(oci); err == nil {
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
		// The config and layers of an image manifest were found at Open
		// with their declared sizes: each must be fetched. The children of
		// an index need not be present (docker save of a multi-platform
		// image keeps some platforms only): absent is ErrNotFound, present
		// with another size is refused by Fetch, anything else fails.
		var descs []ocispec.Descriptor
		if m.Config != nil {
			descs = append(descs, *m.Config)
		}
		descs = append(descs, m.Layers...)
		required := len(descs)
		descs = append(descs, m.Manifests...)
		for i, c := range descs {
			rc, err := a.Fetch(ctx, c)
			if err != nil {
				if i < required {
					t.Fatalf("blob %s of the accepted image: fetch: %v", c.Digest, err)
				}
				if !errors.Is(err, orasErrdef.ErrNotFound) && !strings.Contains(err.Error(), " in the descriptor, ") {
					t.Fatalf("index child %s: fetch: %v, want not found or a size mismatch", c.Digest, err)
				}
				continue
			}
			checkBlob(t, a, rc, c)
		}
	}
}

// checkBlob reads the blob rc serves for c to the end and verifies it
// independently (size and digest). The archive's reader must agree: no
// error when the bytes match c, its "does not match its descriptor" error
// when they do not (Open checks sizes, not the digests of OCI blobs).
func checkBlob(t *testing.T, a *Archive, rc io.ReadCloser, c ocispec.Descriptor) {
	t.Helper()
	defer rc.Close()
	var got bytes.Buffer
	_, readErr := io.Copy(&got, io.LimitReader(rc, c.Size+1))
	vr := content.NewVerifyReader(bytes.NewReader(got.Bytes()), c)
	if _, err := io.Copy(io.Discard, vr); err != nil {
		t.Fatalf("blob %s: re-reading %d bytes: %v", c.Digest, got.Len(), err)
	}
	verifyErr := vr.Verify()
	switch {
	case readErr == nil && verifyErr != nil:
		t.Fatalf("blob %s served without error but does not match its descriptor: %v", c.Digest, verifyErr)
	case readErr != nil && verifyErr == nil:
		t.Fatalf("blob %s matches its descriptor but reading it failed: %v", c.Digest, readErr)
	case readErr != nil:
		if a.Shape() == ShapeLegacy {
			t.Fatalf("legacy blob %s (digest computed at Open) failed verification: %v", c.Digest, readErr)
		}
		if !strings.Contains(readErr.Error(), "does not match its descriptor") || strings.ContainsRune(readErr.Error(), '\n') {
			t.Fatalf("blob %s: read error %q, want the one-line \"does not match its descriptor\"", c.Digest, readErr)
		}
	}
}
