package testimage

import (
	"archive/tar"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Entry is one member of a tarball written by WriteTar. Tests in other
// packages build variants of the fixtures (corrupt, two images, path
// traversal…) by editing the entry lists returned by LegacyEntries and
// OCIArchiveEntries.
type Entry struct {
	Name     string
	Body     []byte
	Typeflag byte   // tar.TypeReg when zero
	Linkname string // for tar.TypeSymlink and tar.TypeLink
}

// Fixture paths, relative to the testdata root.
const (
	OCILayoutDir           = "oci-layout"
	LegacyArchivePath      = "docker-archive/legacy.tar"
	OCIArchivePath         = "docker-archive/oci.tar"
	DockerGenerateManifest = "docker-generate/legacy-manifest.json"
)

// LegacyEntries returns the members of the pre-Docker-25 `docker save`
// tarball of the image, tagged busybox:latest: manifest.json, repositories,
// <configHex>.json and, per layer, <id>/VERSION, <id>/json, <id>/layer.tar.
func (img *Image) LegacyEntries() []Entry {
	ids := img.LayerIDs()
	var es []Entry
	var layerPaths []string
	for i, id := range ids {
		parent := ""
		if i > 0 {
			parent = fmt.Sprintf(`,"parent":%q`, ids[i-1])
		}
		v1 := fmt.Sprintf(`{"id":%q%s,"created":"2021-01-01T00:00:00Z","os":"linux"}`, id, parent)
		es = append(es,
			Entry{Name: id + "/", Typeflag: tar.TypeDir},
			Entry{Name: id + "/VERSION", Body: []byte("1.0")},
			Entry{Name: id + "/json", Body: []byte(v1)},
			Entry{Name: id + "/layer.tar", Body: img.Layers[i]},
		)
		layerPaths = append(layerPaths, id+"/layer.tar")
	}
	es = append(es, Entry{Name: img.ConfigHex() + ".json", Body: img.Config})
	mj := mustJSON([]map[string]any{{
		"Config":   img.ConfigHex() + ".json",
		"RepoTags": []string{RepoTag},
		"Layers":   layerPaths,
	}})
	es = append(es,
		Entry{Name: "manifest.json", Body: append(mj, '\n')},
		Entry{Name: "repositories", Body: append(mustJSON(map[string]map[string]string{Repository: {Tag: ids[len(ids)-1]}}), '\n')},
	)
	sortEntries(es)
	return es
}

// OCIArchiveEntries returns the members of the Docker 25+ `docker save`
// tarball: an OCI image layout (oci-layout, index.json, blobs/sha256/…)
// with the manifest as Docker 25 writes it (OCI, uncompressed layers), plus
// the legacy manifest.json and repositories files alongside.
func (img *Image) OCIArchiveEntries() []Entry {
	man := img.Docker25Manifest()
	mdesc := descOf(ocispec.MediaTypeImageManifest, man)
	mdesc.Annotations = map[string]string{
		"io.containerd.image.name": "docker.io/library/" + RepoTag,
		ocispec.AnnotationRefName:  Tag,
	}
	idx := ocispec.Index{MediaType: ocispec.MediaTypeImageIndex, Manifests: []ocispec.Descriptor{mdesc}}
	idx.SchemaVersion = 2
	es := []Entry{
		{Name: "blobs/", Typeflag: tar.TypeDir},
		{Name: "blobs/sha256/", Typeflag: tar.TypeDir},
		{Name: blobPath(img.Config), Body: img.Config},
		{Name: blobPath(man), Body: man},
		{Name: "index.json", Body: mustJSON(idx)},
		{Name: "oci-layout", Body: []byte(`{"imageLayoutVersion": "1.0.0"}`)},
		{Name: "repositories", Body: append(mustJSON(map[string]map[string]string{Repository: {Tag: mdesc.Digest.Encoded()}}), '\n')},
	}
	var layerPaths []string
	for _, l := range img.Layers {
		es = append(es, Entry{Name: blobPath(l), Body: l})
		layerPaths = append(layerPaths, blobPath(l))
	}
	mj := mustJSON([]map[string]any{{
		"Config":   blobPath(img.Config),
		"RepoTags": []string{RepoTag},
		"Layers":   layerPaths,
	}})
	es = append(es, Entry{Name: "manifest.json", Body: append(mj, '\n')})
	sortEntries(es)
	return es
}

func blobPath(b []byte) string { return "blobs/sha256/" + digest.FromBytes(b).Encoded() }

func sortEntries(es []Entry) {
	sort.SliceStable(es, func(i, j int) bool { return es[i].Name < es[j].Name })
}

// TarBytes returns a deterministic tarball of entries (USTAR, owner root,
// mtime Epoch; directories 0755, files 0644).
func TarBytes(entries []Entry) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		hdr := &tar.Header{
			Name:     e.Name,
			Typeflag: e.Typeflag,
			Linkname: e.Linkname,
			Mode:     0o644,
			ModTime:  Epoch,
			Format:   tar.FormatUSTAR,
		}
		switch e.Typeflag {
		case 0, tar.TypeReg:
			hdr.Typeflag = tar.TypeReg
			hdr.Size = int64(len(e.Body))
		case tar.TypeDir:
			hdr.Mode = 0o755
		}
		if len(hdr.Name) > 100 || len(hdr.Linkname) > 100 {
			hdr.Format = tar.FormatPAX
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, fmt.Errorf("tar entry %q: %w", e.Name, err)
		}
		if hdr.Size > 0 {
			if _, err := tw.Write(e.Body); err != nil {
				return nil, fmt.Errorf("tar entry %q: %w", e.Name, err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// WriteTar writes a deterministic tarball of entries to path.
func WriteTar(path string, entries []Entry) error {
	b, err := TarBytes(entries)
	if err != nil {
		return err
	}
	return writeFile(path, b)
}

// WriteLegacyArchive writes the legacy `docker save` tarball of the test
// image to path.
func WriteLegacyArchive(path string) error { return WriteTar(path, New().LegacyEntries()) }

// WriteOCIArchive writes the Docker 25+ `docker save` tarball of the test
// image to path.
func WriteOCIArchive(path string) error { return WriteTar(path, New().OCIArchiveEntries()) }

// WriteDockerGenerateManifest writes the exact bytes docker-generate
// v0.1.0 printed for the legacy archive to path.
func WriteDockerGenerateManifest(path string) error {
	return writeFile(path, New().DockerGenerateManifest())
}

// OCILayoutIndex returns the index.json of the OCI layout: tag "latest" is
// the Docker schema 2 manifest (the bytes docker-generate printed, which is
// what the prototype signed), tag "oci" the OCI image manifest.
func (img *Image) OCILayoutIndex() []byte {
	docker := descOf(mtDockerManifest, img.DockerGenerateManifest())
	docker.Annotations = map[string]string{ocispec.AnnotationRefName: Tag}
	oci := descOf(ocispec.MediaTypeImageManifest, img.OCIManifest())
	oci.Annotations = map[string]string{ocispec.AnnotationRefName: OCITag}
	idx := ocispec.Index{MediaType: ocispec.MediaTypeImageIndex, Manifests: []ocispec.Descriptor{docker, oci}}
	idx.SchemaVersion = 2
	return mustJSON(idx)
}

// WriteOCILayout writes the OCI image layout of the test image into dir
// (created if needed; existing blobs are overwritten, nothing is removed).
func WriteOCILayout(dir string) error {
	img := New()
	blobs := [][]byte{img.Config, img.DockerGenerateManifest(), img.OCIManifest()}
	blobs = append(blobs, img.GzipLayers...)
	for _, b := range blobs {
		if err := writeFile(filepath.Join(dir, filepath.FromSlash(blobPath(b))), b); err != nil {
			return err
		}
	}
	if err := writeFile(filepath.Join(dir, ocispec.ImageLayoutFile), []byte(`{"imageLayoutVersion":"1.0.0"}`)); err != nil {
		return err
	}
	return writeFile(filepath.Join(dir, ocispec.ImageIndexFile), img.OCILayoutIndex())
}

// Generate rewrites every generated fixture under root (normally the
// repository's testdata/): oci-layout/, docker-archive/legacy.tar,
// docker-archive/oci.tar and docker-generate/legacy-manifest.json. The OCI
// layout directory is removed first so that no stale blob survives; other
// files under root are left alone.
func Generate(root string) error {
	layout := filepath.Join(root, OCILayoutDir)
	if err := os.RemoveAll(layout); err != nil {
		return err
	}
	steps := []struct {
		path  string
		write func(string) error
	}{
		{layout, WriteOCILayout},
		{filepath.Join(root, filepath.FromSlash(LegacyArchivePath)), WriteLegacyArchive},
		{filepath.Join(root, filepath.FromSlash(OCIArchivePath)), WriteOCIArchive},
		{filepath.Join(root, filepath.FromSlash(DockerGenerateManifest)), WriteDockerGenerateManifest},
	}
	for _, s := range steps {
		if err := s.write(s.path); err != nil {
			return fmt.Errorf("generate %s: %w", s.path, err)
		}
	}
	return nil
}

// GeneratedFiles lists, slash-separated and relative to the testdata root,
// every file Generate writes.
func GeneratedFiles() []string {
	img := New()
	files := []string{LegacyArchivePath, OCIArchivePath, DockerGenerateManifest,
		OCILayoutDir + "/" + ocispec.ImageLayoutFile, OCILayoutDir + "/" + ocispec.ImageIndexFile}
	blobs := [][]byte{img.Config, img.DockerGenerateManifest(), img.OCIManifest()}
	blobs = append(blobs, img.GzipLayers...)
	for _, b := range blobs {
		files = append(files, OCILayoutDir+"/"+blobPath(b))
	}
	sort.Strings(files)
	return files
}

func writeFile(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
