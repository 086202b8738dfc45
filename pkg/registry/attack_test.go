package registry

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
)

// The embedded registry under attack: every hostile request gets a 4xx,
// the server stays up, and storage stays consistent (nothing outside the
// root, nothing visible that was not verified).

// attackRegistry is a disk-backed registry under dir/root.
func attackRegistry(t *testing.T, cfg Config) (*Registry, string, string) {
	t.Helper()
	dir := t.TempDir()
	cfg.Root = filepath.Join(dir, "root")
	rg, base := newTestRegistry(t, cfg)
	return rg, base, dir
}

// checkStorage fails if anything but root sits in dir, or a path under
// root has a ".." component or is not a regular file or directory.
func checkStorage(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	must(t, err)
	if len(ents) != 1 || ents[0].Name() != "root" {
		t.Fatalf("storage escaped its root: %v", ents)
	}
	err = filepath.WalkDir(filepath.Join(dir, "root"), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.Contains(p, "..") || (!d.IsDir() && !d.Type().IsRegular()) {
			return fmt.Errorf("unexpected storage entry %s (%s)", p, d.Type())
		}
		return nil
	})
	must(t, err)
}

// notStored fails unless err says the store does not hold what; any
// other error is a failure of the store, not a sign that nothing was
// stored.
func notStored(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s was stored", what)
	}
	if !errors.Is(err, errNotFound) {
		t.Fatalf("%s: the store failed (%v), want errNotFound", what, err)
	}
}

func rawRequest(t *testing.T, base, method, path string, body []byte) int {
	t.Helper()
	req, err := http.NewRequest(method, base, bytes.NewReader(body))
	must(t, err)
	req.URL.Opaque = path // sent as is: no cleaning, no escaping
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// TestAttackPathTraversal: names, references, digests and upload ids that
// try to leave the storage root are refused on every route.
func TestAttackPathTraversal(t *testing.T) {
	_, base, dir := attackRegistry(t, Config{})
	seed := pushBlob(t, base, "r", []byte("seed"))
	names := []string{"..", "../r", "r/..", "r/../../x", "%2e%2e", "r/%2e%2e/%2e%2e/x", "..%2fx", "r%2f..%2f..%2fx", "./r", "r/.", "_uploads", "r/_manifests", "/abs", "r\\..\\x", "r%00x"}
	refs := []string{"..", "../../x", "..%2f..%2fx", "%2e%2e", ".", "sha256:../../../etc/passwd", "sha256:..%2f..%2f", "sha256:" + strings.Repeat("A", 64), "sha256:" + seed.Encoded() + "/../x", "a%00b"}
	var paths []string
	for _, n := range names {
		paths = append(paths,
			"/v2/"+n+"/manifests/latest", "/v2/"+n+"/blobs/"+seed.String(), "/v2/"+n+"/blobs/uploads/",
			"/v2/"+n+"/tags/list", "/v2/"+n+"/referrers/"+seed.String(), linksPrefix+n+"/manifests/latest/links")
	}
	for _, r := range refs {
		paths = append(paths,
			"/v2/r/manifests/"+r, "/v2/r/blobs/"+r, "/v2/r/blobs/uploads/"+r, "/v2/r/referrers/"+r,
			linksPrefix+"r/manifests/"+r+"/links", "/v2/r/blobs/uploads/?digest="+r, "/v2/r/blobs/uploads/?mount="+r+"&from=../x")
	}
	for _, p := range paths {
		for _, m := range []string{"GET", "HEAD", "PUT", "PATCH", "POST", "DELETE"} {
			code := rawRequest(t, base, m, p, []byte(`{"schemaVersion":2}`))
			if code >= 500 {
				t.Errorf("%s %s: %d", m, p, code)
			}
			if code < 400 && !(m == "POST" && strings.HasPrefix(p, "/v2/r/blobs/uploads/?")) && !(strings.HasPrefix(p, "/v2/r/blobs/sha256:"+seed.Encoded()) && (m == "GET" || m == "HEAD")) {
				t.Errorf("%s %s: %d, want a refusal", m, p, code)
			}
		}
	}
	checkStorage(t, dir)
	// still serving
	if resp, _ := do(t, "GET", base+"/v2/r/blobs/"+seed.String(), "", nil); resp.StatusCode != 200 {
		t.Fatalf("seed blob: %s", resp.Status)
	}
}

// TestAttackOversizedManifest: a manifest over the limit is refused with
// 413 whether or not the client declares its length, and nothing is stored.
func TestAttackOversizedManifest(t *testing.T) {
	rg, base, dir := attackRegistry(t, Config{MaxManifestSize: 4096})
	big := []byte(`{"schemaVersion":2,"mediaType":"` + mtOCIManifest + `","pad":"` + strings.Repeat("x", 1<<20) + `"}`)
	resp, body := do(t, "PUT", base+"/v2/r/manifests/big", mtOCIManifest, big)
	wantErr(t, resp, body, 413, codeSizeInvalid)
	// chunked: no Content-Length
	req := newRequest(t, "PUT", base+"/v2/r/manifests/big", io.MultiReader(bytes.NewReader(big)))
	req.Header.Set("Content-Type", mtOCIManifest)
	req.ContentLength = -1
	r2, err := http.DefaultClient.Do(req)
	must(t, err)
	b2, err := io.ReadAll(r2.Body)
	r2.Body.Close()
	must(t, err)
	wantErr(t, r2, b2, 413, codeSizeInvalid)
	_, _, err = rg.store.getManifest("r", digest.FromBytes(big))
	notStored(t, "the oversized manifest", err)
	_, err = rg.store.getTag("r", "big")
	notStored(t, "the tag of the oversized manifest", err)
	checkStorage(t, dir)
}

// TestAttackUploadLies: uploads that lie about their digest or size leave
// nothing visible, and the session stays consistent with what was
// acknowledged.
func TestAttackUploadLies(t *testing.T) {
	rg, base, dir := attackRegistry(t, Config{MaxBlobSize: 1 << 20})
	content := []byte("the real content")
	claimed := digest.FromString("what the client claims")

	t.Run("chunked-put-wrong-digest", func(t *testing.T) {
		resp, _ := do(t, "POST", base+"/v2/r/blobs/uploads/", "", nil)
		loc := resp.Header.Get("Location")
		req := newRequest(t, "PATCH", loc, bytes.NewReader(content))
		r1, err := http.DefaultClient.Do(req)
		must(t, err)
		r1.Body.Close()
		resp, body := do(t, "PUT", r1.Header.Get("Location")+"&digest="+claimed.String(), "", nil)
		wantErr(t, resp, body, 400, codeDigestInvalid)
		if ok, err := rg.store.blobLinked("r", claimed); err != nil || ok {
			t.Fatalf("blob visible under the claimed digest: linked %v, error %v", ok, err)
		}
		_, err = rg.store.blobSize(claimed)
		notStored(t, "blob content under the claimed digest", err)
	})
	t.Run("content-range-beyond-body", func(t *testing.T) {
		resp, _ := do(t, "POST", base+"/v2/r/blobs/uploads/", "", nil)
		loc := resp.Header.Get("Location")
		req := newRequest(t, "PATCH", loc, bytes.NewReader(content))
		req.Header.Set("Content-Range", fmt.Sprintf("0-%d", len(content)+100))
		r1, err := http.DefaultClient.Do(req)
		must(t, err)
		b1, err := io.ReadAll(r1.Body)
		r1.Body.Close()
		must(t, err)
		wantErr(t, r1, b1, http.StatusRequestedRangeNotSatisfiable, codeBlobUploadInvalid)
		if !strings.Contains(string(b1), "Content-Range does not match Content-Length") {
			t.Fatalf("lying Content-Range: %s, want the reason %q", b1, "Content-Range does not match Content-Length")
		}
		if got := r1.Header.Get("Range"); got != "0-0" {
			t.Fatalf("lying Content-Range: Range %q, want 0-0 (nothing acknowledged)", got)
		}
	})
	t.Run("over-max-blob-size", func(t *testing.T) {
		huge := bytes.Repeat([]byte("x"), 2<<20)
		resp, body := do(t, "POST", base+"/v2/r/blobs/uploads/?digest="+digest.FromBytes(huge).String(), "", huge)
		wantErr(t, resp, body, 413, codeSizeInvalid)
		_, err := rg.store.blobSize(digest.FromBytes(huge))
		notStored(t, "the oversized blob", err)
	})
	t.Run("content-length-longer-than-body-then-disconnect", func(t *testing.T) {
		resp, _ := do(t, "POST", base+"/v2/r/blobs/uploads/", "", nil)
		loc := resp.Header.Get("Location")
		u := strings.TrimPrefix(loc, base)
		c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
		must(t, err)
		fmt.Fprintf(c, "PATCH %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n", u, 100000)
		c.Write(bytes.Repeat([]byte("y"), 30000))
		time.Sleep(50 * time.Millisecond)
		c.Close() // gone mid-body
		// The session holds what was acknowledged: nothing (the PATCH never
		// completed, its bytes are cut back), so its Range is exactly 0-0;
		// finishing it with the digest of 100000 bytes fails on the digest,
		// and nothing is visible.
		var st *http.Response
		deadline := time.Now().Add(5 * time.Second)
		for {
			st, _ = do(t, "GET", loc, "", nil)
			if st.StatusCode == 204 || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if st.StatusCode != 204 || st.Header.Get("Range") != "0-0" {
			t.Fatalf("session after disconnect: %s Range %q", st.Status, st.Header.Get("Range"))
		}
		full := bytes.Repeat([]byte("y"), 100000)
		resp, body := do(t, "PUT", loc+"&digest="+digest.FromBytes(full).String(), "", nil)
		wantErr(t, resp, body, 400, codeDigestInvalid)
		_, err = rg.store.blobSize(digest.FromBytes(full))
		notStored(t, "the partial blob under the full digest", err)
	})
	checkStorage(t, dir)
	if resp, _ := do(t, "GET", base+"/v2/", "", nil); resp.StatusCode != 200 {
		t.Fatal("registry down")
	}
}

// TestAttackSlowClients: many clients trickling request bodies do not
// stop the registry from serving others promptly; when they are gone,
// nothing of theirs is visible.
func TestAttackSlowClients(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	_, base, dir := attackRegistry(t, Config{})
	host := strings.TrimPrefix(base, "http://")
	const slow = 64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range slow {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", host)
			if err != nil {
				return
			}
			defer c.Close()
			path := "/v2/r/manifests/slow" + fmt.Sprint(i)
			if i%2 == 0 {
				path = "/v2/r/blobs/uploads/?digest=" + digest.FromString("never").String()
			}
			method := "PUT"
			if i%2 == 0 {
				method = "POST"
			}
			fmt.Fprintf(c, "%s %s HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nContent-Length: 1000000\r\n\r\n", method, path, mtOCIManifest)
			tick := time.NewTicker(50 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
					if _, err := c.Write([]byte("{")); err != nil {
						return
					}
				}
			}
		}()
	}
	time.Sleep(200 * time.Millisecond)
	// Meanwhile an honest client pushes and pulls.
	for i := range 10 {
		start := time.Now()
		data := []byte(fmt.Sprintf("honest %d", i))
		d := pushBlob(t, base, "honest", data)
		resp, body := do(t, "GET", base+"/v2/honest/blobs/"+d.String(), "", nil)
		if resp.StatusCode != 200 || !bytes.Equal(body, data) {
			t.Fatalf("pull: %s", resp.Status)
		}
		if took := time.Since(start); took > 10*time.Second { // generous: -race on 2 loaded cores
			t.Fatalf("honest request took %s with %d slow clients", took, slow)
		}
	}
	close(stop)
	wg.Wait()
	// Slow clients gone: none of their manifests or blobs is visible.
	for i := range slow {
		if i%2 == 1 {
			if resp, _ := do(t, "GET", base+"/v2/r/manifests/slow"+fmt.Sprint(i), "", nil); resp.StatusCode != 404 {
				t.Fatalf("slow manifest %d: %s", i, resp.Status)
			}
		}
	}
	if resp, _ := do(t, "HEAD", base+"/v2/r/blobs/"+digest.FromString("never").String(), "", nil); resp.StatusCode != 404 {
		t.Fatalf("slow blob: %s", resp.Status)
	}
	checkStorage(t, dir)
}

// TestAttackManifestDigestLie: a manifest pushed under a digest reference
// that is not its digest is refused; nothing is stored under that digest.
func TestAttackManifestDigestLie(t *testing.T) {
	rg, base, dir := attackRegistry(t, Config{})
	body := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}`)
	for _, lie := range []digest.Digest{digest.FromString("other"), digest.SHA512.FromString("other"), digest.SHA512.FromBytes(append(body, ' '))} {
		resp, b := do(t, "PUT", base+"/v2/r/manifests/"+lie.String(), "application/vnd.oci.image.index.v1+json", body)
		wantErr(t, resp, b, 400, codeDigestInvalid)
		if ok, err := rg.store.hasManifest("r", lie); err != nil || ok {
			t.Fatalf("stored under %s: %v, error %v", lie, ok, err)
		}
	}
	// by its true sha512 digest: accepted, served under it
	d512 := digest.SHA512.FromBytes(body)
	if resp, b := do(t, "PUT", base+"/v2/r/manifests/"+d512.String(), "application/vnd.oci.image.index.v1+json", body); resp.StatusCode != 201 {
		t.Fatalf("PUT under its sha512: %s %s", resp.Status, b)
	}
	checkStorage(t, dir)
}

func newRequest(t *testing.T, method, url string, body io.Reader) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	must(t, err)
	return req
}
