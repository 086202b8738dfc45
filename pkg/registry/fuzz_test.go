package registry

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
)

// fuzzRegistry is one disk-backed registry per fuzz worker, under
// dir/root; dir must never hold anything but root (a path escaping the
// storage would show up beside it).
func fuzzRegistry(f *testing.F) (*Registry, string) {
	dir := f.TempDir()
	rg, err := New(Config{Root: filepath.Join(dir, "root"), MaxManifestSize: 64 << 10, MaxBlobSize: 1 << 20, MaxUploads: 64})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { rg.Close() })
	// Something to find: a blob, a manifest, a tag.
	cfg := []byte(`{"architecture":"amd64","os":"linux"}`)
	serve(rg, http.MethodPost, "/v2/fuzz/repo/blobs/uploads/?digest="+digest.FromBytes(cfg).String(), "", cfg)
	m := `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"` + digest.FromBytes(cfg).String() + `","size":` + strconv.Itoa(len(cfg)) + `},"layers":[]}`
	if code := serve(rg, http.MethodPut, "/v2/fuzz/repo/manifests/latest", "application/vnd.oci.image.manifest.v1+json", []byte(m)).Code; code != 201 {
		f.Fatalf("seed manifest: %d", code)
	}
	return rg, dir
}

func serve(rg *Registry, method, target, contentType string, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, "http://registry.test/", bytes.NewReader(body))
	req.URL.Path, req.URL.RawQuery, _ = strings.Cut(target, "?")
	req.RequestURI = ""
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	rec := httptest.NewRecorder()
	rg.ServeHTTP(rec, req)
	return rec
}

// checkEscape fails if anything but root appeared in dir.
func checkEscape(t *testing.T, dir string) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 || ents[0].Name() != "root" {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Fatalf("storage escaped its root: %v", names)
	}
}

var fuzzMethods = []string{http.MethodGet, http.MethodHead, http.MethodPut, http.MethodPost, http.MethodPatch, http.MethodDelete, "OPTIONS", "BREW"}

// FuzzRoutes feeds arbitrary methods, paths, queries, headers and bodies
// to the registry's handler. Invariants: no panic; no 5xx; nothing written
// outside the storage root; the seeded manifest is still served intact.
func FuzzRoutes(f *testing.F) {
	rg, dir := fuzzRegistry(f)
	for _, s := range []struct {
		m      uint8
		path   string
		ct, cr string
		body   string
	}{
		{0, "/v2/", "", "", ""},
		{0, "/v2/fuzz/repo/manifests/latest", "", "", ""},
		{1, "/v2/fuzz/repo/blobs/sha256:" + strings.Repeat("a", 64), "", "", ""},
		{3, "/v2/fuzz/repo/blobs/uploads/", "", "", "data"},
		{3, "/v2/fuzz/repo/blobs/uploads/?digest=sha256:" + strings.Repeat("0", 64), "application/octet-stream", "", "data"},
		{4, "/v2/fuzz/repo/blobs/uploads/x", "", "0-3", "data"},
		{2, "/v2/fuzz/repo/manifests/v1", "application/vnd.oci.image.manifest.v1+json", "", `{"schemaVersion":2}`},
		{5, "/v2/fuzz/repo/manifests/latest", "", "", ""},
		{0, "/v2/fuzz/repo/tags/list?n=1&last=a", "", "", ""},
		{0, "/v2/fuzz/repo/referrers/sha256:" + strings.Repeat("a", 64) + "?artifactType=x", "", "", ""},
		{0, "/v2/_ext/oci-artifacts/v1/fuzz/repo/manifests/latest/links", "", "", ""},
		{0, "/v2/_catalog", "", "", ""},
		{2, "/v2/../../etc/manifests/latest", "", "", "{}"},
		{2, "/v2/a/manifests/..%2f..%2fx", "", "", "{}"},
		{0, "/v2/fuzz/repo/blobs/sha256:../../../../etc/passwd", "", "", ""},
	} {
		f.Add(s.m, s.path, s.ct, s.cr, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, m uint8, path, contentType, contentRange string, body []byte) {
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		req := httptest.NewRequest(http.MethodGet, "http://registry.test/", bytes.NewReader(body))
		req.Method = fuzzMethods[int(m)%len(fuzzMethods)]
		req.URL.Path, req.URL.RawQuery, _ = strings.Cut(path, "?")
		req.RequestURI = ""
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		if contentRange != "" {
			req.Header.Set("Content-Range", contentRange)
		}
		rec := httptest.NewRecorder()
		rg.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %q: %d %s", req.Method, path, rec.Code, rec.Body.String())
		}
		checkEscape(t, dir)
		got := serve(rg, http.MethodGet, "/v2/fuzz/repo/manifests/latest", "", nil)
		if got.Code == 200 && digest.FromBytes(got.Body.Bytes()).String() != got.Header().Get("Docker-Content-Digest") {
			t.Fatalf("manifest bytes do not match their digest after %s %q", req.Method, path)
		}
	})
}

// FuzzManifestPut puts arbitrary manifests under arbitrary references.
// Invariants: no panic, no 5xx; a 201 stores exactly the bytes sent under
// their digest (and the tag, if any, resolves to it); a refusal stores
// nothing under that digest.
func FuzzManifestPut(f *testing.F) {
	rg, dir := fuzzRegistry(f)
	cfg := digest.FromBytes([]byte(`{"architecture":"amd64","os":"linux"}`))
	for _, s := range []struct{ ref, ct, body string }{
		{"v1", "application/vnd.oci.image.manifest.v1+json", `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"` + cfg.String() + `","size":37},"layers":[]}`},
		{"idx", "application/vnd.oci.image.index.v1+json", `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}`},
		{"art", "application/vnd.oci.artifact.manifest.v1+json", `{"mediaType":"application/vnd.oci.artifact.manifest.v1+json","artifactType":"application/vnd.cncf.notary.v2","manifests":[{"digest":"` + cfg.String() + `","size":1}]}`},
		{"sub", "application/vnd.oci.image.manifest.v1+json", `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[],"subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"` + cfg.String() + `","size":1}}`},
		{"sha256:" + strings.Repeat("a", 64), "application/json", `{}`},
		{"..", "", `{}`},
	} {
		f.Add(s.ref, s.ct, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, ref, contentType string, body []byte) {
		if strings.ContainsAny(ref, "/?#%") || ref == "" {
			return
		}
		rec := serve(rg, http.MethodPut, "/v2/fuzz/repo/manifests/"+ref, contentType, body)
		if rec.Code >= 500 {
			t.Fatalf("PUT %q: %d %s", ref, rec.Code, rec.Body.String())
		}
		checkEscape(t, dir)
		d := digest.FromBytes(body)
		if rec.Code != http.StatusCreated {
			return
		}
		got := digest.Digest(rec.Header().Get("Docker-Content-Digest"))
		if rd, err := digest.Parse(ref); err == nil {
			// pushed by digest: the bytes must have exactly that digest
			if !rd.Algorithm().Available() || rd.Algorithm().FromBytes(body) != rd || got != rd {
				t.Fatalf("201 for %s with bytes of digest %s (header %s)", rd, d, got)
			}
		} else if got != d {
			t.Fatalf("201 with digest %s for bytes %s", got, d)
		}
		_, stored, err := rg.store.getManifest("fuzz/repo", digest.Digest(rec.Header().Get("Docker-Content-Digest")))
		if err != nil || !bytes.Equal(stored, body) {
			t.Fatalf("201 but stored %q, %v", stored, err)
		}
		if validTag(ref) {
			td, err := rg.store.getTag("fuzz/repo", ref)
			if err != nil || td.String() != rec.Header().Get("Docker-Content-Digest") {
				t.Fatalf("tag %s -> %s, %v", ref, td, err)
			}
		}
		g := serve(rg, http.MethodGet, "/v2/fuzz/repo/manifests/"+ref, "", nil)
		if g.Code != 200 || !bytes.Equal(g.Body.Bytes(), body) {
			b, _ := io.ReadAll(g.Body)
			t.Fatalf("GET after PUT: %d %q", g.Code, b)
		}
	})
}
