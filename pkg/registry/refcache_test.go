package registry

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/opencontainers/go-digest"
)

// countingStore counts subject index reads.
type countingStore struct {
	storage
	lists atomic.Int64
}

func (s *countingStore) listIndex(repo, kind string, subject digest.Digest) ([]indexEntry, error) {
	s.lists.Add(1)
	return s.storage.listIndex(repo, kind, subject)
}

// listReferrers GETs the referrers of subject (of type at when set) and
// returns the digests listed, and whether the filter was applied.
func listReferrers(t *testing.T, base string, subject digest.Digest, at string) ([]string, bool) {
	t.Helper()
	u := base + "/v2/r/referrers/" + subject.String()
	if at != "" {
		u += "?artifactType=" + at
	}
	resp, body := do(t, http.MethodGet, u, "", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", u, resp.StatusCode, body)
	}
	var idx imageIndex
	if err := json.Unmarshal(body, &idx); err != nil {
		t.Fatalf("GET %s: %v: %s", u, err, body)
	}
	var out []string
	for _, m := range idx.Manifests {
		if at != "" && m.ArtifactType != at {
			t.Errorf("filtered by %s, listed %s of type %s", at, m.Digest, m.ArtifactType)
		}
		out = append(out, m.Digest)
	}
	return out, resp.Header.Get("OCI-Filters-Applied") == "artifactType"
}

func typedReferrer(subject digest.Digest, at string, n int) []byte {
	m := referrerManifest(digest.FromString("{}"), digest.FromString("x"), 1, subject, n)
	return bytes.Replace(m, []byte(`"artifactType":"application/vnd.test"`), []byte(`"artifactType":"`+at+`"`), 1)
}

// TestReferrersListingFollowsPushesAndDeletes: once a subject's referrers
// have been listed (and kept in memory), pushes and deletions show in the
// next listing, filtered or not, and the subject index is not read again.
func TestReferrersListingFollowsPushesAndDeletes(t *testing.T) {
	for name, cfg := range storages(t) {
		t.Run(name, func(t *testing.T) {
			rg, base := newTestRegistry(t, cfg)
			cs := &countingStore{storage: rg.store}
			rg.store = cs
			pushBlob(t, base, "r", []byte("{}"))
			pushBlob(t, base, "r", []byte("x"))
			subject := digest.FromString("subject")
			const sig, sbom = "application/vnd.cncf.notary.signature", "application/vnd.example.sbom"
			want := map[string][]string{}
			push := func(at string, n int) digest.Digest {
				m := typedReferrer(subject, at, n)
				resp, body := do(t, http.MethodPut, base+"/v2/r/manifests/"+digest.FromBytes(m).String(), mtOCIManifest, m)
				if resp.StatusCode != http.StatusCreated {
					t.Fatalf("push: %d %s", resp.StatusCode, body)
				}
				d := digest.FromBytes(m)
				want[at] = append(want[at], d.String())
				return d
			}
			check := func(when string) {
				t.Helper()
				var all []string
				for _, at := range []string{sig, sbom, "application/vnd.none"} {
					got, applied := listReferrers(t, base, subject, at)
					w := append([]string(nil), want[at]...)
					sort.Strings(w)
					if fmt.Sprint(got) != fmt.Sprint(w) || !applied {
						t.Errorf("%s: type %s: listed %v (filter applied %v), want %v", when, at, got, applied, w)
					}
					all = append(all, want[at]...)
				}
				sort.Strings(all)
				got, _ := listReferrers(t, base, subject, "")
				if fmt.Sprint(got) != fmt.Sprint(all) {
					t.Errorf("%s: listed %v, want %v", when, got, all)
				}
			}
			for i := range 5 {
				push(sbom, i)
			}
			check("before any signature")
			loads := cs.lists.Load()
			s1 := push(sig, 100)
			push(sbom, 5)
			check("after pushes")
			resp, _ := do(t, http.MethodDelete, base+"/v2/r/manifests/"+s1.String(), "", nil)
			if resp.StatusCode != http.StatusAccepted {
				t.Fatalf("delete: %d", resp.StatusCode)
			}
			want[sig] = nil
			check("after deleting the signature")
			push(sig, 101)
			check("after another signature")
			if n := cs.lists.Load() - loads; n != 0 {
				t.Errorf("the subject index was read %d more time(s) after the first listing", n)
			}
			// A registry started over the same storage (once this one has
			// stopped and released the root's lock) lists the same.
			if cfg.Root != "" {
				if err := rg.Close(); err != nil {
					t.Fatal(err)
				}
				rg2, base2 := newTestRegistry(t, Config{Root: cfg.Root})
				_ = rg2
				got, _ := listReferrers(t, base2, subject, sig)
				if len(got) != 1 || got[0] != want[sig][0] {
					t.Errorf("restarted: %v, want %v", got, want[sig])
				}
			}
		})
	}
}

// TestReferrersListingConcurrent: listings racing with pushes never keep a
// stale view: once the pushes are done, every referrer is listed.
func TestReferrersListingConcurrent(t *testing.T) {
	_, base := newTestRegistry(t, Config{Memory: true})
	pushBlob(t, base, "r", []byte("{}"))
	pushBlob(t, base, "r", []byte("x"))
	subject := digest.FromString("subject")
	const n = 60
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			m := typedReferrer(subject, "application/vnd.example.sbom", i)
			if resp, body := do(t, http.MethodPut, base+"/v2/r/manifests/"+digest.FromBytes(m).String(), mtOCIManifest, m); resp.StatusCode != http.StatusCreated {
				t.Errorf("push: %d %s", resp.StatusCode, body)
			}
		})
		wg.Go(func() { listReferrers(t, base, subject, "") })
	}
	wg.Wait()
	if got, _ := listReferrers(t, base, subject, ""); len(got) != n {
		t.Errorf("listed %d referrers, want %d", len(got), n)
	}
	if got, _ := listReferrers(t, base, subject, "application/vnd.example.sbom"); len(got) != n {
		t.Errorf("filtered: listed %d referrers, want %d", len(got), n)
	}
}

// TestRefCacheBounded: the cache keeps at most its byte budget, dropping
// the least recently listed subjects, and still answers correctly.
func TestRefCacheBounded(t *testing.T) {
	c := newRefCache(30000)
	load := func(n int) func() (*refSubject, error) {
		return func() (*refSubject, error) {
			s := newRefSubject()
			for i := range n {
				d := digest.FromString(fmt.Sprint(i))
				s.put("t", d, []byte(`{"digest":"`+d.String()+`"}`))
			}
			return s, nil
		}
	}
	for i := range 20 {
		k := refKey{"r", digest.FromString(fmt.Sprint("s", i))}
		b, err := c.listing(k, "", load(50))
		if err != nil || bytes.Count(b, []byte(`"digest"`)) != 50 {
			t.Fatalf("listing %d: %v, %d entries", i, err, bytes.Count(b, []byte(`"digest"`)))
		}
	}
	if c.used*memFactor > c.maxBytes || len(c.subjects) == 0 || len(c.subjects) >= 20 {
		t.Errorf("cache holds %d subjects, %d bytes (x%d) for a budget of %d", len(c.subjects), c.used, memFactor, c.maxBytes)
	}
	// Too large to keep: answered, not kept.
	k := refKey{"r", digest.FromString("huge")}
	if b, _ := c.listing(k, "", load(1000)); bytes.Count(b, []byte(`"digest"`)) != 1000 {
		t.Error("huge listing wrong")
	}
	if _, ok := c.subjects[k]; ok {
		t.Error("a subject over the budget was kept")
	}
}
