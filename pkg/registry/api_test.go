package registry

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	"golang.org/x/crypto/bcrypt"
)

func errCode(t *testing.T, body []byte) string {
	t.Helper()
	var eb errorBody
	if err := json.Unmarshal(body, &eb); err != nil || len(eb.Errors) != 1 {
		t.Fatalf("not a spec error body: %s", body)
	}
	return eb.Errors[0].Code
}

func wantErr(t *testing.T, resp *http.Response, body []byte, status int, code string) {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("status = %s, want %d (body %s)", resp.Status, status, body)
	}
	if c := errCode(t, body); c != code {
		t.Fatalf("code = %s, want %s", c, code)
	}
}

func storages(t *testing.T) map[string]Config {
	return map[string]Config{"memory": {Memory: true}, "disk": {Root: t.TempDir()}}
}

func TestArtifactValidation(t *testing.T) {
	for name, cfg := range storages(t) {
		t.Run(name, func(t *testing.T) {
			_, base := newTestRegistry(t, cfg)
			manifest := pushDockerImage(t, base, "r", "v1", "a")
			md := digest.FromBytes(manifest)
			sig := pushBlob(t, base, "r", []byte("sig"))
			art := func(fields string) []byte {
				return []byte(`{` + fields + `}`)
			}
			good := `"schemaVersion":2,"mediaType":"` + mtArtifact + `","artifactType":"application/x","config":{"mediaType":"c","digest":"` + sig.String() + `","size":3},"manifests":[{"mediaType":"` + mtDockerManifest + `","digest":"` + md.String() + `","size":` + strconv.Itoa(len(manifest)) + `}]`
			cases := []struct {
				name, ct, body string
				status         int
				code           string
			}{
				{"wrong content type", mtOCIManifest, good, 400, codeManifestInvalid},
				{"no content type", "", good, 400, codeManifestInvalid},
				{"no schemaVersion", mtArtifact, strings.Replace(good, `"schemaVersion":2,`, ``, 1), 400, codeManifestInvalid},
				{"no artifactType", mtArtifact, strings.Replace(good, `"artifactType":"application/x",`, ``, 1), 400, codeManifestInvalid},
				{"missing config blob", mtArtifact, strings.Replace(good, sig.String(), digest.FromString("nope").String(), 1), 400, codeManifestBlobUnknown},
				{"missing subject manifest", mtArtifact, strings.Replace(good, md.String(), digest.FromString("nope").String(), 1), 400, codeManifestUnknown},
			}
			for _, c := range cases {
				b := art(c.body)
				resp, body := do(t, "PUT", base+"/v2/r/manifests/"+digest.FromBytes(b).String(), c.ct, b)
				if resp.StatusCode != c.status || errCode(t, body) != c.code {
					t.Errorf("%s: %s %s, want %d %s", c.name, resp.Status, body, c.status, c.code)
				}
			}
			b := art(good)
			resp, body := do(t, "PUT", base+"/v2/r/manifests/"+digest.FromString("x").String(), mtArtifact, b)
			wantErr(t, resp, body, 400, codeDigestInvalid)
			ad := digest.FromBytes(b)
			pushManifest(t, base, "r", ad.String(), mtArtifact, b)

			// Links: by digest, type filter, unknown digest/repo, unknown tag.
			links := func(path string) (int, string) {
				resp, body := do(t, "GET", base+"/v2/_ext/oci-artifacts/v1/"+path, "", nil)
				return resp.StatusCode, string(body)
			}
			if st, b := links("r/manifests/" + md.String() + "/links?artifact-type=application/other"); st != 200 || b != `{"digest":"`+md.String()+`","links":[],"nextLink":"not implemented"}`+"\n" {
				t.Errorf("filtered links: %d %s", st, b)
			}
			if st, b := links("r/manifests/" + md.String() + "/links"); st != 200 || !strings.Contains(b, `"links":[{"schemaVersion":2`) {
				t.Errorf("links: %d %s", st, b)
			}
			if st, b := links("nope/manifests/" + md.String() + "/links"); st != 200 || !strings.Contains(b, `"links":[]`) {
				t.Errorf("unknown repo links: %d %s", st, b)
			}
			if st, b := links("r/manifests/nosuchtag/links"); st != 404 || !strings.Contains(b, codeManifestUnknown) {
				t.Errorf("unknown tag links: %d %s", st, b)
			}
			// Deleting the artifact removes the link.
			resp, _ = do(t, "DELETE", base+"/v2/r/manifests/"+ad.String(), "", nil)
			if resp.StatusCode != 202 {
				t.Fatalf("delete: %s", resp.Status)
			}
			if st, b := links("r/manifests/" + md.String() + "/links"); st != 200 || !strings.Contains(b, `"links":[]`) {
				t.Errorf("links after delete: %d %s", st, b)
			}
		})
	}
}

func TestReferrers(t *testing.T) {
	for name, cfg := range storages(t) {
		t.Run(name, func(t *testing.T) {
			_, base := newTestRegistry(t, cfg)
			subject := digest.FromString("not pushed yet")
			empty := pushBlob(t, base, "r", []byte("{}"))
			payload := pushBlob(t, base, "r", []byte("payload"))
			mk := func(at, ann string) []byte {
				return []byte(`{"schemaVersion":2,"mediaType":"` + mtOCIManifest + `","artifactType":"` + at + `","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"` + empty.String() + `","size":2},"layers":[{"mediaType":"application/octet-stream","digest":"` + payload.String() + `","size":7}],"subject":{"mediaType":"` + mtOCIManifest + `","digest":"` + subject.String() + `","size":10},"annotations":{"k":"` + ann + `"}}`)
			}
			a, b := mk("application/a", "1"), mk("application/b", "2")
			for _, m := range [][]byte{a, b} {
				resp := pushManifest(t, base, "r", digest.FromBytes(m).String(), mtOCIManifest, m)
				if resp.Header.Get("OCI-Subject") != subject.String() {
					t.Errorf("OCI-Subject = %q", resp.Header.Get("OCI-Subject"))
				}
			}
			var idx imageIndex
			resp, body := do(t, "GET", base+"/v2/r/referrers/"+subject.String(), "", nil)
			must(t, json.Unmarshal(body, &idx))
			if resp.Header.Get("Content-Type") != mtOCIIndex || len(idx.Manifests) != 2 || idx.Manifests[0].Annotations["k"] == "" {
				t.Fatalf("referrers: %s %s", resp.Header.Get("Content-Type"), body)
			}
			resp, body = do(t, "GET", base+"/v2/r/referrers/"+subject.String()+"?artifactType=application/b", "", nil)
			idx = imageIndex{}
			must(t, json.Unmarshal(body, &idx))
			if resp.Header.Get("OCI-Filters-Applied") != "artifactType" || len(idx.Manifests) != 1 || idx.Manifests[0].ArtifactType != "application/b" || idx.Manifests[0].Digest != digest.FromBytes(b).String() {
				t.Fatalf("filtered referrers: %v %s", resp.Header, body)
			}
		})
	}
	// Disabled API: 404, so clients fall back to the tag schema.
	_, base := newTestRegistry(t, Config{DisableReferrersAPI: true, DisableLinks: true})
	resp, _ := do(t, "GET", base+"/v2/r/referrers/"+digest.FromString("x").String(), "", nil)
	if resp.StatusCode != 404 {
		t.Errorf("disabled referrers: %s", resp.Status)
	}
	resp, _ = do(t, "GET", base+"/v2/_ext/oci-artifacts/v1/r/manifests/"+digest.FromString("x").String()+"/links", "", nil)
	if resp.StatusCode != 404 {
		t.Errorf("disabled links: %s", resp.Status)
	}
}

func TestTagsPagination(t *testing.T) {
	_, base := newTestRegistry(t, Config{})
	m, blobs := dockerImage(t, "t")
	for _, b := range blobs {
		pushBlob(t, base, "r", b)
	}
	for _, tag := range []string{"c", "a", "b", "d"} {
		pushManifest(t, base, "r", tag, mtDockerManifest, m)
	}
	resp, body := do(t, "GET", base+"/v2/r/tags/list?n=2", "", nil)
	if string(body) != `{"name":"r","tags":["a","b"]}`+"\n" || resp.Header.Get("Link") != `</v2/r/tags/list?last=b&n=2>; rel="next"` {
		t.Fatalf("page 1: %s %q", body, resp.Header.Get("Link"))
	}
	resp, body = do(t, "GET", base+"/v2/r/tags/list?n=2&last=b", "", nil)
	if string(body) != `{"name":"r","tags":["c","d"]}`+"\n" || resp.Header.Get("Link") != "" {
		t.Fatalf("page 2: %s %q", body, resp.Header.Get("Link"))
	}
	resp, body = do(t, "GET", base+"/v2/nope/tags/list", "", nil)
	wantErr(t, resp, body, 404, codeNameUnknown)
}

func TestValidationAndLimits(t *testing.T) {
	_, base := newTestRegistry(t, Config{Root: t.TempDir(), MaxManifestSize: 1024})
	for _, p := range []string{
		"/v2/../etc/manifests/latest", "/v2/a/..%2f..%2fx/manifests/latest", "/v2/UPPER/manifests/latest",
		"/v2/_ext/manifests/latest", "/v2/a//b/manifests/latest",
	} {
		resp, body := do(t, "GET", base+p, "", nil)
		if resp.StatusCode != 400 && resp.StatusCode != 404 {
			t.Errorf("%s: %s %s", p, resp.Status, body)
		}
	}
	resp, body := do(t, "PUT", base+"/v2/r/manifests/latest", mtOCIManifest, []byte(`{"schemaVersion":2,"pad":"`+strings.Repeat("x", 2000)+`"}`))
	wantErr(t, resp, body, 413, codeSizeInvalid)
	resp, body = do(t, "PUT", base+"/v2/r/manifests/..", mtOCIManifest, []byte(`{}`))
	wantErr(t, resp, body, 400, codeManifestInvalid)
	resp, body = do(t, "GET", base+"/v2/r/blobs/sha256:abc", "", nil)
	wantErr(t, resp, body, 400, codeDigestInvalid)
	resp, body = do(t, "PUT", base+"/v2/r/manifests/v1", mtOCIManifest, []byte(`{"schemaVersion":2,"mediaType":"`+mtOCIManifest+`","config":{"mediaType":"x","digest":"`+digest.FromString("x").String()+`","size":1},"layers":[]}`))
	wantErr(t, resp, body, 400, codeManifestBlobUnknown)

	// Chunked upload with an out-of-order chunk, range GET, sha512.
	resp, _ = do(t, "POST", base+"/v2/r/blobs/uploads/", "", nil)
	loc := resp.Header.Get("Location")
	if resp.StatusCode != 202 || !strings.Contains(loc, "?_state=") || !strings.HasPrefix(loc, "http://") {
		t.Fatalf("POST: %s %q", resp.Status, loc)
	}
	req, _ := http.NewRequest("PATCH", loc, strings.NewReader("hello "))
	req.Header.Set("Content-Range", "0-5")
	r1, err := http.DefaultClient.Do(req)
	must(t, err)
	r1.Body.Close()
	req, _ = http.NewRequest("PATCH", r1.Header.Get("Location"), strings.NewReader("zzz"))
	req.Header.Set("Content-Range", "10-12")
	r2, err := http.DefaultClient.Do(req)
	must(t, err)
	r2.Body.Close()
	if r2.StatusCode != 416 || r2.Header.Get("Range") != "0-5" {
		t.Fatalf("bad chunk: %s %q", r2.Status, r2.Header.Get("Range"))
	}
	data := "hello world"
	d512 := digest.SHA512.FromString(data)
	resp, body = do(t, "PUT", r1.Header.Get("Location")+"&digest="+d512.String(), "", []byte("world"))
	if resp.StatusCode != 201 {
		t.Fatalf("PUT: %s %s", resp.Status, body)
	}
	req, _ = http.NewRequest("GET", base+"/v2/r/blobs/"+d512.String(), nil)
	req.Header.Set("Range", "bytes=6-10")
	r3, err := http.DefaultClient.Do(req)
	must(t, err)
	defer r3.Body.Close()
	got := make([]byte, 5)
	_, _ = r3.Body.Read(got)
	if r3.StatusCode != 206 || string(got) != "world" {
		t.Fatalf("range: %s %q", r3.Status, got)
	}
	// Wrong digest on a monolithic upload: nothing becomes visible.
	wrong := digest.FromString("other")
	resp, body = do(t, "POST", base+"/v2/r/blobs/uploads/?digest="+wrong.String(), "", []byte("content"))
	wantErr(t, resp, body, 400, codeDigestInvalid)
	resp, _ = do(t, "HEAD", base+"/v2/r/blobs/"+wrong.String(), "", nil)
	if resp.StatusCode != 404 {
		t.Fatalf("blob with wrong digest visible: %s", resp.Status)
	}
}

func TestAuthAndTLS(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	must(t, err)
	dir := t.TempDir()
	hp := filepath.Join(dir, "htpasswd")
	must(t, os.WriteFile(hp, []byte("alice:"+string(hash)+"\n"), 0o600))
	rg, err := New(Config{HtpasswdFile: hp})
	must(t, err)
	defer rg.Close()
	srv := httptest.NewTLSServer(rg)
	defer srv.Close()
	client := srv.Client()
	get := func(user, pass string) *http.Response {
		req, _ := http.NewRequest("GET", srv.URL+"/v2/", nil)
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		resp, err := client.Do(req)
		must(t, err)
		resp.Body.Close()
		return resp
	}
	if r := get("", ""); r.StatusCode != 401 || r.Header.Get("WWW-Authenticate") != `Basic realm="signet"` {
		t.Fatalf("no auth: %s %v", r.Status, r.Header)
	}
	if r := get("alice", "wrong"); r.StatusCode != 401 {
		t.Fatalf("wrong password: %s", r.Status)
	}
	for range 2 { // second time from the cache
		if r := get("alice", "s3cret"); r.StatusCode != 200 {
			t.Fatalf("good password: %s", r.Status)
		}
	}
	// Non-bcrypt entries are refused at load.
	must(t, os.WriteFile(hp, []byte("bob:{SHA}abc\n"), 0o600))
	want := "htpasswd " + hp + `:1: entry for "bob" is not bcrypt (use htpasswd -B)`
	if _, err := New(Config{HtpasswdFile: hp}); err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("non-bcrypt htpasswd: err = %v, want %q", err, want)
	}
}

func TestUploadSessionExpiry(t *testing.T) {
	rg, base := newTestRegistry(t, Config{UploadExpiry: time.Minute})
	resp, _ := do(t, "POST", base+"/v2/r/blobs/uploads/", "", nil)
	loc := resp.Header.Get("Location")
	if resp, _ := do(t, "GET", loc, "", nil); resp.StatusCode != 204 {
		t.Fatalf("status: %s", resp.Status)
	}
	rg.uploads.expire(time.Now().Add(2 * time.Minute))
	resp, body := do(t, "GET", loc, "", nil)
	wantErr(t, resp, body, 404, codeBlobUploadUnknown)
	// Another repository cannot use a session.
	resp, _ = do(t, "POST", base+"/v2/r/blobs/uploads/", "", nil)
	other := strings.Replace(resp.Header.Get("Location"), "/v2/r/", "/v2/other/", 1)
	resp, body = do(t, "GET", other, "", nil)
	wantErr(t, resp, body, 404, codeBlobUploadUnknown)
}
