package registry

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
)

// newTestRegistry starts a registry on a real loopback listener.
func newTestRegistry(t testing.TB, cfg Config) (*Registry, string) {
	t.Helper()
	rg, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(rg)
	t.Cleanup(func() {
		srv.Close()
		rg.Close()
	})
	return rg, srv.URL
}

func do(t testing.TB, method, url, contentType string, body []byte) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// pushBlob uploads data monolithically and returns its digest.
func pushBlob(t testing.TB, base, repo string, data []byte) digest.Digest {
	t.Helper()
	d := digest.FromBytes(data)
	resp, body := do(t, http.MethodPost, base+"/v2/"+repo+"/blobs/uploads/?digest="+d.String(), "application/octet-stream", data)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("push blob: %s %s", resp.Status, body)
	}
	return d
}

func pushManifest(t testing.TB, base, repo, ref, mediaType string, body []byte) *http.Response {
	t.Helper()
	resp, b := do(t, http.MethodPut, base+"/v2/"+repo+"/manifests/"+ref, mediaType, body)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("push manifest %s: %s %s", ref, resp.Status, b)
	}
	return resp
}

// dockerImage builds a Docker schema 2 image (config + one layer) like
// `docker generate manifest` printed it: three-space indent, no trailing
// newline. It returns the manifest bytes and the blobs.
func dockerImage(t testing.TB, seed string) ([]byte, [][]byte) {
	t.Helper()
	config := []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]},"seed":"` + seed + `"}`)
	layer := []byte("layer-" + seed + strings.Repeat("x", 100))
	type desc struct {
		MediaType string `json:"mediaType"`
		Size      int    `json:"size"`
		Digest    string `json:"digest"`
	}
	m := struct {
		SchemaVersion int    `json:"schemaVersion"`
		MediaType     string `json:"mediaType"`
		Config        desc   `json:"config"`
		Layers        []desc `json:"layers"`
	}{2, mtDockerManifest,
		desc{"application/vnd.docker.container.image.v1+json", len(config), digest.FromBytes(config).String()},
		[]desc{{"application/vnd.docker.image.rootfs.diff.tar.gzip", len(layer), digest.FromBytes(layer).String()}},
	}
	b, err := json.MarshalIndent(m, "", "   ")
	if err != nil {
		t.Fatal(err)
	}
	return b, [][]byte{config, layer}
}

// pushDockerImage pushes an image and returns the manifest bytes.
func pushDockerImage(t testing.TB, base, repo, tag, seed string) []byte {
	t.Helper()
	m, blobs := dockerImage(t, seed)
	for _, b := range blobs {
		pushBlob(t, base, repo, b)
	}
	pushManifest(t, base, repo, tag, mtDockerManifest, m)
	return m
}
