package registry

import (
	"bytes"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/opencontainers/go-digest"
)

// getReferrers serves GET /v2/<name>/referrers/<digest>[?artifactType=]
// from the subject index written at push time: the cost is proportional to
// the referrers of the subject, never to the repository. The answer is an
// OCI image index (empty when nothing refers to the subject, which need not
// exist).
func (rg *Registry) getReferrers(w http.ResponseWriter, r *http.Request, repo, ds string) error {
	subject, err := parseDigest(ds)
	if err != nil {
		return errDigestSyntax
	}
	filter := r.URL.Query().Get("artifactType")
	b, err := rg.refs.listing(refKey{repo, subject}, filter, func() (*refSubject, error) {
		return rg.loadReferrers(repo, subject)
	})
	if err != nil {
		return err
	}
	if filter != "" {
		w.Header().Set("OCI-Filters-Applied", "artifactType")
	}
	if r.Header.Get(HeaderWantNested) != "" {
		nested, err := rg.nestedReferrers(repo, subject)
		if err != nil {
			return err
		}
		v := "none"
		if nested {
			v = "some"
		}
		w.Header().Set(HeaderNested, v)
	}
	return writeBody(w, r, mtOCIIndex, b)
}

// loadReferrers reads the subject index of subject: every entry whose
// manifest is stored (an entry is written before its manifest, so a crash
// in between leaves one without it, which is skipped).
func (rg *Registry) loadReferrers(repo string, subject digest.Digest) (*refSubject, error) {
	if ss, isSnap := rg.store.(snapshotStore); isSnap && rg.snaps != nil {
		// On disk: from the subject's snapshot (refsnap.go).
		k := refKey{repo, subject}
		g, ok := rg.snaps.generation(k)
		entries, full, checked, err := rg.loadSnapshotted(ss, repo, subject)
		if err != nil {
			return nil, err
		}
		if ok && checked != 0 {
			rg.snaps.saveAsync(k, g, entries)
		}
		return newRefSubjectSorted(entries, full), nil
	}
	entries, err := rg.store.listIndex(repo, indexReferrers, subject)
	if err != nil {
		return nil, err
	}
	stored := make([]bool, len(entries))
	err = forEachParallel(len(entries), func(i int) error {
		ok, err := rg.store.hasManifest(repo, entries[i].member)
		stored[i] = ok
		return err
	})
	if err != nil {
		return nil, err
	}
	s := newRefSubject()
	for i, e := range entries {
		at, desc, ok := bytes.Cut(e.data, []byte{'\n'})
		if !ok || !stored[i] {
			continue
		}
		s.put(string(at), e.member, desc)
	}
	return s, nil
}

// imageIndex is the shape of a referrers answer (used by tests).
type imageIndex struct {
	SchemaVersion int          `json:"schemaVersion"`
	MediaType     string       `json:"mediaType"`
	Manifests     []descriptor `json:"manifests"`
}

// forEachParallel calls fn(i) for every i in [0, n): on up to 4
// goroutines when n is large enough for it to pay (file look-ups of a
// subject index), in order otherwise. The first error is returned.
func forEachParallel(n int, fn func(i int) error) error {
	const workers, minPerWorker = 4, 256
	if n < 2*minPerWorker {
		for i := range n {
			if err := fn(i); err != nil {
				return err
			}
		}
		return nil
	}
	var (
		next    atomic.Int64
		errOnce sync.Once
		first   error
		wg      sync.WaitGroup
	)
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(64)) - 64
				if i >= n {
					return
				}
				for j := i; j < min(i+64, n); j++ {
					if err := fn(j); err != nil {
						errOnce.Do(func() { first = err })
						next.Store(int64(n)) // stop the others
						return
					}
				}
			}
		})
	}
	wg.Wait()
	return first
}
