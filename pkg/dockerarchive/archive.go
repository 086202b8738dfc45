// Package dockerarchive reads `docker save` tarballs as a read-only oras-go
// target, so that an image can be copied out of a tarball (oras.Copy) and
// its manifest signed exactly as the 2021 prototype did.
//
// Two tarball shapes exist (formats.md §1):
//
//   - "legacy" (Docker ≤24): manifest.json lists Config "<hex>.json" and
//     Layers "<id>/layer.tar". The archive holds no manifest, so one is
//     synthesized exactly like docker-generate v0.1.0 did: each layer is
//     re-compressed with Go's compress/gzip (default level, empty header)
//     and the manifest is a Docker schema 2 manifest encoded with
//     manifest.MarshalDockerGenerate.
//   - "oci-layout" (Docker 25+): an OCI image layout (oci-layout,
//     index.json, blobs/sha256/<hex>), possibly with manifest.json
//     alongside. The image is the manifest (or index) index.json points at;
//     its bytes are served unchanged.
//
// The tarball is indexed in one pass at Open (entry name → offset) and read
// in place: nothing is loaded whole into memory except manifests and the
// JSON files, which are bounded in size. Every blob served is verified
// against its digest and size as it is read.
package dockerarchive

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"
	orasErrdef "oras.land/oras-go/v2/errdef"

	"github.com/signet-oci/signet/pkg/errdef"
	"github.com/signet-oci/signet/pkg/manifest"
)

// Tarball shapes reported by Archive.Shape.
const (
	ShapeLegacy    = "legacy"
	ShapeOCILayout = "oci-layout"
)

// Limits on what the tarball controls.
const (
	// MaxJSONSize bounds manifest.json, index.json, oci-layout and every
	// manifest read into memory.
	MaxJSONSize = manifest.MaxManifestSize
	// MaxEntries bounds the number of tar entries.
	MaxEntries = 1 << 16
	// MaxNameLength bounds a tar entry name or link target.
	MaxNameLength = 4096
	// MaxLayers bounds the number of layers of the image.
	MaxLayers = 1024
	// MaxRepoTags bounds the number of tags naming the image.
	MaxRepoTags = 1024
	// maxLinkHops bounds how many symlinks/hardlinks are followed.
	maxLinkHops = 8
)

// entry is one member of the tarball.
type entry struct {
	name     string
	offset   int64
	size     int64
	typeflag byte
	linkname string // raw link target, for symlinks and hard links
}

// blob is something the archive can serve.
type blob struct {
	desc  ocispec.Descriptor
	data  []byte // in-memory content (manifests)
	entry *entry // content stored in the tar
	gzip  bool   // entry is re-compressed (legacy layers)
}

// Archive is a `docker save` tarball opened for reading. It implements
// oras.ReadOnlyTarget. It is safe for concurrent use.
type Archive struct {
	path     string
	f        *os.File
	shape    string
	desc     ocispec.Descriptor
	manifest []byte
	refs     map[string]bool
	entries  map[string]*entry
	blobs    map[digest.Digest]*blob // legacy shape: everything servable
}

// Open opens and indexes the `docker save` tarball at path, in either
// shape, and prepares its single image. Errors name the file and the
// offending entry.
func Open(path string) (*Archive, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("docker archive: %w", err)
	}
	a := &Archive{
		path:    path,
		f:       f,
		refs:    map[string]bool{"": true},
		entries: map[string]*entry{},
	}
	if err := a.open(); err != nil {
		f.Close()
		return nil, err
	}
	return a, nil
}

func (a *Archive) open() error {
	fi, err := a.f.Stat()
	if err != nil {
		return a.errorf("%v", err)
	}
	if !fi.Mode().IsRegular() {
		return a.errorf("not a regular file")
	}
	if err := a.index(fi.Size()); err != nil {
		return err
	}
	switch {
	case a.entries["index.json"] != nil:
		a.shape = ShapeOCILayout
		err = a.openOCI()
	case a.entries["manifest.json"] != nil:
		a.shape = ShapeLegacy
		err = a.openLegacy()
	default:
		return a.errorf("not a docker save archive: neither manifest.json (legacy) nor index.json (OCI layout, Docker 25+) found")
	}
	if err != nil {
		return err
	}
	// Belt and braces: never hand out an empty descriptor.
	if a.desc.MediaType == "" || a.desc.Digest == "" || a.desc.Size <= 0 || len(a.manifest) == 0 {
		return a.errorf("internal error: empty image descriptor")
	}
	a.refs[a.desc.Digest.String()] = true
	return nil
}

// Close releases the tarball.
func (a *Archive) Close() error { return a.f.Close() }

// Path returns the tarball's file name.
func (a *Archive) Path() string { return a.path }

// Shape returns "legacy" or "oci-layout".
func (a *Archive) Shape() string { return a.shape }

// Descriptor returns the descriptor of the image's manifest (or index):
// media type, digest and size, never empty.
func (a *Archive) Descriptor() ocispec.Descriptor { return a.desc }

// Manifest returns the exact bytes of the image's manifest (or index). For
// the legacy shape these are the bytes docker-generate v0.1.0 printed.
func (a *Archive) Manifest() []byte { return bytes.Clone(a.manifest) }

// References returns, sorted, the names Resolve accepts besides "" and the
// manifest digest: the RepoTags of manifest.json and, for the OCI-layout
// shape, the index.json ref-name and image-name annotations.
func (a *Archive) References() []string {
	var out []string
	for r := range a.refs {
		if r != "" && r != a.desc.Digest.String() {
			out = append(out, r)
		}
	}
	sort.Strings(out)
	return out
}

// Resolve returns the image's descriptor for reference "" (the one image),
// the manifest digest, or one of References.
func (a *Archive) Resolve(ctx context.Context, reference string) (ocispec.Descriptor, error) {
	if err := ctx.Err(); err != nil {
		return ocispec.Descriptor{}, err
	}
	if a.refs[reference] {
		return a.desc, nil
	}
	known := a.References()
	hint := "it holds no tagged image"
	if len(known) > 0 {
		hint = "it holds " + strings.Join(known, ", ")
	}
	return ocispec.Descriptor{}, errdef.NotFound(fmt.Errorf("docker archive %s: reference %q: %w; %s", a.path, reference, orasErrdef.ErrNotFound, hint))
}

// Exists reports whether the archive holds the content desc describes
// (same digest and size).
func (a *Archive) Exists(ctx context.Context, desc ocispec.Descriptor) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	_, err := a.find(desc)
	if errors.Is(err, orasErrdef.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// Fetch returns a reader of the content desc describes. The reader
// verifies size and digest: reading to the end fails if the content does
// not match desc.
func (a *Archive) Fetch(ctx context.Context, desc ocispec.Descriptor) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b, err := a.find(desc)
	if err != nil {
		return nil, err
	}
	switch {
	case b.data != nil:
		return io.NopCloser(bytes.NewReader(b.data)), nil
	case b.gzip:
		return a.gzipReader(b), nil
	default:
		return a.verifyReader(b.entry, b.desc, nil), nil
	}
}

// find looks up the content described by desc.
func (a *Archive) find(desc ocispec.Descriptor) (*blob, error) {
	if err := desc.Digest.Validate(); err != nil {
		return nil, fmt.Errorf("docker archive %s: digest %q: %w", a.path, desc.Digest, err)
	}
	notFound := func() error {
		return errdef.NotFound(fmt.Errorf("docker archive %s: %s: %w", a.path, desc.Digest, orasErrdef.ErrNotFound))
	}
	var b *blob
	if desc.Digest == a.desc.Digest {
		b = &blob{desc: a.desc, data: a.manifest}
	} else if a.shape == ShapeLegacy {
		b = a.blobs[desc.Digest]
	} else {
		name := "blobs/" + desc.Digest.Algorithm().String() + "/" + desc.Digest.Encoded()
		if a.entries[name] == nil {
			return nil, notFound()
		}
		e, err := a.lookup(name)
		if err != nil {
			return nil, err
		}
		b = &blob{desc: ocispec.Descriptor{MediaType: desc.MediaType, Digest: desc.Digest, Size: e.size}, entry: e}
	}
	if b == nil {
		return nil, notFound()
	}
	if b.desc.Size != desc.Size {
		return nil, fmt.Errorf("docker archive %s: %s: size %d in the descriptor, %d in the archive", a.path, desc.Digest, desc.Size, b.desc.Size)
	}
	return b, nil
}

// errorf returns a one-line error naming the tarball.
func (a *Archive) errorf(format string, args ...any) error {
	return fmt.Errorf("docker archive %s: "+format, append([]any{a.path}, args...)...)
}

// entryErrorf returns a one-line error naming the tarball and an entry.
func (a *Archive) entryErrorf(name, format string, args ...any) error {
	return fmt.Errorf("docker archive %s: entry %q: "+format, append([]any{a.path, name}, args...)...)
}

// index makes one pass over the tarball, recording every entry's data
// offset and size.
func (a *Archive) index(fileSize int64) error {
	tr := tar.NewReader(a.f)
	n := 0
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return a.errorf("not a valid tar archive (after %d entries): %v", n, err)
		}
		n++
		if n > MaxEntries {
			return a.errorf("more than %d entries", MaxEntries)
		}
		name, err := cleanName(hdr.Name)
		if err != nil {
			return a.entryErrorf(truncate(hdr.Name), "%v", err)
		}
		switch hdr.Typeflag {
		case tar.TypeReg, tar.TypeSymlink, tar.TypeLink:
		case tar.TypeGNUSparse:
			return a.entryErrorf(name, "sparse files are not supported")
		default:
			continue // directories, devices, fifos: never content
		}
		for k := range hdr.PAXRecords {
			if strings.HasPrefix(k, "GNU.sparse.") {
				return a.entryErrorf(name, "sparse files are not supported")
			}
		}
		if name == "" {
			return a.entryErrorf(hdr.Name, "file entry without a name")
		}
		if len(hdr.Linkname) > MaxNameLength {
			return a.entryErrorf(name, "link target longer than %d bytes", MaxNameLength)
		}
		off, err := a.f.Seek(0, io.SeekCurrent)
		if err != nil {
			return a.errorf("%v", err)
		}
		if hdr.Typeflag != tar.TypeReg {
			hdr.Size = 0
		}
		if hdr.Size < 0 || off > fileSize || hdr.Size > fileSize-off {
			return a.entryErrorf(name, "truncated: %d bytes declared past the end of the file", hdr.Size)
		}
		if a.entries[name] != nil {
			return a.entryErrorf(name, "appears twice")
		}
		a.entries[name] = &entry{name: name, offset: off, size: hdr.Size, typeflag: hdr.Typeflag, linkname: hdr.Linkname}
	}
	if n == 0 {
		return a.errorf("empty or not a tar archive")
	}
	return nil
}

// cleanName normalizes a tar entry name ("./a//b" → "a/b") and refuses
// absolute names, names with ".." and other oddities. The archive root
// ("./") cleans to "".
func cleanName(name string) (string, error) {
	if len(name) > MaxNameLength {
		return "", fmt.Errorf("name longer than %d bytes", MaxNameLength)
	}
	if strings.ContainsAny(name, "\x00\\") {
		return "", errors.New("name contains a NUL byte or backslash")
	}
	if strings.HasPrefix(name, "/") {
		return "", errors.New("absolute path")
	}
	for _, seg := range strings.Split(name, "/") {
		if seg == ".." {
			return "", errors.New("path traversal (..)")
		}
	}
	c := path.Clean(name)
	if c == "." {
		return "", nil
	}
	return c, nil
}

// lookup returns the regular-file entry name refers to, following
// symlinks and hard links inside the archive (docker save links duplicate
// layers).
func (a *Archive) lookup(name string) (*entry, error) {
	orig := name
	for range maxLinkHops {
		e := a.entries[name]
		if e == nil {
			if name == orig {
				return nil, a.entryErrorf(orig, "missing from the archive")
			}
			return nil, a.entryErrorf(orig, "links to %q, which is missing from the archive", name)
		}
		switch e.typeflag {
		case tar.TypeReg:
			return e, nil
		case tar.TypeSymlink:
			if strings.HasPrefix(e.linkname, "/") {
				return nil, a.entryErrorf(name, "symlink to an absolute path %q", truncate(e.linkname))
			}
			target := path.Join(path.Dir(e.name), e.linkname)
			if target == ".." || strings.HasPrefix(target, "../") {
				return nil, a.entryErrorf(name, "symlink %q leaves the archive", truncate(e.linkname))
			}
			name = target
		case tar.TypeLink:
			target, err := cleanName(e.linkname)
			if err != nil || target == "" {
				return nil, a.entryErrorf(name, "hard link to %q: invalid target", truncate(e.linkname))
			}
			name = target
		}
	}
	return nil, a.entryErrorf(orig, "more than %d links to follow", maxLinkHops)
}

// section returns a reader of an entry's data.
func (a *Archive) section(e *entry) *io.SectionReader {
	return io.NewSectionReader(a.f, e.offset, e.size)
}

// readSmall reads a whole entry of at most max bytes.
func (a *Archive) readSmall(name string, max int64) ([]byte, error) {
	e, err := a.lookup(name)
	if err != nil {
		return nil, err
	}
	if e.size > max {
		return nil, a.entryErrorf(name, "%d bytes, more than the %d allowed", e.size, max)
	}
	b := make([]byte, e.size)
	if _, err := io.ReadFull(a.section(e), b); err != nil {
		return nil, a.entryErrorf(name, "%v", err)
	}
	return b, nil
}

// hashEntry streams an entry through sha256.
func (a *Archive) hashEntry(e *entry) (digest.Digest, error) {
	h := sha256.New()
	if _, err := io.Copy(h, a.section(e)); err != nil {
		return "", a.entryErrorf(e.name, "%v", err)
	}
	return digest.NewDigestFromEncoded(digest.SHA256, hex.EncodeToString(h.Sum(nil))), nil
}

// gzipEntry streams an entry through gzip (docker-generate's settings)
// into sha256, returning the compressed digest and size.
func (a *Archive) gzipEntry(e *entry) (digest.Digest, int64, error) {
	h := sha256.New()
	cw := &countWriter{w: h}
	zw := gzip.NewWriter(cw)
	if _, err := io.Copy(zw, a.section(e)); err != nil {
		return "", 0, a.entryErrorf(e.name, "%v", err)
	}
	if err := zw.Close(); err != nil {
		return "", 0, a.entryErrorf(e.name, "%v", err)
	}
	return digest.NewDigestFromEncoded(digest.SHA256, hex.EncodeToString(h.Sum(nil))), cw.n, nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// verifyReader wraps r (or the entry's data when r is nil) so that reading
// to the end verifies desc's size and digest.
func (a *Archive) verifyReader(e *entry, desc ocispec.Descriptor, r io.ReadCloser) io.ReadCloser {
	var src io.Reader = r
	if r == nil {
		src = a.section(e)
	}
	return &verifyReadCloser{vr: content.NewVerifyReader(src, desc), closer: r, archive: a, name: e.name}
}

// gzipReader re-compresses a legacy layer on the fly; the output is
// deterministic, so it is verified against the digest computed at Open.
func (a *Archive) gzipReader(b *blob) io.ReadCloser {
	pr, pw := io.Pipe()
	go func() {
		zw := gzip.NewWriter(pw)
		_, err := io.Copy(zw, a.section(b.entry))
		if err == nil {
			err = zw.Close()
		}
		pw.CloseWithError(err)
	}()
	return a.verifyReader(b.entry, b.desc, pr)
}

type verifyReadCloser struct {
	vr      *content.VerifyReader
	closer  io.Closer
	archive *Archive
	name    string
}

func (v *verifyReadCloser) Read(p []byte) (int, error) {
	n, err := v.vr.Read(p)
	switch {
	case err == io.EOF:
		if verr := v.vr.Verify(); verr != nil {
			return n, v.archive.entryErrorf(v.name, "does not match its descriptor: %v", verr)
		}
	case err != nil:
		return n, v.archive.entryErrorf(v.name, "%v", err)
	}
	return n, err
}

func (v *verifyReadCloser) Close() error {
	if v.closer != nil {
		return v.closer.Close()
	}
	return nil
}

// truncate shortens s for an error message.
func truncate(s string) string {
	if len(s) > 128 {
		return s[:128] + "…"
	}
	return s
}

// decodeJSON decodes b into v, refusing trailing data.
func decodeJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("trailing data after the JSON value")
	}
	return nil
}
