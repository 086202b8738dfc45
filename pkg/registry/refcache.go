package registry

import (
	"bytes"
	"container/list"
	"hash/maphash"
	"sort"
	"sync"

	"github.com/opencontainers/go-digest"
)

// DefaultReferrersCacheSize bounds the memory the referrers cache holds.
const DefaultReferrersCacheSize = 64 << 20

// refCache keeps the referrers of recently listed subjects in memory,
// grouped by artifact type, with each listing encoded once: a listing
// answers from memory in time proportional to what it returns (the
// referrers of one artifact type when filtered), never re-reading the
// subject's index. A subject is loaded from the store on its first listing;
// manifest pushes and deletions then update it in place (this process is
// the only writer of its storage).
//
// Consistency: a load that raced with a push or deletion of one of the
// subject's referrers is used for its own answer but not kept (a
// generation counter per hash bucket says so). Memory is bounded by
// maxBytes, least recently listed subjects evicted first.
type refCache struct {
	mu       sync.Mutex
	maxBytes int
	used     int
	subjects map[refKey]*list.Element // of *refSubject
	lru      list.List                // front: most recently used
	seed     maphash.Seed
	gen      [256]uint64 // mutations per bucket of keys
}

type refKey struct {
	repo    string
	subject digest.Digest
}

// refSubject is the cached referrers of one subject.
type refSubject struct {
	key    refKey
	byType map[string]map[digest.Digest][]byte // artifactType → member → descriptor JSON
	bytes  int
	full   []byte            // the whole listing, encoded (nil: to encode)
	typed  map[string][]byte // one type's listing, encoded
}

func newRefCache(maxBytes int) *refCache {
	return &refCache{maxBytes: maxBytes, subjects: map[refKey]*list.Element{}, seed: maphash.MakeSeed()}
}

func (c *refCache) bucket(k refKey) int { return k.bucket(c.seed, len(c.gen)) }

// bucket hashes k, with seed, into one of n buckets.
func (k refKey) bucket(seed maphash.Seed, n int) int {
	var h maphash.Hash
	h.SetSeed(seed)
	h.WriteString(k.repo)
	h.WriteString(string(k.subject))
	return int(h.Sum64() % uint64(n))
}

// memFactor: a subject's entries, its encoded full listing and its
// encoded per-type listings each take about s.bytes.
const memFactor = 3

const (
	listingHead = `{"schemaVersion":2,"mediaType":"` + mtOCIIndex + `","manifests":[`
	listingTail = "]}\n"
)

// listing returns the encoded referrers listing of k (of one artifact type
// when filter is set), loading the subject with load on a miss.
func (c *refCache) listing(k refKey, filter string, load func() (*refSubject, error)) ([]byte, error) {
	c.mu.Lock()
	if e, ok := c.subjects[k]; ok {
		c.lru.MoveToFront(e)
		b := e.Value.(*refSubject).encode(filter)
		c.mu.Unlock()
		return b, nil
	}
	g := c.gen[c.bucket(k)]
	c.mu.Unlock()

	s, err := load()
	if err != nil {
		return nil, err
	}
	s.key = k
	c.mu.Lock()
	defer c.mu.Unlock()
	b := s.encode(filter)
	if _, ok := c.subjects[k]; !ok && c.gen[c.bucket(k)] == g && s.bytes*memFactor <= c.maxBytes {
		c.subjects[k] = c.lru.PushFront(s)
		c.used += s.bytes
		c.evict()
	}
	return b, nil
}

func (c *refCache) evict() {
	for c.used*memFactor > c.maxBytes && c.lru.Len() > 1 {
		e := c.lru.Back()
		s := e.Value.(*refSubject)
		c.lru.Remove(e)
		delete(c.subjects, s.key)
		c.used -= s.bytes
	}
}

// add records that member, a referrer of k of artifact type at described
// by desc, is stored (its manifest written).
func (c *refCache) add(k refKey, at string, member digest.Digest, desc []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen[c.bucket(k)]++
	e, ok := c.subjects[k]
	if !ok {
		return
	}
	s := e.Value.(*refSubject)
	before := s.bytes
	s.put(at, member, desc)
	c.used += s.bytes - before
	c.evict()
}

// remove records that member, a referrer of k, was deleted.
func (c *refCache) remove(k refKey, member digest.Digest) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen[c.bucket(k)]++
	e, ok := c.subjects[k]
	if !ok {
		return
	}
	s := e.Value.(*refSubject)
	before := s.bytes
	for at, m := range s.byType {
		if d, ok := m[member]; ok {
			s.bytes -= len(d) + len(member)
			delete(m, member)
			if len(m) == 0 {
				delete(s.byType, at)
			}
			s.full = nil
			delete(s.typed, at)
		}
	}
	c.used += s.bytes - before
}

func newRefSubject() *refSubject {
	return &refSubject{byType: map[string]map[digest.Digest][]byte{}, typed: map[string][]byte{}}
}

// newRefSubjectSorted returns the referrers entries (sorted by member, as
// loadSnapshotted returns them), with full as their full listing when it
// is not nil, encoded in the same pass otherwise.
func newRefSubjectSorted(entries []refEntry, full []byte) *refSubject {
	s := newRefSubject()
	var lastAt string // most referrers of a subject share few types
	for _, e := range entries {
		if string(e.at) != lastAt {
			lastAt = string(e.at)
		}
		s.put(lastAt, e.member, e.desc)
	}
	if full == nil {
		full = encodeRefListing(entries)
	}
	s.full = full
	return s
}

// put adds or replaces a referrer.
func (s *refSubject) put(at string, member digest.Digest, desc []byte) {
	for t, m := range s.byType {
		if old, ok := m[member]; ok {
			s.bytes -= len(old) + len(member)
			delete(m, member)
			delete(s.typed, t)
		}
	}
	m := s.byType[at]
	if m == nil {
		m = map[digest.Digest][]byte{}
		s.byType[at] = m
	}
	m[member] = desc
	s.bytes += len(desc) + len(member)
	s.full = nil
	delete(s.typed, at)
}

// encode returns the listing (one type's when filter is set), encoding it
// on first use: entries sorted by digest.
func (s *refSubject) encode(filter string) []byte {
	if filter == "" {
		if s.full == nil {
			var all []digest.Digest
			descs := make(map[digest.Digest][]byte, s.count())
			for _, m := range s.byType {
				for d, b := range m {
					all = append(all, d)
					descs[d] = b
				}
			}
			s.full = encodeListing(all, descs, s.bytes)
		}
		return s.full
	}
	if b, ok := s.typed[filter]; ok {
		return b
	}
	m := s.byType[filter]
	all := make([]digest.Digest, 0, len(m))
	size := 0
	for d, b := range m {
		all = append(all, d)
		size += len(b)
	}
	b := encodeListing(all, m, size)
	if len(m) > 0 {
		s.typed[filter] = b // absent types are not remembered: unbounded
	}
	return b
}

func (s *refSubject) count() int {
	n := 0
	for _, m := range s.byType {
		n += len(m)
	}
	return n
}

func encodeListing(members []digest.Digest, descs map[digest.Digest][]byte, size int) []byte {
	sort.Slice(members, func(i, j int) bool { return members[i] < members[j] })
	var b bytes.Buffer
	b.Grow(len(listingHead) + size + len(members) + len(listingTail))
	b.WriteString(listingHead)
	for i, d := range members {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(descs[d])
	}
	b.WriteString(listingTail)
	return b.Bytes()
}
