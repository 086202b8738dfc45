package remote_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/signet-oci/signet/internal/faultreg"
	"github.com/signet-oci/signet/pkg/remote"
)

var indexSubject = digest.FromString("subject")

func entry(i int) ocispec.Descriptor {
	return ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromString(fmt.Sprint("referrer ", i)), Size: 100, ArtifactType: "application/x-test"}
}

// listed returns the digests the referrers tag lists, read straight from
// the registry.
func listed(t *testing.T, srv *faultreg.Server) map[digest.Digest]bool {
	t.Helper()
	resp, body := srv.Do(t, http.MethodGet, "/v2/busybox/manifests/"+remote.ReferrersTag(indexSubject), "", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET the referrers tag: %s %s", resp.Status, body)
	}
	var idx ocispec.Index
	if err := json.Unmarshal(body, &idx); err != nil {
		t.Fatal(err)
	}
	out := map[digest.Digest]bool{}
	for _, m := range idx.Manifests {
		if out[m.Digest] {
			t.Fatalf("%s listed twice", m.Digest)
		}
		out[m.Digest] = true
	}
	return out
}

// ignoreConditions makes the registry ignore If-Match and If-None-Match,
// as distribution v3.1.2 does.
func ignoreConditions(w http.ResponseWriter, r *http.Request) bool {
	r.Header.Del("If-Match")
	r.Header.Del("If-None-Match")
	return false
}

// TestUpdateReferrersIndexConcurrent: 16 writers adding one entry each at
// once lose nothing, on a registry that honours conditional writes (412s
// are seen) and on one that ignores them (read-back verification).
func TestUpdateReferrersIndexConcurrent(t *testing.T) {
	for _, conditional := range []bool{true, false} {
		t.Run(fmt.Sprintf("conditional=%v", conditional), func(t *testing.T) {
			srv := faultreg.New(t)
			if !conditional {
				srv.Use(ignoreConditions)
			}
			const n = 16
			results := make([]*remote.IndexUpdateResult, n)
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				c := srv.Client(t, remote.Options{})
				wg.Add(1)
				go func() {
					defer wg.Done()
					results[i], errs[i] = c.UpdateReferrersIndex(context.Background(), srv.Ref(t, "busybox"), indexSubject, remote.IndexChange{Add: []ocispec.Descriptor{entry(i)}}, nil)
				}()
			}
			wg.Wait()
			conflicts, lost := 0, 0
			for i := range n {
				if errs[i] != nil {
					t.Fatalf("writer %d: %v", i, errs[i])
				}
				conflicts += results[i].Conflicts
				lost += results[i].Lost
			}
			got := listed(t, srv)
			for i := range n {
				if !got[entry(i).Digest] {
					t.Errorf("writer %d's entry is lost", i)
				}
			}
			if len(got) != n {
				t.Errorf("%d entries listed, want %d", len(got), n)
			}
			t.Logf("conflicts (412) %d, overwritten and redone %d", conflicts, lost)
			if conditional && conflicts == 0 {
				t.Errorf("16 concurrent conditional writers and not one 412: the registry does not honour If-Match")
			}
			if !conditional && conflicts != 0 {
				t.Errorf("%d 412s from a registry that ignores conditions", conflicts)
			}
		})
	}
}

// TestUpdateReferrersIndexChanges: adding what is there writes nothing;
// removing drops the entry; the superseded index is not deleted (another
// writer may have just read it).
func TestUpdateReferrersIndexChanges(t *testing.T) {
	srv := faultreg.New(t)
	c := srv.Client(t, remote.Options{})
	ctx, ref := context.Background(), srv.Ref(t, "busybox")
	opts := &remote.IndexUpdateOptions{SettleDelay: 1}
	r1, err := c.UpdateReferrersIndex(ctx, ref, indexSubject, remote.IndexChange{Add: []ocispec.Descriptor{entry(1), entry(2), entry(3)}}, opts)
	if err != nil || !r1.Written {
		t.Fatalf("%+v %v", r1, err)
	}
	again, err := c.UpdateReferrersIndex(ctx, ref, indexSubject, remote.IndexChange{Add: []ocispec.Descriptor{entry(2)}}, opts)
	if err != nil || again.Written || again.Index.Digest != r1.Index.Digest {
		t.Fatalf("adding an entry that is there: %+v %v, want nothing written", again, err)
	}
	r2, err := c.UpdateReferrersIndex(ctx, ref, indexSubject, remote.IndexChange{Remove: []digest.Digest{entry(2).Digest}}, opts)
	if err != nil || !r2.Written {
		t.Fatalf("%+v %v", r2, err)
	}
	got := listed(t, srv)
	if len(got) != 2 || !got[entry(1).Digest] || !got[entry(3).Digest] {
		t.Fatalf("after removing entry 2: %v", got)
	}
	if resp, _ := srv.Do(t, http.MethodGet, "/v2/busybox/manifests/"+r1.Index.Digest.String(), "", nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("the superseded index %s: %s, want it kept", r1.Index.Digest, resp.Status)
	}
	if srv.Count(http.MethodDelete, "/v2/busybox/manifests/"+r1.Index.Digest.String()) != 0 {
		t.Fatal("the superseded index was deleted")
	}
}

// TestUpdateReferrersIndexNotAnIndex: a referrers tag that holds something
// else is not overwritten.
func TestUpdateReferrersIndexNotAnIndex(t *testing.T) {
	srv := faultreg.New(t)
	cfg := srv.PushBlob(t, "busybox", "application/vnd.oci.empty.v1+json", []byte("{}"))
	m := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"` + cfg.Digest.String() + `","size":2},"layers":[]}`)
	srv.PushManifest(t, "busybox", remote.ReferrersTag(indexSubject), ocispec.MediaTypeImageManifest, m)
	_, err := srv.Client(t, remote.Options{}).UpdateReferrersIndex(context.Background(), srv.Ref(t, "busybox"), indexSubject, remote.IndexChange{Add: []ocispec.Descriptor{entry(1)}}, nil)
	if err == nil || !strings.Contains(err.Error(), "not an image index") {
		t.Fatalf("err = %v, want a refusal to overwrite", err)
	}
	if n := srv.Count(http.MethodPut, "/v2/busybox/manifests/"+remote.ReferrersTag(indexSubject)); n != 1 {
		t.Fatalf("%d PUTs on the tag, want only the seeding one", n)
	}
}

// TestUpdateReferrersIndexBounded: a registry that refuses every write
// with 412 ends the update after MaxAttempts with ErrIndexContention.
func TestUpdateReferrersIndexBounded(t *testing.T) {
	srv := faultreg.New(t)
	srv.Use(func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/sha256-") {
			w.WriteHeader(http.StatusPreconditionFailed)
			return true
		}
		return false
	})
	res, err := srv.Client(t, remote.Options{}).UpdateReferrersIndex(context.Background(), srv.Ref(t, "busybox"), indexSubject, remote.IndexChange{Add: []ocispec.Descriptor{entry(1)}}, &remote.IndexUpdateOptions{MaxAttempts: 4})
	if !errors.Is(err, remote.ErrIndexContention) || res.Attempts != 4 || res.Conflicts != 4 {
		t.Fatalf("%+v %v, want ErrIndexContention after 4 attempts", res, err)
	}
}

// TestUpdateReferrersIndexSlowRegistry: a registry far away (every index
// request 150 ms, more than MaxStale) is not mistaken for a stale read:
// the settle delay grows with the network time instead.
func TestUpdateReferrersIndexSlowRegistry(t *testing.T) {
	srv := faultreg.New(t)
	srv.Use(func(w http.ResponseWriter, r *http.Request) bool {
		if strings.Contains(r.URL.Path, "/manifests/sha256-") {
			time.Sleep(150 * time.Millisecond)
		}
		return false
	})
	res, err := srv.Client(t, remote.Options{}).UpdateReferrersIndex(context.Background(), srv.Ref(t, "busybox"), indexSubject, remote.IndexChange{Add: []ocispec.Descriptor{entry(1)}}, nil)
	if err != nil || res.Stale != 0 || res.Attempts != 1 {
		t.Fatalf("%+v %v, want one round, nothing stale", res, err)
	}
	if !listed(t, srv)[entry(1).Digest] {
		t.Fatal("the entry is not listed")
	}
}
