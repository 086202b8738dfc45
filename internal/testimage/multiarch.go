package testimage

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/errdef"
)

// MultiTag is the tag of the multi-platform index in the layout
// WriteMultiArchLayout writes.
const MultiTag = "multi"

// MultiPlatforms are the platforms of the multi-platform test image, in
// the index's order.
var MultiPlatforms = []ocispec.Platform{
	{OS: "linux", Architecture: "amd64"},
	{OS: "linux", Architecture: "arm64", Variant: "v8"},
	{OS: "linux", Architecture: "arm", Variant: "v7"},
}

// MultiArch is the multi-platform test image: one small OCI image per
// platform (each with its own config and a layer naming its platform) and
// an OCI image index listing their manifests with their platforms.
type MultiArch struct {
	// Index is the OCI image index's exact bytes.
	Index []byte
	// Manifests are the platform manifests, in MultiPlatforms' order.
	Manifests [][]byte
	// Blobs are the configs and layers of every platform image.
	Blobs [][]byte
}

// NewMultiArch builds the multi-platform test image (the same bytes on
// every run).
func NewMultiArch() *MultiArch {
	ma := &MultiArch{}
	idx := ocispec.Index{MediaType: ocispec.MediaTypeImageIndex}
	idx.SchemaVersion = 2
	base := MakeLayer(layerFiles[0])
	for _, p := range MultiPlatforms {
		name := p.OS + "/" + p.Architecture
		if p.Variant != "" {
			name += "/" + p.Variant
		}
		raw := [][]byte{base, MakeLayer([]File{
			{Name: "etc/", Mode: 0o755, Dir: true},
			{Name: "etc/platform", Mode: 0o644, Body: name + "\n"},
		})}
		var layers [][]byte
		var diffIDs []digest.Digest
		for _, l := range raw {
			layers = append(layers, Gzip(l))
			diffIDs = append(diffIDs, digest.FromBytes(l))
		}
		created := Epoch
		cfg := mustJSON(ocispec.Image{
			Created:  &created,
			Platform: p,
			Config:   ocispec.ImageConfig{Cmd: []string{"/bin/hello"}},
			RootFS:   ocispec.RootFS{Type: "layers", DiffIDs: diffIDs},
		})
		m := ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest, Config: descOf(ocispec.MediaTypeImageConfig, cfg)}
		m.SchemaVersion = 2
		for _, l := range layers {
			m.Layers = append(m.Layers, descOf(ocispec.MediaTypeImageLayerGzip, l))
		}
		mb := mustJSON(m)
		ma.Manifests = append(ma.Manifests, mb)
		ma.Blobs = append(ma.Blobs, cfg)
		ma.Blobs = append(ma.Blobs, layers...)
		d := descOf(ocispec.MediaTypeImageManifest, mb)
		plat := p
		d.Platform = &plat
		idx.Manifests = append(idx.Manifests, d)
	}
	ma.Index = mustJSON(idx)
	return ma
}

// IndexDescriptor is the index's descriptor.
func (ma *MultiArch) IndexDescriptor() ocispec.Descriptor {
	return descOf(ocispec.MediaTypeImageIndex, ma.Index)
}

// ManifestDescriptor is platform i's manifest descriptor, with its
// platform, as the index lists it.
func (ma *MultiArch) ManifestDescriptor(i int) ocispec.Descriptor {
	d := descOf(ocispec.MediaTypeImageManifest, ma.Manifests[i])
	p := MultiPlatforms[i]
	d.Platform = &p
	return d
}

// Push pushes the multi-platform image into dst (blobs, platform
// manifests, then the index) and tags the index tag ("" for no tag).
func (ma *MultiArch) Push(ctx context.Context, dst interface {
	content.Pusher
	content.Tagger
}, tag string) (ocispec.Descriptor, error) {
	push := func(mediaType string, b []byte) error {
		err := dst.Push(ctx, descOf(mediaType, b), bytes.NewReader(b))
		if err != nil && !errors.Is(err, errdef.ErrAlreadyExists) {
			return fmt.Errorf("push %s: %w", descOf(mediaType, b).Digest, err)
		}
		return nil
	}
	seen := map[string]bool{}
	for _, b := range ma.Blobs {
		d := descOf("", b).Digest.String()
		if seen[d] {
			continue
		}
		seen[d] = true
		if err := push("application/octet-stream", b); err != nil {
			return ocispec.Descriptor{}, err
		}
	}
	for _, m := range ma.Manifests {
		if err := push(ocispec.MediaTypeImageManifest, m); err != nil {
			return ocispec.Descriptor{}, err
		}
	}
	idx := ma.IndexDescriptor()
	if err := push(idx.MediaType, ma.Index); err != nil {
		return ocispec.Descriptor{}, err
	}
	if tag != "" {
		if err := dst.Tag(ctx, idx, tag); err != nil {
			return ocispec.Descriptor{}, err
		}
	}
	return idx, nil
}

// WriteMultiArchLayout writes an OCI image layout holding the
// multi-platform image into dir, the index tagged MultiTag.
func WriteMultiArchLayout(dir string) error {
	ma := NewMultiArch()
	blobs := append(append([][]byte{ma.Index}, ma.Manifests...), ma.Blobs...)
	for _, b := range blobs {
		if err := writeFile(filepath.Join(dir, filepath.FromSlash(blobPath(b))), b); err != nil {
			return err
		}
	}
	if err := writeFile(filepath.Join(dir, ocispec.ImageLayoutFile), []byte(`{"imageLayoutVersion":"1.0.0"}`)); err != nil {
		return err
	}
	d := ma.IndexDescriptor()
	d.Annotations = map[string]string{ocispec.AnnotationRefName: MultiTag}
	top := ocispec.Index{MediaType: ocispec.MediaTypeImageIndex, Manifests: []ocispec.Descriptor{d}}
	top.SchemaVersion = 2
	b, err := json.Marshal(top)
	if err != nil {
		return err
	}
	return writeFile(filepath.Join(dir, ocispec.ImageIndexFile), b)
}
