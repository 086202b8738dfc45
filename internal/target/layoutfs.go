package target

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/content/oci"

	"github.com/signet-oci/signet/internal/fsutil"
	"github.com/signet-oci/signet/pkg/manifest"
)

// The bounds on an OCI layout signet reads (discover, pull-signature,
// verify: oci-layout:DIR), which may come from anyone. oras-go's
// oci.NewFromFS reads index.json and every manifest it lists, recursively,
// when it opens a layout; these bound what that reading may cost.
const (
	// MaxLayoutFiles bounds the files opened while a layout is opened
	// (oci-layout, index.json, every manifest reached from it).
	MaxLayoutFiles = 50_000
	// MaxLayoutBytes bounds the bytes read while a layout is opened, all
	// those files together.
	MaxLayoutBytes = 64 << 20
	// MaxLayoutObjects bounds the JSON objects (each '{' read: every
	// descriptor is one) in those files together: oras-go indexes every
	// descriptor listed, a file or not (an index.json of 5 million "{}"
	// entries, 16 MiB, kept it busy for minutes; 200,000 take 1.4 s).
	MaxLayoutObjects = 200_000

	// openWhileIndexing is how many files of a layout may be open at once
	// while it is opened (index.json stays open throughout). oras-go
	// reads each manifest into a buffer of the size it is listed with (up
	// to 32 MiB) before reading a byte: the budget counts those buffers,
	// and only this many can exist at once.
	openWhileIndexing = 4
)

// layoutFS is the fs.FS oci.NewFromFS reads a layout through: the layout
// directory as an os.Root (a path or symbolic link leading out of it is
// refused), regular files only (a FIFO, a device or a socket is refused
// before any read: opening a FIFO would wait for a writer), each file at
// most its limit (index.json MaxLayoutIndexSize, any other file
// manifest.MaxManifestSize: oras-go reads nothing else when it opens a
// layout, and discovery reads only manifests and signature envelopes), and,
// while the layout is opened, at most MaxLayoutFiles files, MaxLayoutBytes
// bytes and MaxLayoutObjects descriptors in all, openWhileIndexing files
// at once. The first refusal is kept: it is the error to report, whatever
// oras-go wraps it in.
type layoutFS struct {
	dir  string
	root *os.Root

	mu         sync.Mutex
	indexing   bool // the file count, byte and descriptor budgets apply
	fileLimits bool // the limit per file applies
	opened     int
	read       int64
	objects    int
	refusal    error
	slots      chan struct{} // the files open while indexing
}

// refuse records (the first) and returns a refusal of the layout.
func (l *layoutFS) refuse(format string, a ...any) error {
	err := fmt.Errorf("the OCI layout %s: %s", l.dir, fmt.Sprintf(format, a...))
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.refusal == nil {
		l.refusal = err
	}
	return err
}

func (l *layoutFS) limit(name string) (int64, string) {
	if name == ocispec.ImageIndexFile {
		return MaxLayoutIndexSize, "index.json"
	}
	return manifest.MaxManifestSize, "a manifest"
}

// Open opens name for reading, refusing what the bounds refuse. While the
// layout is opened, after a first refusal every Open is refused at once
// (oras-go reads on in other goroutines until it sees the error).
func (l *layoutFS) Open(name string) (fs.File, error) {
	l.mu.Lock()
	counted := l.indexing
	l.mu.Unlock()
	if !counted {
		return l.open(name, false)
	}
	l.slots <- struct{}{}
	f, err := l.open(name, true)
	if err != nil {
		<-l.slots
	}
	return f, err
}

func (l *layoutFS) open(name string, counted bool) (fs.File, error) {
	if counted {
		l.mu.Lock()
		l.opened++
		over, refused := l.opened > MaxLayoutFiles, l.refusal
		l.mu.Unlock()
		if refused != nil {
			return nil, refused
		}
		if over {
			return nil, l.refuse("more than %d files to read (index.json and the manifests it lists, recursively); refused", MaxLayoutFiles)
		}
	}
	f, err := l.root.OpenFile(name, os.O_RDONLY|oNonblock, 0)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		if l.escapes(name) {
			return nil, l.refuse("%s leads out of the layout directory (a symbolic link); refused", name)
		}
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, l.refuse("%s is not a regular file (%s); refused unread", name, fileKind(fi.Mode()))
	}
	l.mu.Lock()
	limited := l.fileLimits
	l.mu.Unlock()
	if !limited {
		return f, nil
	}
	limit, what := l.limit(name)
	if fi.Size() > limit {
		f.Close()
		return nil, l.refuse("%s is %d bytes, over the %d-byte limit for %s; refused unread", name, fi.Size(), limit, what)
	}
	return &layoutFile{File: f, fs: l, name: name, left: limit, what: what, slot: counted}, nil
}

// escapes reports whether name, inside the layout, resolves to a place
// outside it (os.Root's refusal, worded for the user).
func (l *layoutFS) escapes(name string) bool {
	base, err := filepath.EvalSymlinks(l.dir)
	if err != nil {
		return false
	}
	p, err := filepath.EvalSymlinks(filepath.Join(l.dir, filepath.FromSlash(name)))
	if err != nil {
		return false
	}
	rel, err := filepath.Rel(base, p)
	return err == nil && (rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)))
}

// Stat answers fs.Stat (oras-go's Exists and blob resolution) without
// opening or counting the file.
func (l *layoutFS) Stat(name string) (fs.FileInfo, error) { return l.root.Stat(name) }

// indexed ends the opening: the file count and byte budget no longer apply
// (each later read is bounded by the descriptor it reads), nor, unless
// fileLimits, the limit per file (a copy from the layout reads its layers).
func (l *layoutFS) indexed(fileLimits bool) {
	l.mu.Lock()
	l.indexing, l.fileLimits = false, fileLimits
	l.mu.Unlock()
}

// openLayout opens the OCI image layout dir read only through layoutFS
// (oras-go's oci.ReadOnlyStore: it resolves the layout's tags and answers
// Predecessors; nothing in the layout is written). After the opening,
// fileLimits keeps each file at its limit (discovery reads only manifests
// and signature envelopes). The directory stays open while the store is
// used (the stores have no Close; os.Root's finalizer closes it).
func openLayout(ctx context.Context, dir string, fileLimits bool) (*oci.ReadOnlyStore, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("reading the OCI layout %s: %w", dir, fsutil.UnwrapPath(err))
	}
	lfs := &layoutFS{dir: dir, root: root, indexing: true, fileLimits: true, slots: make(chan struct{}, openWhileIndexing)}
	s, err := oci.NewFromFS(ctx, lfs)
	lfs.indexed(fileLimits)
	switch {
	case err == nil:
		return s, nil
	case lfs.refusal != nil:
		// oras-go wraps it ("invalid OCI Image Index: …"): the refusal
		// alone says what and where.
		return nil, lfs.refusal
	case errors.Is(err, content.ErrMismatchedDigest) || errors.Is(err, content.ErrTrailingData):
		// oras-go reads every manifest index.json lists (and what they
		// list) when it opens a layout: one changed on disk makes the
		// whole layout unreadable, as for oras and notation.
		return nil, fmt.Errorf("the OCI layout %s is damaged: a manifest it holds does not match its digest (changed or damaged on disk); copy the layout again from its source", dir)
	}
	return nil, fmt.Errorf("reading the OCI layout %s: %w", dir, err)
}

// layoutFile is a file of a layout, read at most to its limit.
type layoutFile struct {
	*os.File
	fs   *layoutFS
	name string
	what string
	left int64 // bytes still allowed; reading one more is a refusal
	slot bool  // holds one of fs.slots until closed

	got, charged int64 // bytes read; bytes counted against MaxLayoutBytes
	closeOnce    sync.Once
}

func (f *layoutFile) Close() error {
	err := f.File.Close()
	f.closeOnce.Do(func() {
		if f.slot {
			<-f.fs.slots
		}
	})
	return err
}

func (f *layoutFile) Read(p []byte) (int, error) {
	// The reader's first buffer is what it allocated for this file (for
	// oras-go, the size the file is listed with): counted as read.
	need := int64(len(p))
	if f.charged > 0 || f.got > 0 {
		need = 0
	}
	if int64(len(p)) > f.left+1 {
		p = p[:f.left+1]
	}
	n, err := f.File.Read(p)
	f.got += int64(n)
	need = max(need, f.got, f.charged)
	charge := need - f.charged
	f.charged = need
	f.left -= int64(n)
	if f.left < 0 {
		// The file grew past its limit while read.
		limit, _ := f.fs.limit(f.name)
		return n, f.fs.refuse("%s is over the %d-byte limit for %s; refused", f.name, limit, f.what)
	}
	objects := bytes.Count(p[:n], []byte{'{'})
	l := f.fs
	l.mu.Lock()
	l.read += charge
	l.objects += objects
	overBytes := l.indexing && l.read > MaxLayoutBytes
	overObjects := l.indexing && l.objects > MaxLayoutObjects
	l.mu.Unlock()
	switch {
	case overBytes:
		return n, l.refuse("more than %d bytes to read (index.json and the manifests it lists, recursively, at the sizes they are listed with); refused", MaxLayoutBytes)
	case overObjects:
		return n, l.refuse("more than %d descriptors to read (index.json and the manifests it lists, recursively); refused", MaxLayoutObjects)
	}
	return n, err
}

// fileKind names a non-regular file's type.
func fileKind(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m.IsDir():
		return "a directory"
	}
	return "mode " + m.String()
}
