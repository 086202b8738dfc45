package registry

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/opencontainers/go-digest"
)

// The nested-referrers hint: a client about to follow the referrers of a
// subject's referrers (discover --depth) asks with
//
//	Signet-Want-Nested: 1
//
// on GET /v2/<name>/referrers/<digest>, and the answer carries
//
//	Signet-Nested-Referrers: none
//
// when no referrer of the subject — through the referrers API or the links
// API — is itself the subject of a referrer or a link in the repository,
// and "some" otherwise. With "none" the client has nothing to ask at the
// next level: one request instead of one (or two, with the links API) per
// referrer. The cost is one pass over the repository's subjects (the
// subjects with an index, usually few), each looked up among the
// subject's referrers; it is only paid by requests that ask.
const (
	HeaderWantNested = "Signet-Want-Nested"
	HeaderNested     = "Signet-Nested-Referrers"
)

// nestedReferrers reports whether a referrer or link of subject is itself
// the subject of a referrer or link in repo.
func (rg *Registry) nestedReferrers(repo string, subject digest.Digest) (bool, error) {
	for _, kind := range []string{indexReferrers, indexLinks} {
		subjects, err := rg.store.indexSubjects(repo, kind)
		if err != nil {
			return true, err
		}
		for _, t := range subjects {
			if t == subject {
				continue
			}
			for _, of := range []string{indexReferrers, indexLinks} {
				ok, err := rg.store.hasIndex(repo, of, subject, t)
				if err != nil || ok {
					return true, err
				}
			}
		}
	}
	return false, nil
}

// indexSubjects lists the subjects with an index of kind in repo (an
// emptied index may still be listed).
func (s *diskStore) indexSubjects(repo, kind string) ([]digest.Digest, error) {
	var out []digest.Digest
	for _, alg := range []digest.Algorithm{digest.SHA256, digest.SHA512} {
		ents, err := os.ReadDir(s.repoPath(repo, "_index", kind, alg.String()))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, e := range ents {
			if d, err := parseDigest(alg.String() + ":" + e.Name()); err == nil {
				out = append(out, d)
			}
		}
	}
	return out, nil
}

// hasIndex reports whether member is in subject's index of kind.
func (s *diskStore) hasIndex(repo, kind string, subject, member digest.Digest) (bool, error) {
	_, err := os.Stat(filepath.Join(s.indexDir(repo, kind, subject), indexFileName(member)))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

func (s *memStore) indexSubjects(repo, kind string) ([]digest.Digest, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	r := s.repo(repo, false)
	if r == nil {
		return nil, nil
	}
	var out []digest.Digest
	prefix := kind + "/"
	for k := range r.index {
		if len(k) > len(prefix) && k[:len(prefix)] == prefix {
			if d, err := parseDigest(k[len(prefix):]); err == nil {
				out = append(out, d)
			}
		}
	}
	return out, nil
}

func (s *memStore) hasIndex(repo, kind string, subject, member digest.Digest) (bool, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	r := s.repo(repo, false)
	if r == nil {
		return false, nil
	}
	_, ok := r.index[indexKey(kind, subject)][member]
	return ok, nil
}
