package registry

import (
	"hash/fnv"
	"net/http"
	"sort"
	"strings"

	"github.com/opencontainers/go-digest"
)

// Conditional manifest writes (RFC 9110 §13.1): a manifest's ETag is its
// digest, quoted, on GET and HEAD; a PUT with If-Match or If-None-Match is
// refused with 412 Precondition Failed unless the reference (tag or
// digest) it is sent to is in the state the client saw. The check and the
// write are atomic: every manifest PUT that moves a tag holds that tag's
// lock from the check to the tag write. Clients that maintain a shared
// tag (the referrers tag fallback) use this to never lose each other's
// updates.

var errPrecondition = newErr(http.StatusPreconditionFailed, codeManifestInvalid, "precondition failed: the reference changed")

// tagLockStripes is the number of locks tags hash onto.
const tagLockStripes = 64

type tagLocks [tagLockStripes]chan struct{}

func newTagLocks() *tagLocks {
	var l tagLocks
	for i := range l {
		l[i] = make(chan struct{}, 1)
	}
	return &l
}

func stripe(repo, tag string) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(repo))
	_, _ = h.Write([]byte{0})
	_, _ = h.Write([]byte(tag))
	return int(h.Sum32() % tagLockStripes)
}

// lock locks the stripes of repo's tags, in order, and returns the unlock.
func (l *tagLocks) lock(repo string, tags []string) func() {
	set := map[int]bool{}
	for _, t := range tags {
		set[stripe(repo, t)] = true
	}
	idx := make([]int, 0, len(set))
	for i := range set {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	for _, i := range idx {
		l[i] <- struct{}{}
	}
	return func() {
		for j := len(idx) - 1; j >= 0; j-- {
			<-l[idx[j]]
		}
	}
}

// checkPreconditions evaluates If-Match and If-None-Match of a manifest PUT
// against the manifest ref names now. The caller holds ref's tag lock.
func (rg *Registry) checkPreconditions(r *http.Request, repo string, ref reference) error {
	im, inm := r.Header.Values("If-Match"), r.Header.Values("If-None-Match")
	if len(im) == 0 && len(inm) == 0 {
		return nil
	}
	var cur digest.Digest
	if d, err := rg.resolve(repo, ref); err == nil {
		if ok, err := rg.store.hasManifest(repo, d); err != nil {
			return err
		} else if ok {
			cur = d
		}
	} else if err != errManifestUnknown {
		return err
	}
	etag := ""
	if cur != "" {
		etag = `"` + cur.String() + `"`
	}
	if len(im) > 0 && !matchETag(im, etag, true) {
		return errPrecondition
	}
	if len(inm) > 0 && matchETag(inm, etag, false) {
		return errPrecondition
	}
	return nil
}

// matchETag reports whether the entity-tag list in values matches etag
// (the current one; "" when there is no current representation). strong
// selects strong comparison (If-Match), under which weak tags never match.
func matchETag(values []string, etag string, strong bool) bool {
	if etag == "" {
		return false
	}
	for _, v := range values {
		for _, t := range strings.Split(v, ",") {
			t = strings.TrimSpace(t)
			if t == "*" {
				return true
			}
			if weak, ok := strings.CutPrefix(t, "W/"); ok {
				if strong {
					continue
				}
				t = weak
			}
			if t == etag {
				return true
			}
		}
	}
	return false
}
