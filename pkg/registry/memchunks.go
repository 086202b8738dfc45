package registry

import (
	"errors"
	"io"
	"os"
	"sync/atomic"
)

// memUpload is an upload's content in memory: in chunks while it is small,
// and past memfdThreshold, where the system offers it, in an anonymous
// in-memory file (memfd_create on Linux). Filling fresh process memory
// costs a page fault per 4 KiB page, which on virtual machines made the
// in-memory store several times slower than the disk store (whose writes
// the kernel places in its page cache without faulting); the kernel fills
// an in-memory file the same way. The file is lost on exit, like the rest
// of --memory, and costs a descriptor per large blob only.
type memUpload struct {
	c *chunks
	f *os.File // nil until the content outgrows memfdThreshold
	n int64
}

// memfdThreshold is the size past which an upload moves to an in-memory
// file: signatures, configs and manifests stay in chunks.
const memfdThreshold = 1 << 20

func (u *memUpload) Write(p []byte) (int, error) {
	if u.f == nil && u.n+int64(len(p)) > memfdThreshold {
		if f, err := newMemFile(); err == nil && f != nil {
			if _, err := io.Copy(f, &chunkReader{c: u.c}); err != nil {
				f.Close()
				return 0, err
			}
			u.f, u.c = f, &chunks{}
		}
	}
	if u.f != nil {
		n, err := u.f.WriteAt(p, u.n)
		u.n += int64(n)
		return n, err
	}
	n, err := u.c.Write(p)
	u.n += int64(n)
	return n, err
}

func (u *memUpload) size() int64 { return u.n }

func (u *memUpload) reader() (io.ReadCloser, error) {
	if u.f != nil {
		return io.NopCloser(io.NewSectionReader(u.f, 0, u.n)), nil
	}
	return &chunkReader{c: u.c}, nil
}

func (u *memUpload) truncate(n int64) error {
	if n >= u.n {
		return nil
	}
	if u.f != nil {
		if err := u.f.Truncate(n); err != nil {
			return err
		}
	} else {
		u.c.truncate(n)
	}
	u.n = n
	return nil
}

func (u *memUpload) discard() error {
	u.c = &chunks{}
	u.n = 0
	if u.f != nil {
		err := u.f.Close()
		u.f = nil
		return err
	}
	return nil
}

// memBlob is committed in-memory blob content: chunks, or an in-memory
// file, mapped into memory when the system allows it (m). Downloads of a
// mapped blob are written to the connection straight from the mapping
// (mappedReader.next, statusWriter.ReadFrom): one copy, into the socket.
//
// refs counts the store's reference and every open reader: the mapping
// and the file are released when the last one goes, so closing the store
// never unmaps memory a download in flight is still sending.
type memBlob struct {
	c    *chunks
	f    *os.File
	n    int64
	m    []byte
	refs atomic.Int64
}

// newMemBlob makes committed content of an upload's chunks or file (the
// blob takes it over), holding the store's reference.
func newMemBlob(c *chunks, f *os.File, n int64) *memBlob {
	b := &memBlob{c: c, f: f, n: n}
	if f != nil {
		b.m = mapMemFile(f, n)
	}
	b.refs.Store(1)
	return b
}

func (b *memBlob) open() io.ReadSeekCloser {
	switch {
	case b.m != nil:
		b.refs.Add(1)
		return &mappedReader{b: b}
	case b.f != nil:
		return sectionCloser{io.NewSectionReader(b.f, 0, b.n)}
	}
	return &chunkReader{c: b.c}
}

// release drops one reference; the last one unmaps and closes the file.
func (b *memBlob) release() {
	if b.refs.Add(-1) != 0 {
		return
	}
	if b.m != nil {
		unmapMemFile(b.m)
		b.m = nil
	}
	if b.f != nil {
		b.f.Close()
	}
}

type sectionCloser struct{ *io.SectionReader }

func (sectionCloser) Close() error { return nil }

// mappedReader reads (and seeks in) a mapped blob. Only next, called by
// the handler's own goroutine before it closes the reader, touches the
// mapping; Read goes through the file. http.ServeContent reads a
// multi-range answer in a goroutine it does not wait for, which may still
// be reading after Close: from a file that is then closed, a read fails,
// where one from memory that is then unmapped would crash the process.
type mappedReader struct {
	b      *memBlob
	off    int64
	closed atomic.Bool
}

func (r *mappedReader) Read(p []byte) (int, error) {
	if r.closed.Load() {
		return 0, os.ErrClosed
	}
	if r.off >= r.b.n {
		return 0, io.EOF
	}
	n, err := r.b.f.ReadAt(p[:min(int64(len(p)), r.b.n-r.off)], r.off)
	r.off += int64(n)
	if err == io.EOF && n > 0 {
		err = nil
	}
	return n, err
}

// next returns the next bytes of the blob, at most max of them, without
// copying, and moves past them; nil at the end (or once closed). The
// slice is valid until Close.
func (r *mappedReader) next(max int64) []byte {
	m := r.b.m
	if r.closed.Load() || r.off >= int64(len(m)) || max <= 0 {
		return nil
	}
	p := m[r.off:min(r.off+max, int64(len(m)))]
	r.off += int64(len(p))
	return p
}

func (r *mappedReader) Seek(offset int64, whence int) (int64, error) {
	return seekTo(&r.off, r.b.n, offset, whence)
}

func (r *mappedReader) Close() error {
	if r.closed.CompareAndSwap(false, true) {
		r.b.release()
	}
	return nil
}

// chunks is growable in-memory content stored as a list of buffers, so
// that accepting a blob of any size copies each byte once: a single
// []byte grown by append would be reallocated, copied and zeroed at every
// doubling (gigabytes of copying and page faults for a 300 MiB blob, and
// twice its size in memory at the end). Buffers double from 64 KiB up to
// 4 MiB, so that small blobs (signatures, configs) stay small.
type chunks struct {
	bufs [][]byte
	n    int64
}

const (
	minChunk = 64 << 10
	maxChunk = 4 << 20
)

func (c *chunks) Write(p []byte) (int, error) {
	written := len(p)
	for len(p) > 0 {
		var last []byte
		if k := len(c.bufs); k > 0 {
			last = c.bufs[k-1]
		}
		if last == nil || len(last) == cap(last) {
			size := minChunk
			if last != nil {
				size = min(2*cap(last), maxChunk)
			}
			c.bufs = append(c.bufs, make([]byte, 0, size))
			last = c.bufs[len(c.bufs)-1]
		}
		m := min(len(p), cap(last)-len(last))
		last = append(last, p[:m]...)
		c.bufs[len(c.bufs)-1] = last
		c.n += int64(m)
		p = p[m:]
	}
	return written, nil
}

// truncate keeps the first n bytes.
func (c *chunks) truncate(n int64) {
	if n >= c.n {
		return
	}
	var off int64
	for i, b := range c.bufs {
		if off+int64(len(b)) >= n {
			c.bufs[i] = b[:n-off]
			for j := i + 1; j < len(c.bufs); j++ {
				c.bufs[j] = nil
			}
			c.bufs = c.bufs[:i+1]
			break
		}
		off += int64(len(b))
	}
	c.n = n
}

// chunkReader reads (and seeks in) chunks that no longer change.
type chunkReader struct {
	c   *chunks
	off int64
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if r.off >= r.c.n {
		return 0, io.EOF
	}
	// Find the buffer holding off (buffers are few: a 1 GiB blob has 260).
	var start int64
	n := 0
	for _, b := range r.c.bufs {
		end := start + int64(len(b))
		if r.off < end && len(p) > 0 {
			k := copy(p, b[r.off-start:])
			p = p[k:]
			n += k
			r.off += int64(k)
		}
		start = end
		if len(p) == 0 {
			break
		}
	}
	return n, nil
}

func (r *chunkReader) Seek(offset int64, whence int) (int64, error) {
	return seekTo(&r.off, r.c.n, offset, whence)
}

func (r *chunkReader) Close() error { return nil }

// seekTo is io.Seeker's Seek for a reader at *off in content of size bytes:
// it sets *off to the new position.
func seekTo(off *int64, size, offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += *off
	case io.SeekEnd:
		offset += size
	default:
		return 0, errors.New("Seek: invalid whence")
	}
	if offset < 0 {
		return 0, errors.New("Seek: negative position")
	}
	*off = offset
	return offset, nil
}
