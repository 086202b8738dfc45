// Package testimage builds signet's tiny, deterministic "busybox-like" test
// image and writes it in every shape signet reads: an OCI image layout, the
// legacy (Docker ≤24) `docker save` tarball, the Docker 25+ OCI-shaped
// `docker save` tarball, and the exact bytes docker-generate v0.1.0 printed
// for the legacy tarball.
//
// Every function produces the same bytes on every run, so the committed
// fixtures in testdata/ can be checked against a fresh generation
// (go run ./cmd/signet-testdata).
package testimage

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Fixed names of the test image.
const (
	Repository = "busybox"
	Tag        = "latest"
	RepoTag    = Repository + ":" + Tag
	// OCITag is the second tag in the OCI layout, pointing at an OCI image
	// manifest of the same image.
	OCITag = "oci"
)

// Media types used by the fixtures (spelled out here rather than imported
// from pkg/manifest so that the fixtures cross-check that package).
const (
	mtDockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
	mtDockerConfig   = "application/vnd.docker.container.image.v1+json"
	mtDockerLayer    = "application/vnd.docker.image.rootfs.diff.tar.gzip"
)

// Epoch is the modification time of every file in the image.
var Epoch = time.Date(2021, time.January, 1, 0, 0, 0, 0, time.UTC)

// File is one entry of a layer.
type File struct {
	Name string
	Mode int64
	Body string // empty with Dir set for a directory
	Dir  bool
}

// Image is the test image: uncompressed layer tars, their gzip forms
// (Go compress/gzip, default level, empty header — exactly what
// docker-generate produced), and the config.
type Image struct {
	Layers     [][]byte // uncompressed layer tars
	GzipLayers [][]byte // gzip-compressed layers
	Config     []byte   // config JSON
}

// layerFiles lists the content of the two layers.
var layerFiles = [][]File{
	{
		{Name: "bin/", Mode: 0o755, Dir: true},
		{Name: "bin/hello", Mode: 0o755, Body: "#!/bin/sh\necho 'hello from signet'\n"},
		{Name: "etc/", Mode: 0o755, Dir: true},
		{Name: "etc/os-release", Mode: 0o644, Body: "NAME=signet-busybox\nID=signet\n"},
	},
	{
		{Name: "etc/", Mode: 0o755, Dir: true},
		{Name: "etc/motd", Mode: 0o644, Body: "signet test image\n"},
	},
}

// New builds the test image. It panics only on an internal bug (all inputs
// are constants).
func New() *Image {
	img := &Image{}
	var diffIDs []digest.Digest
	var history []ocispec.History
	for i, files := range layerFiles {
		l := MakeLayer(files)
		img.Layers = append(img.Layers, l)
		img.GzipLayers = append(img.GzipLayers, Gzip(l))
		diffIDs = append(diffIDs, digest.FromBytes(l))
		created := Epoch
		history = append(history, ocispec.History{
			Created:   &created,
			CreatedBy: fmt.Sprintf("signet-testdata layer %d", i+1),
		})
	}
	created := Epoch
	cfg := ocispec.Image{
		Created: &created,
		Platform: ocispec.Platform{
			Architecture: "amd64",
			OS:           "linux",
		},
		Config: ocispec.ImageConfig{
			Env:        []string{"PATH=/bin"},
			Cmd:        []string{"/bin/hello"},
			WorkingDir: "/",
		},
		RootFS: ocispec.RootFS{
			Type:    "layers",
			DiffIDs: diffIDs,
		},
		History: history,
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		panic(err)
	}
	img.Config = b
	return img
}

// MakeLayer returns a deterministic tar of files (owner root, mtime Epoch,
// USTAR format).
func MakeLayer(files []File) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		hdr := &tar.Header{
			Name:    f.Name,
			Mode:    f.Mode,
			ModTime: Epoch,
			Uname:   "root",
			Gname:   "root",
			Format:  tar.FormatUSTAR,
		}
		if f.Dir {
			hdr.Typeflag = tar.TypeDir
		} else {
			hdr.Typeflag = tar.TypeReg
			hdr.Size = int64(len(f.Body))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			panic(err)
		}
		if _, err := tw.Write([]byte(f.Body)); err != nil {
			panic(err)
		}
	}
	if err := tw.Close(); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// Gzip compresses b the way docker-generate did (formats.md §1): Go
// compress/gzip at the default level with a zero header (no name, no mtime).
func Gzip(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		panic(err)
	}
	if err := zw.Close(); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// ConfigHex is the hex sha256 of the config (the legacy archive's
// "<hex>.json" name).
func (img *Image) ConfigHex() string { return hexOf(img.Config) }

// LayerIDs returns the legacy v1 layer IDs: a deterministic hash chain over
// the diff IDs (the directory names in the legacy archive).
func (img *Image) LayerIDs() []string {
	var ids []string
	parent := ""
	for _, l := range img.Layers {
		id := hexOf([]byte(parent + " " + digest.FromBytes(l).String()))
		ids = append(ids, id)
		parent = id
	}
	return ids
}

// DockerGenerateManifest returns the exact bytes docker-generate v0.1.0
// printed for the legacy archive (formats.md §1): a Docker schema 2
// manifest, three-space indent, key order schemaVersion, mediaType, config,
// layers and, in each descriptor, mediaType, size, digest; no trailing
// newline. It is assembled by hand, not with encoding/json, so that it is an
// independent check of pkg/manifest and pkg/dockerarchive.
func (img *Image) DockerGenerateManifest() []byte {
	var b bytes.Buffer
	b.WriteString("{\n")
	b.WriteString("   \"schemaVersion\": 2,\n")
	b.WriteString("   \"mediaType\": \"" + mtDockerManifest + "\",\n")
	b.WriteString("   \"config\": {\n")
	fmt.Fprintf(&b, "      \"mediaType\": \"%s\",\n", mtDockerConfig)
	fmt.Fprintf(&b, "      \"size\": %d,\n", len(img.Config))
	fmt.Fprintf(&b, "      \"digest\": \"sha256:%s\"\n", hexOf(img.Config))
	b.WriteString("   },\n")
	b.WriteString("   \"layers\": [\n")
	for i, l := range img.GzipLayers {
		b.WriteString("      {\n")
		fmt.Fprintf(&b, "         \"mediaType\": \"%s\",\n", mtDockerLayer)
		fmt.Fprintf(&b, "         \"size\": %d,\n", len(l))
		fmt.Fprintf(&b, "         \"digest\": \"sha256:%s\"\n", hexOf(l))
		if i < len(img.GzipLayers)-1 {
			b.WriteString("      },\n")
		} else {
			b.WriteString("      }\n")
		}
	}
	b.WriteString("   ]\n")
	b.WriteString("}")
	return b.Bytes()
}

// OCIManifest returns an OCI image manifest (compact JSON) of the image with
// gzip layers, the second tag of the OCI layout.
func (img *Image) OCIManifest() []byte {
	m := ocispec.Manifest{
		MediaType: ocispec.MediaTypeImageManifest,
		Config:    descOf(ocispec.MediaTypeImageConfig, img.Config),
	}
	m.SchemaVersion = 2
	for _, l := range img.GzipLayers {
		m.Layers = append(m.Layers, descOf(ocispec.MediaTypeImageLayerGzip, l))
	}
	return mustJSON(m)
}

// Docker25Manifest returns the manifest as Docker 25+ `docker save` writes
// it: an OCI image manifest, compact JSON, with uncompressed layers.
func (img *Image) Docker25Manifest() []byte {
	m := ocispec.Manifest{
		MediaType: ocispec.MediaTypeImageManifest,
		Config:    descOf(ocispec.MediaTypeImageConfig, img.Config),
	}
	m.SchemaVersion = 2
	for _, l := range img.Layers {
		m.Layers = append(m.Layers, descOf(ocispec.MediaTypeImageLayer, l))
	}
	return mustJSON(m)
}

// Descriptor returns the descriptor of b with media type mediaType.
func Descriptor(mediaType string, b []byte) ocispec.Descriptor { return descOf(mediaType, b) }

func descOf(mediaType string, b []byte) ocispec.Descriptor {
	return ocispec.Descriptor{MediaType: mediaType, Digest: digest.FromBytes(b), Size: int64(len(b))}
}

func hexOf(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
