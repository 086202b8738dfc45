package manifest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content/memory"

	"github.com/signet-oci/signet/internal/testimage"
)

func dockerManifestOf(img *testimage.Image) DockerManifest {
	m := DockerManifest{
		SchemaVersion: 2,
		MediaType:     MediaTypeDockerManifest,
		Config: Descriptor{
			MediaType: MediaTypeDockerConfig,
			Size:      int64(len(img.Config)),
			Digest:    digest.FromBytes(img.Config),
		},
	}
	for _, l := range img.GzipLayers {
		m.Layers = append(m.Layers, Descriptor{MediaType: MediaTypeDockerLayer, Size: int64(len(l)), Digest: digest.FromBytes(l)})
	}
	return m
}

// TestMarshalDockerGenerateMatchesPrototype cross-checks the encoder
// against the hand-assembled bytes of formats.md §1 (three-space indent,
// fixed key order, no trailing newline).
func TestMarshalDockerGenerateMatchesPrototype(t *testing.T) {
	img := testimage.New()
	got, err := MarshalDockerGenerate(dockerManifestOf(img))
	if err != nil {
		t.Fatal(err)
	}
	if want := img.DockerGenerateManifest(); !bytes.Equal(got, want) {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

func TestMarshalDockerGenerateRefusesEmptyDescriptor(t *testing.T) {
	img := testimage.New()
	cases := map[string]struct {
		mutate func(*DockerManifest)
		want   string
	}{
		"empty config":     {func(m *DockerManifest) { m.Config = Descriptor{} }, "docker manifest: config: empty descriptor"},
		"config no digest": {func(m *DockerManifest) { m.Config.Digest = "" }, "docker manifest: config: empty descriptor"},
		"config no type":   {func(m *DockerManifest) { m.Config.MediaType = "" }, "docker manifest: config: empty descriptor"},
		"empty layer":      {func(m *DockerManifest) { m.Layers[1] = Descriptor{} }, "docker manifest: layers[1]: empty descriptor"},
		"layer bad digest": {func(m *DockerManifest) { m.Layers[0].Digest = "sha256:xyz" }, `docker manifest: layers[0]: digest "sha256:xyz": invalid checksum digest length`},
		"no layers":        {func(m *DockerManifest) { m.Layers = nil }, "docker manifest: no layers"},
		"no media type":    {func(m *DockerManifest) { m.MediaType = "" }, "docker manifest: no mediaType"},
		"wrong schema":     {func(m *DockerManifest) { m.SchemaVersion = 1 }, "docker manifest: schemaVersion 1, want 2"},
		"negative size":    {func(m *DockerManifest) { m.Layers[0].Size = -1 }, "docker manifest: layers[0]: negative size -1"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			m := dockerManifestOf(img)
			c.mutate(&m)
			b, err := MarshalDockerGenerate(m)
			if err == nil || err.Error() != c.want {
				t.Fatalf("err = %v, want %q; encoded\n%s", err, c.want, b)
			}
			if b != nil {
				t.Fatal("bytes returned with an error")
			}
		})
	}
	m := dockerManifestOf(img)
	m.Layers[0] = Descriptor{}
	if _, err := MarshalDockerGenerate(m); !errors.Is(err, ErrEmptyDescriptor) {
		t.Fatalf("err = %v, want ErrEmptyDescriptor", err)
	}
}

func TestMediaTypeOf(t *testing.T) {
	img := testimage.New()
	const neither = "manifest has no mediaType and is neither an image manifest nor an index"
	cases := []struct {
		in   string
		want string
		err  string // the error's start; "" for none
	}{
		{string(img.DockerGenerateManifest()), MediaTypeDockerManifest, ""},
		{string(img.OCIManifest()), MediaTypeOCIManifest, ""},
		{`{"schemaVersion":2,"config":{},"layers":[]}`, MediaTypeOCIManifest, ""},
		{`{"schemaVersion":2,"manifests":[]}`, MediaTypeOCIIndex, ""},
		{`{"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","manifests":[]}`, MediaTypeDockerManifestList, ""},
		{`{"schemaVersion":2}`, "", neither},
		{`{"config":{},"layers":[],"manifests":[]}`, "", neither},
		{`[]`, "", "manifest is not a JSON object: "},
		{`not json`, "", "manifest is not a JSON object: "},
	}
	for _, c := range cases {
		got, err := MediaTypeOf([]byte(c.in))
		if got != c.want || (c.err == "") != (err == nil) || err != nil && !strings.HasPrefix(err.Error(), c.err) {
			t.Errorf("MediaTypeOf(%.40q) = %q, %v; want %q, err %q", c.in, got, err, c.want, c.err)
		}
	}
}

func TestEmptyDescriptor(t *testing.T) {
	if digest.FromBytes(EmptyJSON) != EmptyDescriptor.Digest || int64(len(EmptyJSON)) != EmptyDescriptor.Size {
		t.Fatal("EmptyDescriptor does not describe EmptyJSON")
	}
}

func TestFetch(t *testing.T) {
	ctx := context.Background()
	store := memory.New()
	b := testimage.New().DockerGenerateManifest()
	desc := testimage.Descriptor(MediaTypeDockerManifest, b)
	if err := store.Push(ctx, desc, bytes.NewReader(b)); err != nil {
		t.Fatal(err)
	}
	got, err := Fetch(ctx, store, desc)
	if err != nil || !bytes.Equal(got, b) {
		t.Fatalf("Fetch = %v", err)
	}

	// A store that lies about content fails verification.
	liar := &lyingFetcher{body: append(bytes.Clone(b), '\n')}
	refused := func(what string, err error, want string) {
		t.Helper()
		if err == nil || err.Error() != want {
			t.Fatalf("%s: err = %v, want %q", what, err, want)
		}
	}
	_, err = Fetch(ctx, liar, desc)
	refused("bytes that do not match the descriptor", err, "manifest "+desc.Digest.String()+": trailing data")
	sameSize := bytes.Clone(b)
	sameSize[len(sameSize)-1] = ' '
	_, err = Fetch(ctx, &lyingFetcher{body: sameSize}, desc)
	refused("bytes with the wrong digest", err, "manifest "+desc.Digest.String()+": mismatched digest")

	big := desc
	big.Size = MaxManifestSize + 1
	_, err = Fetch(ctx, store, big)
	refused("oversized manifest", err, fmt.Sprintf("manifest %s: size %d outside 0..%d bytes", desc.Digest, MaxManifestSize+1, MaxManifestSize))
	bad := desc
	bad.Digest = "sha256:nothex"
	_, err = Fetch(ctx, store, bad)
	refused("invalid digest", err, `manifest digest "sha256:nothex": invalid checksum digest length`)
}

type lyingFetcher struct{ body []byte }

func (l *lyingFetcher) Fetch(context.Context, ocispec.Descriptor) (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(l.body)), nil
}
