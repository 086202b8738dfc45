package registry

import (
	"encoding/binary"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"sync"
	"testing"

	"github.com/opencontainers/go-digest"
)

// Benchmarks run only with -bench (make bench); they use on-disk storage,
// the configuration whose guarantees cost something.

const benchBlobSize = 256 << 20

// patternReader yields size deterministic, incompressible-looking bytes
// without holding them in memory.
type patternReader struct {
	off, size int64
	block     [8]byte
}

func (r *patternReader) Read(p []byte) (int, error) {
	if r.off >= r.size {
		return 0, io.EOF
	}
	n := int64(len(p))
	if rem := r.size - r.off; n > rem {
		n = rem
	}
	for i := int64(0); i < n; i++ {
		o := r.off + i
		if o%8 == 0 || i == 0 {
			binary.LittleEndian.PutUint64(r.block[:], uint64(o/8)*0x9E3779B97F4A7C15)
		}
		p[i] = r.block[o%8]
	}
	r.off += n
	return int(n), nil
}

func benchDigest(b *testing.B) digest.Digest {
	d, err := digest.Canonical.FromReader(&patternReader{size: benchBlobSize})
	if err != nil {
		b.Fatal(err)
	}
	return d
}

func benchPush(b *testing.B, base string, d digest.Digest) {
	req, _ := http.NewRequest("POST", base+"/v2/bench/blobs/uploads/?digest="+d.String(), &patternReader{size: benchBlobSize})
	req.ContentLength = benchBlobSize
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 {
		b.Fatalf("push: %s", resp.Status)
	}
}

// BenchmarkPush256MiB pushes a 256 MiB blob monolithically (streamed,
// verified, fsynced, renamed).
func BenchmarkPush256MiB(b *testing.B) {
	_, base := newTestRegistry(b, Config{Root: b.TempDir()})
	d := benchDigest(b)
	b.SetBytes(benchBlobSize)
	b.ResetTimer()
	for b.Loop() {
		benchPush(b, base, d)
	}
}

// BenchmarkPull256MiB pulls a 256 MiB blob.
func BenchmarkPull256MiB(b *testing.B) {
	_, base := newTestRegistry(b, Config{Root: b.TempDir()})
	d := benchDigest(b)
	benchPush(b, base, d)
	b.SetBytes(benchBlobSize)
	b.ResetTimer()
	for b.Loop() {
		resp, err := http.Get(base + "/v2/bench/blobs/" + d.String())
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil || n != benchBlobSize {
			b.Fatalf("pull: %d bytes, %v", n, err)
		}
	}
}

// BenchmarkReferrers10k lists the referrers of a subject that has 10,000
// of them, in a repository that also holds 10,000 manifests referring to
// other subjects (the listing must not depend on them).
func BenchmarkReferrers10k(b *testing.B) {
	rg, base := newTestRegistry(b, Config{Root: b.TempDir()})
	subject := digest.FromString("bench subject")
	const n = 10000
	var wg sync.WaitGroup
	work := make(chan int)
	for range 16 {
		wg.Go(func() {
			for i := range work {
				subj := subject
				if i >= n {
					subj = digest.FromString("other " + strconv.Itoa(i))
				}
				m := referrerManifest(digest.FromString("{}"), digest.FromString("x"), 1, subj, i)
				var f manifestFields
				if err := json.Unmarshal(m, &f); err != nil {
					panic(err)
				}
				d := digest.FromBytes(m)
				entry, err := referrerEntry(mtOCIManifest, d, len(m), &f)
				if err != nil {
					panic(err)
				}
				if err := rg.store.putIndex("bench", indexReferrers, subj, indexEntry{member: d, data: entry}); err != nil {
					panic(err)
				}
				if err := rg.store.putManifest("bench", d, mtOCIManifest, m); err != nil {
					panic(err)
				}
			}
		})
	}
	for i := range 2 * n {
		work <- i
	}
	close(work)
	wg.Wait()
	b.ResetTimer()
	for b.Loop() {
		resp, err := http.Get(base + "/v2/bench/referrers/" + subject.String())
		if err != nil {
			b.Fatal(err)
		}
		var idx imageIndex
		err = json.NewDecoder(resp.Body).Decode(&idx)
		resp.Body.Close()
		if err != nil || len(idx.Manifests) != n {
			b.Fatalf("referrers: %d, %v", len(idx.Manifests), err)
		}
	}
}
