package registry

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"mime"
	"mime/multipart"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
)

// randomBlob returns n bytes that no two tests share.
func randomBlob(seed uint64, n int) []byte {
	rnd := rand.New(rand.NewPCG(seed, 7))
	b := make([]byte, n)
	for i := 0; i+8 <= n; i += 8 {
		v := rnd.Uint64()
		for k := range 8 {
			b[i+k] = byte(v >> (8 * k))
		}
	}
	return b
}

// eachStorage runs f against a registry on disk and one in memory.
func eachStorage(t *testing.T, f func(t *testing.T, rg *Registry, base string)) {
	for _, mode := range []string{"disk", "memory"} {
		t.Run(mode, func(t *testing.T) {
			cfg := Config{Memory: true}
			if mode == "disk" {
				cfg = Config{Root: t.TempDir()}
			}
			rg, base := newTestRegistry(t, cfg)
			f(t, rg, base)
		})
	}
}

// mappedBlob is the in-memory blob d, when the memory store mapped it.
func mappedBlob(rg *Registry, d digest.Digest) *memBlob {
	s, ok := rg.store.(*memStore)
	if !ok {
		return nil
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if b := s.blobs[d]; b != nil && b.m != nil {
		return b
	}
	return nil
}

// TestBlobDownload: a blob of several write sizes (in memory: mapped, and
// written from the mapping) downloads whole, in ranges and by HEAD with
// exactly its bytes and headers, on disk and in memory.
func TestBlobDownload(t *testing.T) {
	eachStorage(t, func(t *testing.T, rg *Registry, base string) {
		data := randomBlob(1, 9*copyChunk+12345) // past memfdThreshold
		d := pushBlob(t, base, "r", data)
		if _, mem := rg.store.(*memStore); mem && runtime.GOOS == "linux" && mappedBlob(rg, d) == nil {
			t.Fatal("the in-memory blob is not mapped: the test would not exercise the direct writes")
		}
		url := base + "/v2/r/blobs/" + d.String()

		resp, body := do(t, http.MethodGet, url, "", nil)
		if resp.StatusCode != http.StatusOK || !bytes.Equal(body, data) {
			t.Fatalf("GET: %s, %d bytes, equal %v", resp.Status, len(body), bytes.Equal(body, data))
		}
		if resp.ContentLength != int64(len(data)) || len(resp.TransferEncoding) != 0 {
			t.Fatalf("GET: Content-Length %d, Transfer-Encoding %v; want %d, none", resp.ContentLength, resp.TransferEncoding, len(data))
		}
		if got := resp.Header.Get("Docker-Content-Digest"); got != d.String() {
			t.Fatalf("GET: Docker-Content-Digest %q", got)
		}

		// The same content pushed again (to another repository too): kept
		// once, still served whole.
		pushBlob(t, base, "r", data)
		pushBlob(t, base, "r2", data)
		for _, u := range []string{url, base + "/v2/r2/blobs/" + d.String()} {
			if resp, body := do(t, http.MethodGet, u, "", nil); resp.StatusCode != http.StatusOK || !bytes.Equal(body, data) {
				t.Fatalf("GET %s after a second push: %s, %d bytes, equal %v", u, resp.Status, len(body), bytes.Equal(body, data))
			}
		}

		resp, body = do(t, http.MethodHead, url, "", nil)
		if resp.StatusCode != http.StatusOK || len(body) != 0 || resp.Header.Get("Content-Length") != strconv.Itoa(len(data)) {
			t.Fatalf("HEAD: %s, body %d bytes, Content-Length %q", resp.Status, len(body), resp.Header.Get("Content-Length"))
		}

		get := func(rng string) (*http.Response, []byte) {
			t.Helper()
			req, err := http.NewRequest(http.MethodGet, url, nil)
			must(t, err)
			req.Header.Set("Range", rng)
			resp, err := http.DefaultClient.Do(req)
			must(t, err)
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			must(t, err)
			return resp, b
		}
		for _, c := range []struct {
			rng        string
			start, end int // [start, end)
		}{
			{"bytes=1000-300000", 1000, 300001},
			{fmt.Sprintf("bytes=%d-", copyChunk-1), copyChunk - 1, len(data)},
			{"bytes=-5", len(data) - 5, len(data)},
			{"bytes=0-0", 0, 1},
		} {
			resp, body := get(c.rng)
			want := data[c.start:c.end]
			cr := fmt.Sprintf("bytes %d-%d/%d", c.start, c.end-1, len(data))
			if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(body, want) || resp.Header.Get("Content-Range") != cr {
				t.Fatalf("Range %s: %s, %d bytes (want %d, equal %v), Content-Range %q (want %q)",
					c.rng, resp.Status, len(body), len(want), bytes.Equal(body, want), resp.Header.Get("Content-Range"), cr)
			}
		}

		// Several ranges: a multipart answer with each part's bytes.
		resp, body = get("bytes=0-9,2000000-2000009")
		mt, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
		if resp.StatusCode != http.StatusPartialContent || err != nil || mt != "multipart/byteranges" {
			t.Fatalf("two ranges: %s, Content-Type %q (%v)", resp.Status, resp.Header.Get("Content-Type"), err)
		}
		mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
		for _, start := range []int{0, 2000000} {
			p, err := mr.NextPart()
			must(t, err)
			got, err := io.ReadAll(p)
			must(t, err)
			if !bytes.Equal(got, data[start:start+10]) {
				t.Fatalf("two ranges: the part at %d holds %x, want %x", start, got, data[start:start+10])
			}
		}

		resp, _ = get(fmt.Sprintf("bytes=%d-", len(data)))
		if resp.StatusCode != http.StatusRequestedRangeNotSatisfiable {
			t.Fatalf("Range past the end: %s, want 416", resp.Status)
		}
	})
}

// logLines collects the registry's request log.
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, string(p))
	return len(p), nil
}

func (l *logLines) matching(sub string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, s := range l.lines {
		if strings.Contains(s, sub) {
			out = append(out, s)
		}
	}
	return out
}

// TestBlobDownloadAborted: a client that hangs up in the middle of a
// download leaves the registry serving the blob whole to the next one, and
// (in memory) holding no reference to the blob for the dead download.
func TestBlobDownloadAborted(t *testing.T) {
	for _, mode := range []string{"disk", "memory"} {
		t.Run(mode, func(t *testing.T) {
			logs := &logLines{}
			cfg := Config{Memory: true, Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
			if mode == "disk" {
				cfg.Root = t.TempDir()
			}
			rg, base := newTestRegistry(t, cfg)
			// Larger than what the socket buffers of both ends hold, so
			// that the server is still writing when the client hangs up.
			data := randomBlob(2, 16<<20)
			d := pushBlob(t, base, "r", data)
			url := base + "/v2/r/blobs/" + d.String()

			tr := &http.Transport{}
			ctx, cancel := context.WithCancel(context.Background())
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			must(t, err)
			resp, err := (&http.Client{Transport: tr}).Do(req)
			must(t, err)
			if _, err := io.ReadFull(resp.Body, make([]byte, 100<<10)); err != nil {
				t.Fatal(err)
			}
			cancel()
			resp.Body.Close()
			tr.CloseIdleConnections()

			// The handler notices, stops and logs how little it sent.
			deadline := time.Now().Add(20 * time.Second)
			var aborted []string
			for time.Now().Before(deadline) {
				if aborted = logs.matching("/blobs/" + d.String()); len(aborted) > 0 {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			if len(aborted) != 1 {
				t.Fatalf("log lines of the aborted download: %q", aborted)
			}
			if strings.Contains(aborted[0], "bytes="+strconv.Itoa(len(data))+" ") {
				t.Fatalf("the aborted download was sent whole (%s): the test did not abort anything", aborted[0])
			}
			t.Logf("aborted: %s", strings.TrimSpace(aborted[0]))
			if b := mappedBlob(rg, d); b != nil {
				if refs := b.refs.Load(); refs != 1 {
					t.Fatalf("the blob holds %d references after the aborted download, want 1 (the store's)", refs)
				}
			}

			resp2, body := do(t, http.MethodGet, url, "", nil)
			if resp2.StatusCode != http.StatusOK || !bytes.Equal(body, data) {
				t.Fatalf("GET after the aborted one: %s, %d bytes, equal %v", resp2.Status, len(body), bytes.Equal(body, data))
			}
		})
	}
}

// TestMemBlobOutlivesClose: closing the memory store while a download is
// reading a mapped blob leaves that download its bytes; the mapping goes
// with the last reader.
func TestMemBlobOutlivesClose(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("blobs are mapped on linux only (memfd_create); elsewhere they stay in chunks")
	}
	s := newMemStore()
	data := randomBlob(3, 2<<20)
	uf, err := s.newUpload()
	must(t, err)
	if _, err := uf.Write(data); err != nil {
		t.Fatal(err)
	}
	d := digest.FromBytes(data)
	must(t, s.commitBlob(uf, d))
	r, _, err := s.openBlob(d)
	must(t, err)
	mr, ok := r.(*mappedReader)
	if !ok {
		t.Fatalf("openBlob gave a %T, want a *mappedReader", r)
	}
	b := mr.b
	head := make([]byte, 1000)
	if _, err := io.ReadFull(r, head); err != nil || !bytes.Equal(head, data[:1000]) {
		t.Fatalf("first read: %v, equal %v", err, bytes.Equal(head, data[:1000]))
	}
	must(t, s.close())
	if b.m == nil {
		t.Fatal("closing the store unmapped a blob a reader still holds")
	}
	rest, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(rest, data[1000:]) {
		t.Fatalf("reading on after close: %v, %d bytes, equal %v", err, len(rest), bytes.Equal(rest, data[1000:]))
	}
	must(t, r.Close())
	must(t, r.Close()) // twice: released once
	if b.m != nil || b.refs.Load() != 0 {
		t.Fatalf("after the last reader: mapping %v, refs %d; want unmapped, 0", b.m != nil, b.refs.Load())
	}
	if n, err := r.Read(head); n != 0 || err == nil {
		t.Fatalf("Read after Close: %d, %v; want an error", n, err)
	}
}

// TestServeBlobDownload: through Serve (its connections tuned, tuneConn),
// plain and under TLS, a blob many socket buffers long downloads whole.
func TestServeBlobDownload(t *testing.T) {
	for _, useTLS := range []bool{false, true} {
		dir := t.TempDir()
		opts := ServeOptions{Addr: "127.0.0.1:0", Memory: true}
		client := &http.Client{}
		if useTLS {
			opts.TLSCertFile, opts.TLSKeyFile = selfSignedCert(t, dir)
			client.Transport = &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
		}
		base, stop := startServe(t, opts)
		data := randomBlob(4, 12<<20+5)
		d := digest.FromBytes(data)
		resp, err := client.Post(base+"/v2/r/blobs/uploads/?digest="+d.String(), "application/octet-stream", bytes.NewReader(data))
		must(t, err)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("TLS %v: push: %s", useTLS, resp.Status)
		}
		resp, err = client.Get(base + "/v2/r/blobs/" + d.String())
		must(t, err)
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK || !bytes.Equal(got, data) {
			t.Fatalf("TLS %v: GET: %s, %v, %d bytes, equal %v", useTLS, resp.Status, err, len(got), bytes.Equal(got, data))
		}
		stop()
	}
}
