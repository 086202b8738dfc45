package registry

import (
	"bytes"
	"io"
	"math/rand/v2"
	"testing"
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
