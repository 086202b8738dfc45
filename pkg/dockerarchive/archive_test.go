package dockerarchive

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/content/memory"
	orasErrdef "oras.land/oras-go/v2/errdef"

	"github.com/signet-oci/signet/internal/testimage"
	"github.com/signet-oci/signet/pkg/errdef"
	"github.com/signet-oci/signet/pkg/manifest"
)

const (
	legacyTar      = "../../testdata/docker-archive/legacy.tar"
	ociTar         = "../../testdata/docker-archive/oci.tar"
	dockerGenerate = "../../testdata/docker-generate/legacy-manifest.json"
)

func open(t testing.TB, path string) *Archive {
	t.Helper()
	a, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

func writeTar(t testing.TB, entries []testimage.Entry) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "image.tar")
	if err := testimage.WriteTar(p, entries); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestLegacyMatchesDockerGenerate: for a legacy `docker save` tarball the
// manifest must be byte-identical to what docker-generate v0.1.0 printed
// (formats.md §1: gzip default level with empty header, three-space indent,
// no trailing newline). The expected bytes are hand-assembled by the
// generator, independently of pkg/manifest.
func TestLegacyMatchesDockerGenerate(t *testing.T) {
	want, err := os.ReadFile(dockerGenerate)
	if err != nil {
		t.Fatal(err)
	}
	a := open(t, legacyTar)
	if a.Shape() != ShapeLegacy {
		t.Errorf("Shape() = %q", a.Shape())
	}
	if got := a.Manifest(); !bytes.Equal(got, want) {
		t.Fatalf("manifest differs from docker-generate's output:\n%s\nwant\n%s", got, want)
	}
	d := a.Descriptor()
	if d.MediaType != manifest.MediaTypeDockerManifest || d.Digest != digest.FromBytes(want) || d.Size != int64(len(want)) {
		t.Fatalf("Descriptor() = %+v", d)
	}
}

// TestOCIArchive: a Docker 25+ tarball yields the manifest blob that
// index.json points at, unchanged — not docker-generate's empty `{}`
// descriptors.
func TestOCIArchive(t *testing.T) {
	img := testimage.New()
	a := open(t, ociTar)
	if a.Shape() != ShapeOCILayout {
		t.Errorf("Shape() = %q", a.Shape())
	}
	want := img.Docker25Manifest()
	if got := a.Manifest(); !bytes.Equal(got, want) {
		t.Fatalf("Manifest() = %s\nwant %s", got, want)
	}
	d := a.Descriptor()
	if d.MediaType != manifest.MediaTypeOCIManifest || d.Digest != digest.FromBytes(want) || d.Size != int64(len(want)) {
		t.Fatalf("Descriptor() = %+v", d)
	}
	if bytes.Contains(a.Manifest(), []byte("{}")) {
		t.Fatal("manifest contains an empty descriptor")
	}
}

// expectedBlobs lists what each fixture must serve besides the manifest,
// keyed by digest, with the media type the manifest gives.
func expectedBlobs(t *testing.T, path string) map[digest.Digest]ocispec.Descriptor {
	t.Helper()
	img := testimage.New()
	cfgType, layerType, layers := manifest.MediaTypeDockerConfig, manifest.MediaTypeDockerLayer, img.GzipLayers
	if path == ociTar {
		cfgType, layerType, layers = manifest.MediaTypeOCIConfig, manifest.MediaTypeOCILayer, img.Layers
	}
	m := map[digest.Digest]ocispec.Descriptor{}
	add := func(mt string, b []byte) {
		d := testimage.Descriptor(mt, b)
		d.Data = b
		m[d.Digest] = d
	}
	add(cfgType, img.Config)
	for _, l := range layers {
		add(layerType, l)
	}
	return m
}

func TestFetchAndExists(t *testing.T) {
	ctx := context.Background()
	for _, path := range []string{legacyTar, ociTar} {
		t.Run(filepath.Base(path), func(t *testing.T) {
			a := open(t, path)
			blobs := expectedBlobs(t, path)
			md := a.Descriptor()
			md.Data = a.Manifest()
			blobs[md.Digest] = md
			for d, exp := range blobs {
				want := exp.Data
				desc := ocispec.Descriptor{MediaType: "application/octet-stream", Digest: d, Size: int64(len(want))}
				got, err := content.FetchAll(ctx, a, desc)
				if err != nil || !bytes.Equal(got, want) {
					t.Errorf("Fetch(%s) = %d bytes, %v", d, len(got), err)
				}
				// Twice: legacy layers are re-compressed on every fetch.
				if again, err := content.FetchAll(ctx, a, desc); err != nil || !bytes.Equal(again, want) {
					t.Errorf("second Fetch(%s): %v", d, err)
				}
				if ok, err := a.Exists(ctx, desc); !ok || err != nil {
					t.Errorf("Exists(%s) = %v, %v", d, ok, err)
				}
				wrong := desc
				wrong.Size++
				wantErr := fmt.Sprintf("docker archive %s: %s: size %d in the descriptor, %d in the archive", path, d, wrong.Size, desc.Size)
				if _, err := a.Fetch(ctx, wrong); err == nil || err.Error() != wantErr {
					t.Errorf("Fetch(%s) with a wrong size: err = %v, want %q", d, err, wantErr)
				}
			}
			unknown := ocispec.Descriptor{Digest: digest.FromString("nope"), Size: 4}
			if _, err := a.Fetch(ctx, unknown); !errors.Is(err, orasErrdef.ErrNotFound) || !errors.Is(err, errdef.ErrNotFound) {
				t.Errorf("Fetch(unknown) err = %v", err)
			}
			if ok, err := a.Exists(ctx, unknown); ok || err != nil {
				t.Errorf("Exists(unknown) = %v, %v", ok, err)
			}
			want := "docker archive " + path + `: digest "sha256:zz": invalid checksum digest length`
			if _, err := a.Fetch(ctx, ocispec.Descriptor{Digest: "sha256:zz"}); err == nil || err.Error() != want {
				t.Errorf("Fetch(invalid digest): err = %v, want %q", err, want)
			}
		})
	}
}

// TestFetchVerifiesDigest: a blob whose bytes changed after the manifest
// was written (same size) fails as it is read.
func TestFetchVerifiesDigest(t *testing.T) {
	ctx := context.Background()
	img := testimage.New()
	layer := img.Layers[0]
	es := img.OCIArchiveEntries()
	name := "blobs/sha256/" + digest.FromBytes(layer).Encoded()
	bad := bytes.Clone(layer)
	bad[len(bad)-1] ^= 0xff
	es = replace(t, es, name, bad)
	a := open(t, writeTar(t, es))
	_, err := content.FetchAll(ctx, a, testimage.Descriptor(manifest.MediaTypeOCILayer, layer))
	if err == nil || !strings.Contains(err.Error(), name) {
		t.Fatalf("corrupt layer: err = %v", err)
	}
	// The raw reader too, not only FetchAll.
	rc, err := a.Fetch(ctx, testimage.Descriptor(manifest.MediaTypeOCILayer, layer))
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if _, err := io.Copy(io.Discard, rc); !errors.Is(err, content.ErrMismatchedDigest) && (err == nil || !strings.Contains(err.Error(), "mismatched digest")) {
		t.Fatalf("reading a corrupt layer: err = %v", err)
	}
}

// TestFetchCloseEarly: closing a re-compressing reader before the end
// must not leak or block.
func TestFetchCloseEarly(t *testing.T) {
	img := testimage.New()
	a := open(t, legacyTar)
	rc, err := a.Fetch(context.Background(), testimage.Descriptor(manifest.MediaTypeDockerLayer, img.GzipLayers[0]))
	if err != nil {
		t.Fatal(err)
	}
	var b [3]byte
	if _, err := io.ReadFull(rc, b[:]); err != nil {
		t.Fatal(err)
	}
	if err := rc.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestResolve(t *testing.T) {
	ctx := context.Background()
	cases := map[string][]string{
		legacyTar: {"", "busybox:latest"},
		ociTar:    {"", "busybox:latest", "latest", "docker.io/library/busybox:latest"},
	}
	for path, refs := range cases {
		a := open(t, path)
		refs = append(refs, a.Descriptor().Digest.String())
		for _, r := range refs {
			d, err := a.Resolve(ctx, r)
			if err != nil || d.Digest != a.Descriptor().Digest {
				t.Errorf("%s: Resolve(%q) = %v, %v", path, r, d, err)
			}
		}
		_, err := a.Resolve(ctx, "busybox:other")
		if !errors.Is(err, orasErrdef.ErrNotFound) || !errors.Is(err, errdef.ErrNotFound) || !strings.Contains(err.Error(), "busybox:latest") {
			t.Errorf("%s: Resolve(unknown) err = %v", path, err)
		}
	}
}

// TestCopyToMemory: oras.Copy out of the archive carries the exact
// manifest bytes and every blob.
func TestCopyToMemory(t *testing.T) {
	ctx := context.Background()
	for _, path := range []string{legacyTar, ociTar} {
		t.Run(filepath.Base(path), func(t *testing.T) {
			a := open(t, path)
			dst := memory.New()
			desc, err := oras.Copy(ctx, a, "busybox:latest", dst, "copied", oras.DefaultCopyOptions)
			if err != nil {
				t.Fatal(err)
			}
			if desc.Digest != a.Descriptor().Digest || desc.MediaType != a.Descriptor().MediaType {
				t.Fatalf("copied %+v, want %+v", desc, a.Descriptor())
			}
			got, err := manifest.Fetch(ctx, dst, desc)
			if err != nil || !bytes.Equal(got, a.Manifest()) {
				t.Fatalf("manifest in destination: %v\n%s", err, got)
			}
			for d, exp := range expectedBlobs(t, path) {
				want := exp.Data
				exp.Data = nil
				b, err := content.FetchAll(ctx, dst, exp)
				if err != nil || !bytes.Equal(b, want) {
					t.Errorf("blob %s in destination: %v", d, err)
				}
			}
		})
	}
}

// TestSymlinkedLayer: docker save links a layer that appears twice.
func TestSymlinkedLayer(t *testing.T) {
	img := testimage.New()
	ids := img.LayerIDs()
	es := img.LegacyEntries()
	second := ids[1] + "/layer.tar"
	es = remove(t, es, second)
	es = append(es, testimage.Entry{Name: second, Typeflag: tar.TypeSymlink, Linkname: "../" + ids[0] + "/layer.tar"})
	a := open(t, writeTar(t, es))
	var m manifest.DockerManifest
	if err := decodeJSON(a.Manifest(), &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Layers) != 2 || m.Layers[0] != m.Layers[1] || m.Layers[0].Digest != digest.FromBytes(img.GzipLayers[0]) {
		t.Fatalf("layers %+v", m.Layers)
	}
}

// TestIndexTarget: when index.json points at an image index, the target
// is that index and its children are fetchable.
func TestIndexTarget(t *testing.T) {
	ctx := context.Background()
	img := testimage.New()
	child := img.Docker25Manifest()
	cdesc := testimage.Descriptor(manifest.MediaTypeOCIManifest, child)
	cdesc.Platform = &ocispec.Platform{OS: "linux", Architecture: "amd64"}
	inner := ocispec.Index{MediaType: manifest.MediaTypeOCIIndex, Manifests: []ocispec.Descriptor{cdesc}}
	inner.SchemaVersion = 2
	ib := mustJSON(t, inner)
	top := ocispec.Index{MediaType: manifest.MediaTypeOCIIndex, Manifests: []ocispec.Descriptor{testimage.Descriptor(manifest.MediaTypeOCIIndex, ib)}}
	top.SchemaVersion = 2
	es := replace(t, img.OCIArchiveEntries(), "index.json", mustJSON(t, top))
	es = append(es, testimage.Entry{Name: "blobs/sha256/" + digest.FromBytes(ib).Encoded(), Body: ib})
	a := open(t, writeTar(t, es))
	if !bytes.Equal(a.Manifest(), ib) || a.Descriptor().MediaType != manifest.MediaTypeOCIIndex {
		t.Fatalf("target %+v", a.Descriptor())
	}
	got, err := manifest.Fetch(ctx, a, cdesc)
	if err != nil || !bytes.Equal(got, child) {
		t.Fatalf("child: %v", err)
	}
	dst := memory.New()
	if _, err := oras.Copy(ctx, a, "", dst, "x", oras.DefaultCopyOptions); err != nil {
		t.Fatal(err)
	}
}

func TestOpenErrors(t *testing.T) {
	img := testimage.New()
	ids := img.LayerIDs()
	legacy := img.LegacyEntries
	oci := img.OCIArchiveEntries
	twoImages := []byte(`[{"Config":"` + img.ConfigHex() + `.json","RepoTags":["a:1"],"Layers":["` + ids[0] + `/layer.tar"]},` +
		`{"Config":"` + img.ConfigHex() + `.json","RepoTags":["b:1"],"Layers":["` + ids[0] + `/layer.tar"]}]`)
	withLayers := func(layers string) []byte {
		return []byte(`[{"Config":"` + img.ConfigHex() + `.json","RepoTags":["a:1"],"Layers":[` + layers + `]}]`)
	}
	otherManifest := img.OCIManifest()
	twoIndex := ocispec.Index{MediaType: manifest.MediaTypeOCIIndex, Manifests: []ocispec.Descriptor{
		testimage.Descriptor(manifest.MediaTypeOCIManifest, img.Docker25Manifest()),
		testimage.Descriptor(manifest.MediaTypeOCIManifest, otherManifest),
	}}
	twoIndex.SchemaVersion = 2
	d25 := img.Docker25Manifest()
	d25Name := "blobs/sha256/" + digest.FromBytes(d25).Encoded()
	layer0 := "blobs/sha256/" + digest.FromBytes(img.Layers[0]).Encoded()

	cases := []struct {
		name    string
		raw     []byte            // used when non-nil
		entries []testimage.Entry // otherwise
		want    string
	}{
		{name: "empty file", raw: []byte{}, want: "empty or not a tar"},
		{name: "not a tar", raw: bytes.Repeat([]byte("not a tarball "), 100), want: "not a valid tar"},
		{name: "truncated tar", raw: truncated(t, legacy(), 5000), want: "bytes declared past the end of the file"},
		{name: "neither shape", entries: []testimage.Entry{{Name: "hello.txt", Body: []byte("hi")}}, want: "neither manifest.json"},
		{name: "two images", entries: replace(t, legacy(), "manifest.json", twoImages), want: "lists 2 images"},
		{name: "no images", entries: replace(t, legacy(), "manifest.json", []byte(`[]`)), want: "lists 0 images"},
		{name: "manifest.json not json", entries: replace(t, legacy(), "manifest.json", []byte(`{`)), want: "not a docker save manifest"},
		{name: "manifest.json trailing data", entries: replace(t, legacy(), "manifest.json", append(withLayers(`"`+ids[0]+`/layer.tar"`), "[]"...)), want: "trailing data"},
		{name: "missing layer", entries: remove(t, legacy(), ids[1]+"/layer.tar"), want: ids[1] + "/layer.tar\": missing"},
		{name: "missing config", entries: remove(t, legacy(), img.ConfigHex()+".json"), want: "missing from the archive"},
		{name: "corrupt config", entries: replace(t, legacy(), img.ConfigHex()+".json", []byte(`{"os":"linux"}`)), want: "corrupt: its sha256 is sha256:"},
		{name: "config not named by digest", entries: append(replace(t, legacy(), "manifest.json", []byte(`[{"Config":"config.json","Layers":["`+ids[0]+`/layer.tar"]}]`)),
			testimage.Entry{Name: "config.json", Body: img.Config}), want: "<sha256 hex>.json"},
		{name: "no layers", entries: replace(t, legacy(), "manifest.json", withLayers(``)), want: "no Layers"},
		{name: "layer traversal in manifest.json", entries: replace(t, legacy(), "manifest.json", withLayers(`"../../etc/passwd"`)), want: `Layers[0] "../../etc/passwd": invalid name`},
		{name: "absolute layer in manifest.json", entries: replace(t, legacy(), "manifest.json", withLayers(`"/etc/passwd"`)), want: `Layers[0] "/etc/passwd": invalid name`},
		{name: "traversal entry", entries: append(legacy(), testimage.Entry{Name: "../evil", Body: []byte("x")}), want: `entry "../evil": path traversal (..)`},
		{name: "nested traversal entry", entries: append(legacy(), testimage.Entry{Name: "a/../../evil", Body: []byte("x")}), want: `entry "a/../../evil": path traversal (..)`},
		{name: "absolute entry", entries: append(legacy(), testimage.Entry{Name: "/etc/evil", Body: []byte("x")}), want: `entry "/etc/evil": absolute path`},
		{name: "symlink out of archive", entries: append(remove(t, legacy(), ids[1]+"/layer.tar"),
			testimage.Entry{Name: ids[1] + "/layer.tar", Typeflag: tar.TypeSymlink, Linkname: "../../etc/passwd"}), want: `symlink "../../etc/passwd" leaves the archive`},
		{name: "absolute symlink", entries: append(remove(t, legacy(), ids[1]+"/layer.tar"),
			testimage.Entry{Name: ids[1] + "/layer.tar", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"}), want: `symlink to an absolute path "/etc/passwd"`},
		{name: "symlink loop", entries: append(remove(t, legacy(), ids[1]+"/layer.tar"),
			testimage.Entry{Name: ids[1] + "/layer.tar", Typeflag: tar.TypeSymlink, Linkname: "layer.tar"}), want: "more than 8 links to follow"},
		{name: "duplicate entry", entries: append(legacy(), testimage.Entry{Name: "./manifest.json", Body: []byte("[]")}), want: "appears twice"},
		{name: "oci two images", entries: replace(t, oci(), "index.json", mustJSON(t, twoIndex)), want: "2 different images"},
		{name: "oci no images", entries: replace(t, oci(), "index.json", []byte(`{"schemaVersion":2,"manifests":[]}`)), want: "lists no image"},
		{name: "oci missing manifest blob", entries: remove(t, oci(), d25Name), want: "missing from the archive"},
		{name: "oci corrupt manifest blob", entries: replace(t, oci(), d25Name, bytes.Replace(d25, []byte(`"size":487`), []byte(`"size":488`), 1)), want: "corrupt: does not match the size"},
		{name: "oci missing layer", entries: remove(t, oci(), layer0), want: layer0},
		{name: "oci layer size mismatch", entries: replace(t, oci(), layer0, img.Layers[1]), want: "bytes, the manifest says"},
		{name: "oci missing oci-layout", entries: remove(t, oci(), "oci-layout"), want: "oci-layout\": missing"},
		{name: "oci bad layout version", entries: replace(t, oci(), "oci-layout", []byte(`{"imageLayoutVersion":"2.0.0"}`)), want: `unsupported imageLayoutVersion "2.0.0"`},
		{name: "oci index not json", entries: replace(t, oci(), "index.json", []byte(`nope`)), want: "not an OCI image index"},
		{name: "oci bad digest", entries: replace(t, oci(), "index.json", []byte(`{"manifests":[{"mediaType":"x","digest":"sha256:../../x","size":3}]}`)), want: `manifests[0]: digest "sha256:../../x": invalid checksum digest length`},
		{name: "oci media type mismatch", entries: replace(t, oci(), "index.json", mustJSON(t, ocispec.Index{Manifests: []ocispec.Descriptor{testimage.Descriptor(manifest.MediaTypeDockerManifest, d25)}})), want: "but index.json says"},
		{name: "oci target is a config", entries: replace(t, oci(), "index.json", mustJSON(t, ocispec.Index{Manifests: []ocispec.Descriptor{testimage.Descriptor("", img.Config)}})), want: "manifest has no mediaType and is neither an image manifest nor an index"},
		{name: "oversized manifest.json", entries: replace(t, legacy(), "manifest.json", bytes.Repeat([]byte(" "), MaxJSONSize+1)), want: fmt.Sprintf("%d bytes, more than the %d allowed", MaxJSONSize+1, MaxJSONSize)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "bad.tar")
			if c.raw != nil {
				if err := os.WriteFile(p, c.raw, 0o644); err != nil {
					t.Fatal(err)
				}
			} else {
				p = writeTar(t, c.entries)
			}
			a, err := Open(p)
			if err == nil {
				a.Close()
				t.Fatalf("Open succeeded; manifest %s", a.Manifest())
			}
			msg := err.Error()
			if !strings.Contains(msg, c.want) {
				t.Errorf("error %q does not mention %q", msg, c.want)
			}
			if !strings.Contains(msg, p) || strings.Contains(msg, "\n") {
				t.Errorf("error %q: want one line naming the file", msg)
			}
		})
	}
}

func TestOpenMissingFile(t *testing.T) {
	if _, err := Open(filepath.Join(t.TempDir(), "nope.tar")); err == nil || !strings.Contains(err.Error(), "nope.tar") {
		t.Fatalf("err = %v", err)
	}
	dir := t.TempDir()
	if _, err := Open(dir); err == nil || err.Error() != "docker archive "+dir+": not a regular file" {
		t.Fatalf("opening a directory: err = %v, want \"docker archive %s: not a regular file\"", err, dir)
	}
}

func TestCleanName(t *testing.T) {
	good := map[string]string{"./a//b": "a/b", "a/./b/": "a/b", "./": "", "manifest.json": "manifest.json"}
	for in, want := range good {
		if got, err := cleanName(in); err != nil || got != want {
			t.Errorf("cleanName(%q) = %q, %v", in, got, err)
		}
	}
	bad := map[string]string{
		"/a": "absolute path", "..": "path traversal (..)", "../a": "path traversal (..)", "a/../../b": "path traversal (..)", "a/..": "path traversal (..)",
		"a\\b": "name contains a NUL byte or backslash", "a\x00b": "name contains a NUL byte or backslash",
		strings.Repeat("a", MaxNameLength+1): fmt.Sprintf("name longer than %d bytes", MaxNameLength),
	}
	for in, want := range bad {
		if _, err := cleanName(in); err == nil || err.Error() != want {
			t.Errorf("cleanName(%.40q): err = %v, want %q", in, err, want)
		}
	}
}

func replace(t testing.TB, es []testimage.Entry, name string, body []byte) []testimage.Entry {
	t.Helper()
	out := append([]testimage.Entry(nil), es...)
	for i := range out {
		if out[i].Name == name {
			out[i].Body = body
			return out
		}
	}
	t.Fatalf("no entry %q", name)
	return nil
}

func remove(t testing.TB, es []testimage.Entry, name string) []testimage.Entry {
	t.Helper()
	var out []testimage.Entry
	for _, e := range es {
		if e.Name != name {
			out = append(out, e)
		}
	}
	if len(out) == len(es) {
		t.Fatalf("no entry %q", name)
	}
	return out
}

func truncated(t testing.TB, es []testimage.Entry, n int) []byte {
	t.Helper()
	b, err := testimage.TarBytes(es)
	if err != nil {
		t.Fatal(err)
	}
	return b[:n]
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
