package manifest_test

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/signet-oci/signet/pkg/manifest"
)

// liar serves the same bytes for any descriptor: a registry that answers
// whatever it likes.
type liar []byte

func (l liar) Fetch(context.Context, ocispec.Descriptor) (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(l)), nil
}

// FuzzManifest: MediaTypeOf never panics and names a type when it accepts;
// Fetch returns bytes only when they are exactly the descriptor's (size
// and digest), whatever the fetcher serves.
func FuzzManifest(f *testing.F) {
	for _, s := range []string{
		`{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{},"layers":[]}`,
		`{"schemaVersion":2,"config":{},"layers":[]}`, `{"manifests":[]}`, `{"config":{},"manifests":[]}`, `[]`, `null`, `{"mediaType":1}`,
	} {
		f.Add([]byte(s), []byte(s), int64(len(s)))
	}
	f.Fuzz(func(t *testing.T, declared, served []byte, size int64) {
		if mt, err := manifest.MediaTypeOf(served); err == nil && mt == "" {
			t.Fatal("accepted without a media type")
		}
		desc := ocispec.Descriptor{MediaType: manifest.MediaTypeOCIManifest, Digest: digest.FromBytes(declared), Size: size}
		b, err := manifest.Fetch(context.Background(), liar(served), desc)
		if err != nil {
			return
		}
		if digest.FromBytes(b) != desc.Digest || int64(len(b)) != desc.Size || len(b) > manifest.MaxManifestSize {
			t.Fatalf("Fetch returned %d bytes not matching %+v", len(b), desc)
		}
	})
}
