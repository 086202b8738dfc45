package manifest

import (
	"bytes"
	"context"
	"errors"
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
	cases := map[string]func(*DockerManifest){
		"empty config":     func(m *DockerManifest) { m.Config = Descriptor{} },
		"config no digest": func(m *DockerManifest) { m.Config.Digest = "" },
		"config no type":   func(m *DockerManifest) { m.Config.MediaType = "" },
		"empty layer":      func(m *DockerManifest) { m.Layers[1] = Descriptor{} },
		"layer bad digest": func(m *DockerManifest) { m.Layers[0].Digest = "sha256:xyz" },
		"no layers":        func(m *DockerManifest) { m.Layers = nil },
		"no media type":    func(m *DockerManifest) { m.MediaType = "" },
		"wrong schema":     func(m *DockerManifest) { m.SchemaVersion = 1 },
		"negative size":    func(m *DockerManifest) { m.Layers[0].Size = -1 },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			m := dockerManifestOf(img)
			mutate(&m)
			b, err := MarshalDockerGenerate(m)
			if err == nil {
				t.Fatalf("no error; encoded\n%s", b)
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
	cases := []struct {
		in   string
		want string
		err  bool
	}{
		{string(img.DockerGenerateManifest()), MediaTypeDockerManifest, false},
		{string(img.OCIManifest()), MediaTypeOCIManifest, false},
		{`{"schemaVersion":2,"config":{},"layers":[]}`, MediaTypeOCIManifest, false},
		{`{"schemaVersion":2,"manifests":[]}`, MediaTypeOCIIndex, false},
		{`{"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","manifests":[]}`, MediaTypeDockerManifestList, false},
		{`{"schemaVersion":2}`, "", true},
		{`{"config":{},"layers":[],"manifests":[]}`, "", true},
		{`[]`, "", true},
		{`not json`, "", true},
	}
	for _, c := range cases {
		got, err := MediaTypeOf([]byte(c.in))
		if (err != nil) != c.err || got != c.want {
			t.Errorf("MediaTypeOf(%.40q) = %q, %v; want %q, err %v", c.in, got, err, c.want, c.err)
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
	if _, err := Fetch(ctx, liar, desc); err == nil {
		t.Fatal("Fetch accepted bytes that do not match the descriptor")
	}
	sameSize := bytes.Clone(b)
	sameSize[len(sameSize)-1] = ' '
	if _, err := Fetch(ctx, &lyingFetcher{body: sameSize}, desc); err == nil {
		t.Fatal("Fetch accepted bytes with the wrong digest")
	}

	big := desc
	big.Size = MaxManifestSize + 1
	if _, err := Fetch(ctx, store, big); err == nil || !strings.Contains(err.Error(), "size") {
		t.Fatalf("oversized manifest: err = %v", err)
	}
	bad := desc
	bad.Digest = "sha256:nothex"
	if _, err := Fetch(ctx, store, bad); err == nil {
		t.Fatal("invalid digest accepted")
	}
}

type lyingFetcher struct{ body []byte }

func (l *lyingFetcher) Fetch(context.Context, ocispec.Descriptor) (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(l.body)), nil
}
