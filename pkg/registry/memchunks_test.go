package registry

import (
	"bytes"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/opencontainers/go-digest"
)

// TestChunks: the chunked upload buffer reads back exactly what was
// written, through writes of every size, truncations and seeks.
func TestChunks(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	src := make([]byte, 8<<20)
	for i := range src {
		src[i] = byte(i*7 + i>>11)
	}
	for round := range 8 {
		var c chunks
		var want []byte
		for range 8 {
			switch rnd.IntN(5) {
			case 0:
				n := rnd.Int64N(c.n + 1)
				c.truncate(n)
				want = want[:n]
			default:
				n := rnd.IntN(3*maxChunk/2) >> (rnd.IntN(2) * 8)
				at := rnd.IntN(len(src) - n)
				p := src[at : at+n]
				if n, err := c.Write(p); n != len(p) || err != nil {
					t.Fatalf("Write: %d, %v", n, err)
				}
				want = append(want, p...)
			}
			if c.n != int64(len(want)) {
				t.Fatalf("round %d: size %d, want %d", round, c.n, len(want))
			}
		}
		got, err := io.ReadAll(&chunkReader{c: &c})
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("round %d: read back %d bytes (err %v), want %d equal bytes", round, len(got), err, len(want))
		}
		if len(want) > 0 {
			off := rnd.Int64N(int64(len(want)))
			r := &chunkReader{c: &c}
			if _, err := r.Seek(off, io.SeekStart); err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(r)
			if !bytes.Equal(got, want[off:]) {
				t.Fatalf("round %d: read from %d differs", round, off)
			}
		}
	}
}

// TestMemUploadLarge: an upload that outgrows memfdThreshold (moving to an
// in-memory file where the system has one) reads back, truncates, commits
// and serves exactly what was written.
func TestMemUploadLarge(t *testing.T) {
	s := newMemStore()
	defer s.close()
	uf, err := s.newUpload()
	must(t, err)
	u := uf.(*memUpload)
	var want []byte
	write := func(n int) {
		p := bytes.Repeat([]byte{byte(len(want) >> 10)}, n)
		for i := range p {
			p[i] ^= byte(i)
		}
		if k, err := u.Write(p); k != n || err != nil {
			t.Fatalf("Write: %d %v", k, err)
		}
		want = append(want, p...)
	}
	write(512 << 10)
	write(512 << 10)
	write(1 << 20) // past the threshold
	must(t, u.truncate(1536<<10))
	want = want[:1536<<10]
	write(700 << 10)
	if u.size() != int64(len(want)) {
		t.Fatalf("size %d, want %d", u.size(), len(want))
	}
	rc, err := u.reader()
	must(t, err)
	got, _ := io.ReadAll(rc)
	if !bytes.Equal(got, want) {
		t.Fatal("the upload reads back different bytes")
	}
	d := digest.FromBytes(want)
	must(t, s.commitBlob(u, d))
	r, n, err := s.openBlob(d)
	must(t, err)
	if n != int64(len(want)) {
		t.Fatalf("blob size %d, want %d", n, len(want))
	}
	if _, err := r.Seek(1000, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	got, _ = io.ReadAll(r)
	if !bytes.Equal(got, want[1000:]) {
		t.Fatal("the blob reads back different bytes")
	}
}
