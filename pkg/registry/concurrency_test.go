package registry

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/opencontainers/go-digest"
)

// chunkedPush uploads data in PATCH chunks and a final PUT.
func chunkedPush(base, repo string, data []byte, chunk int) (digest.Digest, error) {
	d := digest.FromBytes(data)
	resp, err := http.Post(base+"/v2/"+repo+"/blobs/uploads/", "", nil)
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	if resp.StatusCode != 202 {
		return "", fmt.Errorf("POST: %s", resp.Status)
	}
	loc := resp.Header.Get("Location")
	for off := 0; off < len(data); off += chunk {
		end := min(off+chunk, len(data))
		req, _ := http.NewRequest("PATCH", loc, strings.NewReader(string(data[off:end])))
		req.Header.Set("Content-Range", strconv.Itoa(off)+"-"+strconv.Itoa(end-1))
		req.Header.Set("Content-Type", "application/octet-stream")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return "", err
		}
		resp.Body.Close()
		if resp.StatusCode != 202 {
			return "", fmt.Errorf("PATCH: %s", resp.Status)
		}
		loc = resp.Header.Get("Location")
	}
	req, _ := http.NewRequest("PUT", loc+"&digest="+d.String(), nil)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	if resp.StatusCode != 201 {
		return "", fmt.Errorf("PUT: %s", resp.Status)
	}
	return d, nil
}

func verifyBlob(t testing.TB, base, repo string, d digest.Digest) {
	t.Helper()
	resp, body := do(t, "GET", base+"/v2/"+repo+"/blobs/"+d.String(), "", nil)
	if resp.StatusCode != 200 || d.Algorithm().FromBytes(body) != d {
		t.Errorf("blob %s: %s, content digest %s", d, resp.Status, d.Algorithm().FromBytes(body))
	}
}

func verifyManifest(t testing.TB, base, repo, ref string, want digest.Digest) {
	t.Helper()
	resp, body := do(t, "GET", base+"/v2/"+repo+"/manifests/"+ref, "", nil)
	if resp.StatusCode != 200 || digest.FromBytes(body) != want || resp.Header.Get("Docker-Content-Digest") != want.String() {
		t.Errorf("manifest %s: %s, digest %s, want %s", ref, resp.Status, digest.FromBytes(body), want)
	}
}

// referrerManifest is an OCI artifact manifest referring to subject.
func referrerManifest(config, layer digest.Digest, layerSize int, subject digest.Digest, n int) []byte {
	return []byte(`{"schemaVersion":2,"mediaType":"` + mtOCIManifest + `","artifactType":"application/vnd.test","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"` + config.String() + `","size":2},"layers":[{"mediaType":"application/octet-stream","digest":"` + layer.String() + `","size":` + strconv.Itoa(layerSize) + `}],"subject":{"mediaType":"` + mtOCIManifest + `","digest":"` + subject.String() + `","size":1},"annotations":{"n":"` + strconv.Itoa(n) + `"}}`)
}

// TestConcurrentPushes: 50 concurrent pushes of the same blob and manifest
// and of different ones, chunked and monolithic, then everything is checked.
func TestConcurrentPushes(t *testing.T) {
	for name, cfg := range storages(t) {
		t.Run(name, func(t *testing.T) {
			_, base := newTestRegistry(t, cfg)
			const n = 50
			shared := []byte(strings.Repeat("shared blob ", 20000))
			subject := digest.FromString("subject")
			empty := digest.FromString("{}")
			var wg sync.WaitGroup
			errs := make(chan error, 4*n)
			digests := make([]digest.Digest, n)
			for i := range n {
				wg.Go(func() {
					// Same blob, chunked, from every goroutine.
					if _, err := chunkedPush(base, "c/r", shared, 7000+i); err != nil {
						errs <- err
						return
					}
					// A different blob each.
					own := []byte(strings.Repeat("own "+strconv.Itoa(i)+" ", 1000+i))
					od, err := chunkedPush(base, "c/r", own, 3000)
					if err != nil {
						errs <- err
						return
					}
					if _, err := chunkedPush(base, "c/r", []byte("{}"), 100); err != nil {
						errs <- err
						return
					}
					// The same manifest under the same tag, and an own one.
					sm := referrerManifest(empty, digest.FromBytes(shared), len(shared), subject, -1)
					om := referrerManifest(empty, od, len(own), subject, i)
					for _, p := range []struct {
						ref  string
						body []byte
					}{{"shared", sm}, {"own-" + strconv.Itoa(i), om}} {
						req, _ := http.NewRequest("PUT", base+"/v2/c/r/manifests/"+p.ref, strings.NewReader(string(p.body)))
						req.Header.Set("Content-Type", mtOCIManifest)
						resp, err := http.DefaultClient.Do(req)
						if err != nil {
							errs <- err
							return
						}
						resp.Body.Close()
						if resp.StatusCode != 201 {
							errs <- fmt.Errorf("manifest PUT %s: %s", p.ref, resp.Status)
							return
						}
					}
					digests[i] = digest.FromBytes(om)
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			verifyBlob(t, base, "c/r", digest.FromBytes(shared))
			sm := referrerManifest(empty, digest.FromBytes(shared), len(shared), subject, -1)
			verifyManifest(t, base, "c/r", "shared", digest.FromBytes(sm))
			for i := range n {
				verifyManifest(t, base, "c/r", "own-"+strconv.Itoa(i), digests[i])
			}
			var idx imageIndex
			_, body := do(t, "GET", base+"/v2/c/r/referrers/"+subject.String(), "", nil)
			must(t, json.Unmarshal(body, &idx))
			if len(idx.Manifests) != n+1 {
				t.Errorf("referrers: %d, want %d", len(idx.Manifests), n+1)
			}
			_, body = do(t, "GET", base+"/v2/c/r/tags/list", "", nil)
			var tl tagList
			must(t, json.Unmarshal(body, &tl))
			if len(tl.Tags) != n+1 {
				t.Errorf("tags: %d, want %d", len(tl.Tags), n+1)
			}
		})
	}
}
