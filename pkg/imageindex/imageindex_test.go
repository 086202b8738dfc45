package imageindex_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/signet-oci/signet/internal/testimage"
	"github.com/signet-oci/signet/pkg/errdef"
	"github.com/signet-oci/signet/pkg/imageindex"
)

func TestParsePlatform(t *testing.T) {
	for in, want := range map[string]ocispec.Platform{
		"linux/amd64":      {OS: "linux", Architecture: "amd64"},
		"linux/arm64/v8":   {OS: "linux", Architecture: "arm64", Variant: "v8"},
		"linux/arm/v7":     {OS: "linux", Architecture: "arm", Variant: "v7"},
		"windows/amd64":    {OS: "windows", Architecture: "amd64"},
		"linux/ppc64le":    {OS: "linux", Architecture: "ppc64le"},
		"freebsd/riscv_64": {OS: "freebsd", Architecture: "riscv_64"},
	} {
		got, err := imageindex.ParsePlatform(in)
		if err != nil || got.OS != want.OS || got.Architecture != want.Architecture || got.Variant != want.Variant {
			t.Errorf("ParsePlatform(%q) = %+v, %v; want %+v", in, got, err, want)
		}
		if s := imageindex.Format(&got); s != in {
			t.Errorf("Format(ParsePlatform(%q)) = %q", in, s)
		}
	}
	for _, in := range []string{"", "linux", "linux/", "/amd64", "linux/amd64/", "linux/arm/v7/x", "Linux/AMD64", "linux/amd 64", "linux//v7"} {
		_, err := imageindex.ParsePlatform(in)
		if !errors.Is(err, errdef.ErrUsage) {
			t.Errorf("ParsePlatform(%q): %v, want a usage error", in, err)
		}
	}
}

func fixture(t *testing.T) *ocispec.Index {
	t.Helper()
	idx, err := imageindex.Decode(testimage.NewMultiArch().Index)
	if err != nil {
		t.Fatal(err)
	}
	return idx
}

func TestSelect(t *testing.T) {
	ma := testimage.NewMultiArch()
	idx := fixture(t)
	for in, want := range map[string]int{"linux/amd64": 0, "linux/arm64": 1, "linux/arm64/v8": 1, "linux/arm/v7": 2, "linux/arm": 2} {
		p, _ := imageindex.ParsePlatform(in)
		got, err := imageindex.Select(idx, p)
		if err != nil || got.Digest != ma.ManifestDescriptor(want).Digest {
			t.Errorf("Select(%s) = %s, %v; want %s", in, got.Digest, err, ma.ManifestDescriptor(want).Digest)
		}
	}
	p, _ := imageindex.ParsePlatform("linux/s390x")
	_, err := imageindex.Select(idx, p)
	if !errors.Is(err, errdef.ErrNotFound) || err.Error() != "no linux/s390x manifest in the index (its platforms: linux/amd64, linux/arm/v7, linux/arm64/v8)" {
		t.Errorf("Select(linux/s390x): %v", err)
	}
	p, _ = imageindex.ParsePlatform("linux/arm/v6")
	if _, err := imageindex.Select(idx, p); !errors.Is(err, errdef.ErrNotFound) {
		t.Errorf("Select(linux/arm/v6): %v", err)
	}
	// Two arm variants: linux/arm alone is ambiguous.
	two := *idx
	v6 := ma.ManifestDescriptor(2)
	v6.Digest = digest.FromString("v6")
	v6.Platform = &ocispec.Platform{OS: "linux", Architecture: "arm", Variant: "v6"}
	two.Manifests = append(append([]ocispec.Descriptor{}, idx.Manifests...), v6)
	p, _ = imageindex.ParsePlatform("linux/arm")
	if _, err := imageindex.Select(&two, p); !errors.Is(err, imageindex.ErrAmbiguous) || !errors.Is(err, errdef.ErrUsage) || !strings.Contains(err.Error(), "linux/arm/v7, linux/arm/v6") {
		t.Errorf("Select(linux/arm) among two variants: %v", err)
	}
}

// TestLists: an index entry covers a manifest only with the same digest,
// size and media type.
func TestLists(t *testing.T) {
	ma := testimage.NewMultiArch()
	idx := fixture(t)
	m := ma.ManifestDescriptor(1)
	m.Platform = nil
	if e, ok := imageindex.Lists(idx, m); !ok || imageindex.Format(e.Platform) != "linux/arm64/v8" {
		t.Fatalf("Lists(arm64 manifest) = %+v, %v", e, ok)
	}
	for name, change := range map[string]func(*ocispec.Descriptor){
		"size":      func(d *ocispec.Descriptor) { d.Size++ },
		"mediaType": func(d *ocispec.Descriptor) { d.MediaType = "application/vnd.docker.distribution.manifest.v2+json" },
		"digest":    func(d *ocispec.Descriptor) { d.Digest = digest.FromString("other") },
	} {
		d := m
		change(&d)
		if _, ok := imageindex.Lists(idx, d); ok {
			t.Errorf("Lists accepts a manifest with another %s", name)
		}
	}
}

func TestDecodeRefuses(t *testing.T) {
	good := testimage.NewMultiArch().Index
	edit := func(f func(map[string]any)) []byte {
		var m map[string]any
		if err := json.Unmarshal(good, &m); err != nil {
			t.Fatal(err)
		}
		f(m)
		b, _ := json.Marshal(m)
		return b
	}
	entry := func(m map[string]any) map[string]any { return m["manifests"].([]any)[0].(map[string]any) }
	many := make([]any, imageindex.MaxEntries+1)
	for i := range many {
		many[i] = map[string]any{"mediaType": ocispec.MediaTypeImageManifest, "digest": digest.FromString(fmt.Sprint(i)).String(), "size": 1}
	}
	for name, b := range map[string][]byte{
		"not JSON":            []byte("{"),
		"schemaVersion 1":     edit(func(m map[string]any) { m["schemaVersion"] = 1 }),
		"manifest mediaType":  edit(func(m map[string]any) { m["mediaType"] = ocispec.MediaTypeImageManifest }),
		"too many entries":    edit(func(m map[string]any) { m["manifests"] = many }),
		"bad entry digest":    edit(func(m map[string]any) { entry(m)["digest"] = "sha256:1234" }),
		"md5 entry digest":    edit(func(m map[string]any) { entry(m)["digest"] = "md5:d41d8cd98f00b204e9800998ecf8427e" }),
		"negative entry size": edit(func(m map[string]any) { entry(m)["size"] = -1 }),
		"huge entry size":     edit(func(m map[string]any) { entry(m)["size"] = 1 << 40 }),
		"no entry mediaType":  edit(func(m map[string]any) { delete(entry(m), "mediaType") }),
	} {
		if _, err := imageindex.Decode(b); err == nil {
			t.Errorf("%s: Decode accepted it", name)
		}
	}
}
