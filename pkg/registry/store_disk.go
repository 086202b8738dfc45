package registry

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/opencontainers/go-digest"
)

// diskStore keeps everything under one root directory:
//
//	blobs/<alg>/<hex[:2]>/<hex>                 blob content (shared, immutable)
//	repos/<name>/_blobs/<alg>/<hex>             a repository's link to a blob (empty file)
//	repos/<name>/_manifests/<alg>/<hex>         "<media type>\n" followed by the manifest bytes
//	repos/<name>/_tags/<tag>                    the digest the tag points at
//	repos/<name>/_index/<kind>/<alg>/<hex>/<alg>-<hex>  subject index entries
//	repos/<name>/_index/referrers/<alg>/<hex>/_snapshot  a subject's referrers snapshot (refsnap.go)
//	uploads/                                    upload sessions in progress (emptied at start)
//	tmp/                                        temporary files of atomic writes (emptied at start)
//	lock                                        held (flock) by the registry process using the root; its PID
//
// Every file becomes visible by rename(2) of a complete, fsynced temporary
// file in the same file system, followed by an fsync of the directory, so a
// crash leaves either the old state or the new one. Repository names,
// tags and digests are validated before they reach this layer; "_"-prefixed
// directories cannot collide with repository path components.
type diskStore struct {
	// quota, when set (tests only), holds the number of bytes the store
	// may still write before its writes fail like on a full disk.
	quota   atomic.Pointer[atomic.Int64]
	lock    *rootLock
	root    string
	tmp     string
	uploads string
}

func newDiskStore(root string) (*diskStore, error) {
	root, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	s := &diskStore{root: root, tmp: filepath.Join(root, "tmp"), uploads: filepath.Join(root, "uploads")}
	if err := mkdirAllSync(root); err != nil {
		return nil, notWritable(root, err)
	}
	// One registry per root: the lock comes before anything is touched.
	if s.lock, err = lockRoot(root); err != nil {
		return nil, err
	}
	fail := func(err error) (*diskStore, error) {
		_ = s.lock.release()
		return nil, notWritable(root, err)
	}
	// Leftovers of a previous run are incomplete writes: never visible, now garbage.
	for _, d := range []string{s.tmp, s.uploads} {
		if err := os.RemoveAll(d); err != nil {
			return fail(err)
		}
	}
	for _, d := range []string{s.tmp, s.uploads, filepath.Join(root, "blobs"), filepath.Join(root, "repos")} {
		if err := mkdirAllSync(d); err != nil {
			return fail(err)
		}
	}
	return s, nil
}

func (s *diskStore) close() error { return s.lock.release() }

func (s *diskStore) blobPath(d digest.Digest) string {
	h := d.Encoded()
	return filepath.Join(s.root, "blobs", d.Algorithm().String(), h[:2], h)
}

func (s *diskStore) repoPath(repo string, parts ...string) string {
	return filepath.Join(append([]string{s.root, "repos", filepath.FromSlash(repo)}, parts...)...)
}

func digestPath(d digest.Digest) string {
	return filepath.Join(d.Algorithm().String(), d.Encoded())
}

func (s *diskStore) blobSize(d digest.Digest) (int64, error) {
	fi, err := os.Stat(s.blobPath(d))
	if err != nil {
		return 0, notFound(err)
	}
	return fi.Size(), nil
}

func (s *diskStore) openBlob(d digest.Digest) (io.ReadSeekCloser, int64, error) {
	f, err := os.Open(s.blobPath(d))
	if err != nil {
		return nil, 0, notFound(err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, fi.Size(), nil
}

type diskUpload struct {
	f     *os.File
	n     int64
	quota *atomic.Pointer[atomic.Int64] // the store's
}

func (u *diskUpload) Write(p []byte) (int, error) {
	n, err := quotaWrite(u.quota.Load(), u.f, p)
	u.n += int64(n)
	return n, err
}

// quotaWrite writes p to f, or as much of it as quota allows and then
// fails with ENOSPC, like a full disk (quota is nil outside tests).
func quotaWrite(quota *atomic.Int64, f *os.File, p []byte) (int, error) {
	if quota == nil {
		return f.Write(p)
	}
	left := quota.Add(-int64(len(p)))
	if left >= 0 {
		return f.Write(p)
	}
	allowed := max(0, int64(len(p))+left)
	quota.Store(0)
	n, err := f.Write(p[:allowed])
	if err == nil {
		err = &fs.PathError{Op: "write", Path: f.Name(), Err: syscall.ENOSPC}
	}
	return n, err
}

func (u *diskUpload) size() int64 { return u.n }

func (u *diskUpload) reader() (io.ReadCloser, error) {
	f, err := os.Open(u.f.Name())
	if err != nil {
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{io.LimitReader(f, u.n), f}, nil
}

func (u *diskUpload) truncate(n int64) error {
	if err := u.f.Truncate(n); err != nil {
		return err
	}
	if _, err := u.f.Seek(n, io.SeekStart); err != nil {
		return err
	}
	u.n = n
	return nil
}

func (u *diskUpload) discard() error {
	u.f.Close()
	return os.Remove(u.f.Name())
}

func (s *diskStore) newUpload() (uploadFile, error) {
	f, err := os.CreateTemp(s.uploads, "upload-*")
	if err != nil {
		return nil, err
	}
	return &diskUpload{f: f, quota: &s.quota}, nil
}

func (s *diskStore) commitBlob(uf uploadFile, d digest.Digest) error {
	u := uf.(*diskUpload)
	defer os.Remove(u.f.Name()) // no-op after a successful rename
	if err := u.f.Sync(); err != nil {
		u.f.Close()
		return err
	}
	if err := u.f.Close(); err != nil {
		return err
	}
	target := s.blobPath(d)
	if _, err := os.Stat(target); err == nil {
		// Same digest, same content: it was verified before it was renamed.
		return nil
	}
	dir := filepath.Dir(target)
	if err := mkdirAllSync(dir); err != nil {
		return err
	}
	if err := os.Rename(u.f.Name(), target); err != nil {
		return err
	}
	return syncDir(dir)
}

func (s *diskStore) repoExists(repo string) (bool, error) {
	for _, sub := range []string{"_blobs", "_manifests", "_tags"} {
		if _, err := os.Stat(s.repoPath(repo, sub)); err == nil {
			return true, nil
		} else if !errors.Is(err, fs.ErrNotExist) {
			return false, err
		}
	}
	return false, nil
}

func (s *diskStore) linkBlob(repo string, d digest.Digest) error {
	p := s.repoPath(repo, "_blobs", digestPath(d))
	if _, err := os.Stat(p); err == nil {
		return nil
	}
	return s.writeAtomic(p, nil)
}

func (s *diskStore) blobLinked(repo string, d digest.Digest) (bool, error) {
	return exists(s.repoPath(repo, "_blobs", digestPath(d)))
}

func (s *diskStore) unlinkBlob(repo string, d digest.Digest) error {
	return s.remove(s.repoPath(repo, "_blobs", digestPath(d)))
}

func (s *diskStore) putManifest(repo string, d digest.Digest, mediaType string, body []byte) error {
	if strings.ContainsAny(mediaType, "\r\n") {
		return fmt.Errorf("invalid media type %q", mediaType)
	}
	buf := make([]byte, 0, len(mediaType)+1+len(body))
	buf = append(append(append(buf, mediaType...), '\n'), body...)
	return s.writeAtomic(s.repoPath(repo, "_manifests", digestPath(d)), buf)
}

func (s *diskStore) getManifest(repo string, d digest.Digest) (string, []byte, error) {
	b, err := os.ReadFile(s.repoPath(repo, "_manifests", digestPath(d)))
	if err != nil {
		return "", nil, notFound(err)
	}
	mt, body, ok := bytes.Cut(b, []byte{'\n'})
	if !ok {
		return "", nil, fmt.Errorf("corrupt manifest record %s", d)
	}
	return string(mt), body, nil
}

func (s *diskStore) hasManifest(repo string, d digest.Digest) (bool, error) {
	return exists(s.repoPath(repo, "_manifests", digestPath(d)))
}

func (s *diskStore) deleteManifest(repo string, d digest.Digest) error {
	return s.remove(s.repoPath(repo, "_manifests", digestPath(d)))
}

func (s *diskStore) putTag(repo, tag string, d digest.Digest) error {
	return s.writeAtomic(s.repoPath(repo, "_tags", tag), []byte(d.String()))
}

func (s *diskStore) getTag(repo, tag string) (digest.Digest, error) {
	b, err := os.ReadFile(s.repoPath(repo, "_tags", tag))
	if err != nil {
		return "", notFound(err)
	}
	return parseDigest(string(b))
}

func (s *diskStore) deleteTag(repo, tag string) error {
	return s.remove(s.repoPath(repo, "_tags", tag))
}

func (s *diskStore) listTags(repo string) ([]string, error) {
	ents, err := os.ReadDir(s.repoPath(repo, "_tags"))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	tags := make([]string, 0, len(ents))
	for _, e := range ents {
		if validTag(e.Name()) {
			tags = append(tags, e.Name())
		}
	}
	return tags, nil // os.ReadDir sorts by name
}

func (s *diskStore) indexDir(repo, kind string, subject digest.Digest) string {
	return s.repoPath(repo, "_index", kind, digestPath(subject))
}

func indexFileName(member digest.Digest) string {
	return member.Algorithm().String() + "-" + member.Encoded()
}

func (s *diskStore) putIndex(repo, kind string, subject digest.Digest, e indexEntry) error {
	return s.writeAtomic(filepath.Join(s.indexDir(repo, kind, subject), indexFileName(e.member)), e.data)
}

func (s *diskStore) listIndex(repo, kind string, subject digest.Digest) ([]indexEntry, error) {
	dir := s.indexDir(repo, kind, subject)
	ents, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	// Read concurrently: a subject with 10,000 referrers is 10,000 small
	// files, and the first listing after a start reads them all.
	slots := make([]indexEntry, len(ents))
	err = forEachParallel(len(ents), func(i int) error {
		alg, hex, ok := strings.Cut(ents[i].Name(), "-")
		if !ok {
			return nil
		}
		member, err := parseDigest(alg + ":" + hex)
		if err != nil {
			return nil
		}
		data, err := readSmall(filepath.Join(dir, ents[i].Name()))
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // deleted concurrently
			}
			return err
		}
		slots[i] = indexEntry{member: member, data: data}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := slots[:0]
	for _, e := range slots {
		if e.member != "" {
			out = append(out, e)
		}
	}
	return out, nil
}

func (s *diskStore) deleteIndex(repo, kind string, subject, member digest.Digest) error {
	err := s.remove(filepath.Join(s.indexDir(repo, kind, subject), indexFileName(member)))
	if errors.Is(err, errNotFound) {
		return nil
	}
	return err
}

// writeAtomic writes data to path: temporary file, fsync, rename, fsync of
// the directory.
func (s *diskStore) writeAtomic(path string, data []byte) error {
	if err := mkdirAllSync(filepath.Dir(path)); err != nil {
		return err
	}
	return s.replaceFile(path, data, func(rename func() error) error { return rename() })
}

// replaceFile writes data to a temporary file and fsyncs it, then has
// publish call rename (which moves it to path, whose directory must exist)
// and fsyncs path's directory. publish may decline (return an error without
// calling rename): the temporary file is removed and path is untouched.
func (s *diskStore) replaceFile(path string, data []byte, publish func(rename func() error) error) error {
	f, err := os.CreateTemp(s.tmp, "write-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // no-op after the rename
	if _, err := quotaWrite(s.quota.Load(), f, data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := publish(func() error { return os.Rename(f.Name(), path) }); err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}

func (s *diskStore) remove(path string) error {
	if err := os.Remove(path); err != nil {
		return notFound(err)
	}
	return syncDir(filepath.Dir(path))
}

func notFound(err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return errNotFound
	}
	return err
}

func exists(path string) (bool, error) {
	_, err := os.Stat(path)
	if err == nil {
		return true, nil
	}
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return false, err
}

// mkdirAllSync creates dir and its missing parents, fsyncing each parent
// whose entries changed so that the new directories survive a crash.
func mkdirAllSync(dir string) error {
	if fi, err := os.Stat(dir); err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("%s is not a directory", dir)
		}
		return nil
	}
	parent := filepath.Dir(dir)
	if parent != dir {
		if err := mkdirAllSync(parent); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return syncDir(parent)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
