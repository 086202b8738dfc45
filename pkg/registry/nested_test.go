package registry

import (
	"net/http"
	"strconv"
	"sync"
	"testing"

	"github.com/opencontainers/go-digest"
)

// nestedHint GETs the referrers of subject asking for the nested-referrers
// hint (want) and returns the hint answered.
func nestedHint(t *testing.T, base string, subject digest.Digest, want bool) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+"/v2/r/referrers/"+subject.String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if want {
		req.Header.Set(HeaderWantNested, "1")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET referrers: %d", resp.StatusCode)
	}
	return resp.Header.Get(HeaderNested)
}

// TestNestedReferrersHint: asked for it, the referrers answer says "none"
// while no referrer of the subject has referrers or links of its own, and
// "some" once one has (an OCI referrer or a prototype link); not asked, it
// says nothing.
func TestNestedReferrersHint(t *testing.T) {
	for name, cfg := range storages(t) {
		t.Run(name, func(t *testing.T) {
			_, base := newTestRegistry(t, cfg)
			pushBlob(t, base, "r", []byte("{}"))
			pushBlob(t, base, "r", []byte("x"))
			put := func(m []byte, mt string) digest.Digest {
				t.Helper()
				d := digest.FromBytes(m)
				resp, body := do(t, http.MethodPut, base+"/v2/r/manifests/"+d.String(), mt, m)
				if resp.StatusCode != http.StatusCreated {
					t.Fatalf("push: %d %s", resp.StatusCode, body)
				}
				return d
			}
			const sig = "application/vnd.cncf.notary.signature"

			subject := digest.FromString("subject")
			a := put(typedReferrer(subject, sig, 1), mtOCIManifest)
			put(typedReferrer(subject, sig, 2), mtOCIManifest)
			if got := nestedHint(t, base, subject, true); got != "none" {
				t.Errorf("two referrers without referrers: hint %q, want none", got)
			}
			if got := nestedHint(t, base, subject, false); got != "" {
				t.Errorf("not asked: hint %q, want no header", got)
			}
			put(typedReferrer(a, sig, 3), mtOCIManifest) // a referrer of a referrer
			if got := nestedHint(t, base, subject, true); got != "some" {
				t.Errorf("a referrer with a referrer: hint %q, want some", got)
			}
			if got := nestedHint(t, base, a, true); got != "none" {
				t.Errorf("the referrer's own listing: hint %q, want none", got)
			}

			// A prototype artifact linking a referrer of subject2.
			subject2 := digest.FromString("subject2")
			c := typedReferrer(subject2, sig, 4)
			cd := put(c, mtOCIManifest)
			if got := nestedHint(t, base, subject2, true); got != "none" {
				t.Errorf("subject2 before the link: hint %q, want none", got)
			}
			art := `{"schemaVersion":2,"mediaType":"` + mtArtifact + `","artifactType":"application/x","config":{"mediaType":"c","digest":"` + digest.FromString("x").String() + `","size":1},"manifests":[{"mediaType":"` + mtOCIManifest + `","digest":"` + cd.String() + `","size":` + strconv.Itoa(len(c)) + `}]}`
			put([]byte(art), mtArtifact)
			if got := nestedHint(t, base, subject2, true); got != "some" {
				t.Errorf("a referrer with a prototype link: hint %q, want some", got)
			}
		})
	}
}

// TestColdListingManyReferrers: the first listing of a subject with more
// referrers than forEachParallel does alone (its index read concurrently)
// lists every one of them, once.
func TestColdListingManyReferrers(t *testing.T) {
	rg, base := newTestRegistry(t, Config{Root: t.TempDir()})
	pushBlob(t, base, "r", []byte("{}"))
	pushBlob(t, base, "r", []byte("x"))
	subject := digest.FromString("subject")
	const n = 600
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			m := typedReferrer(subject, "application/vnd.test", i)
			resp, body := do(t, http.MethodPut, base+"/v2/r/manifests/"+digest.FromBytes(m).String(), mtOCIManifest, m)
			if resp.StatusCode != http.StatusCreated {
				t.Errorf("push %d: %d %s", i, resp.StatusCode, body)
			}
		})
	}
	wg.Wait()
	rg.refs = newRefCache(DefaultReferrersCacheSize) // cold
	got, _ := listReferrers(t, base, subject, "")
	seen := map[string]bool{}
	for _, d := range got {
		seen[d] = true
	}
	if len(got) != n || len(seen) != n {
		t.Errorf("cold listing: %d entries, %d distinct, want %d", len(got), len(seen), n)
	}
}
