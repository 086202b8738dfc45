package registry

import (
	"bytes"
	"io"
	"sort"
	"sync"

	"github.com/opencontainers/go-digest"
)

// memStore keeps everything in memory (for tests and throw-away demos).
// One mutex guards it all; values are never mutated after insertion.
type memStore struct {
	mu    sync.RWMutex
	blobs map[digest.Digest]*memBlob
	repos map[string]*memRepo
}

type memManifest struct {
	mediaType string
	body      []byte
}

type memRepo struct {
	blobs     map[digest.Digest]bool
	manifests map[digest.Digest]memManifest
	tags      map[string]digest.Digest
	index     map[string]map[digest.Digest][]byte // kind+subject → member → data
}

func newMemStore() *memStore {
	return &memStore{blobs: map[digest.Digest]*memBlob{}, repos: map[string]*memRepo{}}
}

func (s *memStore) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, b := range s.blobs {
		b.release() // downloads in flight keep theirs
	}
	s.blobs = map[digest.Digest]*memBlob{}
	return nil
}

// repo returns the repository, creating it if create is set (callers hold
// the write lock then).
func (s *memStore) repo(name string, create bool) *memRepo {
	r := s.repos[name]
	if r == nil && create {
		r = &memRepo{
			blobs:     map[digest.Digest]bool{},
			manifests: map[digest.Digest]memManifest{},
			tags:      map[string]digest.Digest{},
			index:     map[string]map[digest.Digest][]byte{},
		}
		s.repos[name] = r
	}
	return r
}

func (s *memStore) blobSize(d digest.Digest) (int64, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	b, ok := s.blobs[d]
	if !ok {
		return 0, errNotFound
	}
	return b.n, nil
}

func (s *memStore) openBlob(d digest.Digest) (io.ReadSeekCloser, int64, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	b, ok := s.blobs[d]
	if !ok {
		return nil, 0, errNotFound
	}
	return b.open(), b.n, nil
}

func (s *memStore) newUpload() (uploadFile, error) { return &memUpload{c: &chunks{}}, nil }

func (s *memStore) commitBlob(uf uploadFile, d digest.Digest) error {
	u := uf.(*memUpload)
	s.mu.RLock()
	_, dup := s.blobs[d]
	s.mu.RUnlock()
	if dup { // same digest, same content: this copy is not needed
		_ = u.discard()
		return nil
	}
	// The upload is done with its content: the blob takes it over, no
	// copy. It is mapped (newMemBlob) before the lock is taken.
	b := newMemBlob(u.c, u.f, u.n)
	u.c, u.f = &chunks{}, nil
	s.mu.Lock()
	_, dup = s.blobs[d]
	if !dup {
		s.blobs[d] = b
	}
	s.mu.Unlock()
	if dup {
		b.release()
	}
	return nil
}

func (s *memStore) repoExists(repo string) (bool, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	r := s.repos[repo]
	return r != nil && (len(r.blobs) > 0 || len(r.manifests) > 0 || len(r.tags) > 0), nil
}

func (s *memStore) linkBlob(repo string, d digest.Digest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.repo(repo, true).blobs[d] = true
	return nil
}

func (s *memStore) blobLinked(repo string, d digest.Digest) (bool, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	r := s.repo(repo, false)
	return r != nil && r.blobs[d], nil
}

func (s *memStore) unlinkBlob(repo string, d digest.Digest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repo(repo, false)
	if r == nil || !r.blobs[d] {
		return errNotFound
	}
	delete(r.blobs, d)
	return nil
}

func (s *memStore) putManifest(repo string, d digest.Digest, mediaType string, body []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.repo(repo, true).manifests[d] = memManifest{mediaType: mediaType, body: bytes.Clone(body)}
	return nil
}

func (s *memStore) getManifest(repo string, d digest.Digest) (string, []byte, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	r := s.repo(repo, false)
	if r == nil {
		return "", nil, errNotFound
	}
	m, ok := r.manifests[d]
	if !ok {
		return "", nil, errNotFound
	}
	return m.mediaType, m.body, nil
}

func (s *memStore) hasManifest(repo string, d digest.Digest) (bool, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	r := s.repo(repo, false)
	if r == nil {
		return false, nil
	}
	_, ok := r.manifests[d]
	return ok, nil
}

func (s *memStore) deleteManifest(repo string, d digest.Digest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repo(repo, false)
	if r == nil {
		return errNotFound
	}
	if _, ok := r.manifests[d]; !ok {
		return errNotFound
	}
	delete(r.manifests, d)
	return nil
}

func (s *memStore) putTag(repo, tag string, d digest.Digest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.repo(repo, true).tags[tag] = d
	return nil
}

func (s *memStore) getTag(repo, tag string) (digest.Digest, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	r := s.repo(repo, false)
	if r == nil {
		return "", errNotFound
	}
	d, ok := r.tags[tag]
	if !ok {
		return "", errNotFound
	}
	return d, nil
}

func (s *memStore) deleteTag(repo, tag string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repo(repo, false)
	if r == nil {
		return errNotFound
	}
	if _, ok := r.tags[tag]; !ok {
		return errNotFound
	}
	delete(r.tags, tag)
	return nil
}

func (s *memStore) listTags(repo string) ([]string, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	r := s.repo(repo, false)
	if r == nil {
		return nil, nil
	}
	tags := make([]string, 0, len(r.tags))
	for t := range r.tags {
		tags = append(tags, t)
	}
	sort.Strings(tags)
	return tags, nil
}

func indexKey(kind string, subject digest.Digest) string { return kind + "/" + subject.String() }

func (s *memStore) putIndex(repo, kind string, subject digest.Digest, e indexEntry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repo(repo, true)
	k := indexKey(kind, subject)
	if r.index[k] == nil {
		r.index[k] = map[digest.Digest][]byte{}
	}
	r.index[k][e.member] = bytes.Clone(e.data)
	return nil
}

func (s *memStore) listIndex(repo, kind string, subject digest.Digest) ([]indexEntry, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	r := s.repo(repo, false)
	if r == nil {
		return nil, nil
	}
	m := r.index[indexKey(kind, subject)]
	out := make([]indexEntry, 0, len(m))
	for member, data := range m {
		out = append(out, indexEntry{member: member, data: data})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].member < out[j].member })
	return out, nil
}

func (s *memStore) deleteIndex(repo, kind string, subject, member digest.Digest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repo(repo, false)
	if r == nil {
		return nil
	}
	k := indexKey(kind, subject)
	delete(r.index[k], member)
	if len(r.index[k]) == 0 {
		delete(r.index, k)
	}
	return nil
}
