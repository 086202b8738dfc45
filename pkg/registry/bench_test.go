package registry

import (
	"bytes"
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

// seedReferrers10k gives a subject 10,000 referrers of one type and one of
// a signature type, in a repository that also holds 10,000 manifests
// referring to other subjects (the listing must not depend on them).
func seedReferrers10k(b *testing.B) (*Registry, string, digest.Digest) {
	rg, base := newTestRegistry(b, Config{Root: b.TempDir()})
	subject := digest.FromString("bench subject")
	const n = 10000
	var wg sync.WaitGroup
	work := make(chan int)
	for range 16 {
		wg.Go(func() {
			for i := range work {
				subj := subject
				if i > n {
					subj = digest.FromString("other " + strconv.Itoa(i))
				}
				m := referrerManifest(digest.FromString("{}"), digest.FromString("x"), 1, subj, i)
				if i == n {
					m = bytes.Replace(m, []byte("application/vnd.test"), []byte(benchSignatureType), 1)
				}
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
	for i := range 2*n + 1 {
		work <- i
	}
	close(work)
	wg.Wait()
	return rg, base, subject
}

const benchSignatureType = "application/vnd.cncf.notary.signature"

// getListing GETs url and checks the answer holds want entries (decoding
// it only when check is set: the benchmarks time the registry, not the
// client's JSON decoding).
func getListing(b *testing.B, url string, want int, check bool) {
	resp, err := http.Get(url)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	if !check {
		if _, err := io.Copy(io.Discard, resp.Body); err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("referrers: %d, %v", resp.StatusCode, err)
		}
		return
	}
	var idx imageIndex
	if err := json.NewDecoder(resp.Body).Decode(&idx); err != nil || len(idx.Manifests) != want {
		b.Fatalf("referrers: %d entries, %v; want %d", len(idx.Manifests), err, want)
	}
}

// benchBlobSize300 is the size the issue measured --memory against --root with.
const benchBlobSize300 = 300 << 20

// fastPattern yields size deterministic bytes at memory speed: a 1 MiB
// block repeated, each copy stamped with its index (patternReader makes
// every byte and would be the bottleneck).
type fastPattern struct {
	off, size int64
}

var patternBlock = func() []byte {
	b := make([]byte, 1<<20)
	_, _ = io.ReadFull(&patternReader{size: int64(len(b))}, b)
	return b
}()

func (r *fastPattern) Read(p []byte) (int, error) {
	if r.off >= r.size {
		return 0, io.EOF
	}
	in := r.off % int64(len(patternBlock))
	n := copy(p, patternBlock[in:min(int64(len(patternBlock)), in+r.size-r.off)])
	if in == 0 && n >= 8 {
		binary.LittleEndian.PutUint64(p, uint64(r.off))
	}
	r.off += int64(n)
	return n, nil
}

// pushUpload pushes size pattern bytes to repo: monolithically (POST
// ?digest=), in one session PUT (POST, then PUT with the body, as oras and
// distribution clients do), or in chunks (POST, PATCHes of chunk bytes, PUT).
func pushUpload(b *testing.B, base, repo, mode string, size int64, d digest.Digest) {
	b.Helper()
	send := func(method, url string, body io.Reader, n int64, hdr map[string]string) *http.Response {
		req, _ := http.NewRequest(method, url, body)
		req.ContentLength = n
		if body == nil {
			req.Body = http.NoBody
		}
		req.Header.Set("Content-Type", "application/octet-stream")
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	if mode == "monolithic" {
		if r := send("POST", base+"/v2/"+repo+"/blobs/uploads/?digest="+d.String(), &fastPattern{size: size}, size, nil); r.StatusCode != 201 {
			b.Fatalf("POST: %s", r.Status)
		}
		return
	}
	r := send("POST", base+"/v2/"+repo+"/blobs/uploads/", nil, 0, nil)
	if r.StatusCode != 202 {
		b.Fatalf("POST: %s", r.Status)
	}
	loc := r.Header.Get("Location")
	sep := "&"
	if mode == "session" {
		if r := send("PUT", loc+sep+"digest="+d.String(), &fastPattern{size: size}, size, nil); r.StatusCode != 201 {
			b.Fatalf("PUT: %s", r.Status)
		}
		return
	}
	const chunk = 8 << 20
	pr := &fastPattern{size: size}
	for off := int64(0); off < size; off += chunk {
		n := min(chunk, size-off)
		r := send("PATCH", loc, io.LimitReader(pr, n), n, map[string]string{"Content-Range": strconv.FormatInt(off, 10) + "-" + strconv.FormatInt(off+n-1, 10)})
		if r.StatusCode != 202 {
			b.Fatalf("PATCH: %s", r.Status)
		}
		loc = r.Header.Get("Location")
	}
	if r := send("PUT", loc+sep+"digest="+d.String(), nil, 0, nil); r.StatusCode != 201 {
		b.Fatalf("PUT: %s", r.Status)
	}
}

// BenchmarkUpload300MiB accepts a 300 MiB blob into memory and onto disk,
// monolithically, in one session PUT and in 8 MiB chunks (each iteration a
// new repository; the content is the same, which neither store dedups
// before the upload completes).
func BenchmarkUpload300MiB(b *testing.B) {
	d, err := digest.Canonical.FromReader(&fastPattern{size: benchBlobSize300})
	if err != nil {
		b.Fatal(err)
	}
	for _, mode := range []string{"monolithic", "session", "chunked"} {
		for _, storage := range []string{"memory", "disk"} {
			b.Run(mode+"/"+storage, func(b *testing.B) {
				cfg := Config{Memory: true}
				if storage == "disk" {
					cfg = Config{Root: b.TempDir()}
				}
				_, base := newTestRegistry(b, cfg)
				b.SetBytes(benchBlobSize300)
				i := 0
				for b.Loop() {
					i++
					pushUpload(b, base, "bench"+strconv.Itoa(i), mode, benchBlobSize300, d)
				}
			})
		}
	}
}

// BenchmarkReferrers10k lists the referrers of a subject that has 10,001
// of them (one GET, the body read to its end): warm (the subject listed
// before), filtered (?artifactType= of the one signature) and cold (a
// registry that just started: the subject's index is read from disk).
func BenchmarkReferrers10k(b *testing.B) {
	rg, base, subject := seedReferrers10k(b)
	url := base + "/v2/bench/referrers/" + subject.String()
	b.Run("warm", func(b *testing.B) {
		getListing(b, url, 10001, true)
		b.ResetTimer()
		for b.Loop() {
			getListing(b, url, 10001, false)
		}
	})
	b.Run("filtered", func(b *testing.B) {
		u := url + "?artifactType=" + benchSignatureType
		getListing(b, u, 1, true)
		b.ResetTimer()
		for b.Loop() {
			getListing(b, u, 1, false)
		}
	})
	// cold: as after a restart on a root whose referrers were pushed
	// through the registry (which wrote the subject's snapshot a few
	// seconds after the pushes: refsnap.go). cold-nosnapshot: without the
	// snapshot (a root written by an older signet, or a crash within
	// seconds of the pushes), every index entry is read and checked.
	k := refKey{"bench", subject}
	rg.snaps.refresh(k)
	b.Run("cold", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			rg.refs = newRefCache(DefaultReferrersCacheSize)
			b.StartTimer()
			getListing(b, url, 10001, false)
		}
	})
	b.Run("cold-nosnapshot", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			rg.snaps.wg.Wait()
			if err := rg.snaps.ss.dropSnapshot(k.repo, k.subject); err != nil {
				b.Fatal(err)
			}
			rg.refs = newRefCache(DefaultReferrersCacheSize)
			b.StartTimer()
			getListing(b, url, 10001, false)
		}
	})
}
