package testimage

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/content/memory"
	"oras.land/oras-go/v2/content/oci"
)

// TestMultiArch: the multi-platform image is the same bytes every time;
// its index lists each platform's manifest with its platform, and each
// manifest's config names that platform; the layout copies completely
// through oras-go, and Push gives the same graph.
func TestMultiArch(t *testing.T) {
	a, b := NewMultiArch(), NewMultiArch()
	if !bytes.Equal(a.Index, b.Index) {
		t.Fatal("the index differs between two runs")
	}
	var idx ocispec.Index
	if err := json.Unmarshal(a.Index, &idx); err != nil {
		t.Fatal(err)
	}
	if len(idx.Manifests) != len(MultiPlatforms) {
		t.Fatalf("%d manifests", len(idx.Manifests))
	}
	seen := map[string]bool{}
	for i, e := range idx.Manifests {
		if want := a.ManifestDescriptor(i); e.Digest != want.Digest || e.Size != want.Size || e.Platform == nil || e.Platform.Architecture != MultiPlatforms[i].Architecture || e.Platform.Variant != MultiPlatforms[i].Variant {
			t.Errorf("entry %d: %+v, want %+v", i, e, want)
		}
		seen[e.Digest.String()] = true
		var m ocispec.Manifest
		if err := json.Unmarshal(a.Manifests[i], &m); err != nil {
			t.Fatal(err)
		}
		var cfg ocispec.Image
		for _, bl := range a.Blobs {
			if Descriptor("", bl).Digest == m.Config.Digest {
				_ = json.Unmarshal(bl, &cfg)
			}
		}
		if cfg.Platform.Architecture != MultiPlatforms[i].Architecture || cfg.Platform.Variant != MultiPlatforms[i].Variant {
			t.Errorf("manifest %d: config platform %+v", i, cfg.Platform)
		}
	}
	if len(seen) != len(MultiPlatforms) {
		t.Errorf("platform manifests are not distinct")
	}

	ctx := context.Background()
	dir := t.TempDir()
	if err := WriteMultiArchLayout(dir); err != nil {
		t.Fatal(err)
	}
	store, err := oci.NewFromFS(ctx, os.DirFS(dir))
	if err != nil {
		t.Fatal(err)
	}
	dst := memory.New()
	desc, err := oras.Copy(ctx, store, MultiTag, dst, MultiTag, oras.DefaultCopyOptions)
	if err != nil || desc.Digest != a.IndexDescriptor().Digest {
		t.Fatalf("copy: %v, %v", desc.Digest, err)
	}
	for i := range a.Manifests {
		if ok, err := dst.Exists(ctx, a.ManifestDescriptor(i)); !ok || err != nil {
			t.Errorf("platform manifest %d not copied: %v", i, err)
		}
	}
	pushed := memory.New()
	pd, err := a.Push(ctx, pushed, "v1")
	if err != nil || pd.Digest != desc.Digest {
		t.Fatalf("Push: %v %v", pd.Digest, err)
	}
	if got, err := content.FetchAll(ctx, pushed, a.ManifestDescriptor(2)); err != nil || !bytes.Equal(got, a.Manifests[2]) {
		t.Errorf("pushed arm/v7 manifest: %v", err)
	}
}
