package registry

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"hash/maphash"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/opencontainers/go-digest"
)

// Referrers snapshots: the first listing of a subject after a start.
//
// A subject's referrers index (store_disk.go) is one small file per
// referrer, written before the referrer's manifest; a listing shows the
// entries whose manifest exists. Read that way, a subject with 10,000
// referrers costs 10,000 opens and reads plus 10,000 stats. A snapshot is
// one file next to the entries,
//
//	repos/<name>/_index/referrers/<alg>/<hex>/_snapshot
//
// holding entries that were verified (their manifest existed) when it was
// written. A listing then reads the directory's names (the entries, the
// authority on which referrers may exist), the snapshot, and only the
// entries the snapshot lacks one by one (pushed since it was written, or
// interrupted by a crash): their manifest is checked as before.
//
// Why an entry in both the directory and the snapshot is still a stored
// referrer: a manifest is only ever removed by a DELETE, and a DELETE of a
// referrer removes the subject's snapshot (durably) before it removes the
// manifest; no snapshot is published while such a DELETE is in progress,
// nor one computed before a DELETE began (snapCoord). A crash in the
// middle of a DELETE leaves no snapshot, so the next listing checks every
// entry. A push needs nothing: its entry is not in an older snapshot.
//
// Snapshots are written after a listing that had to check entries one by
// one, and in the background a few seconds after pushes to a subject (and
// at Close), so that a registry restarted after a burst of pushes answers
// its first listing from the snapshot. A snapshot that is missing, corrupt
// (checksum) or of another subject is ignored and written again: it can
// always be rebuilt from the entries and the manifests.

const (
	snapshotName  = "_snapshot"
	snapshotMagic = "signet referrers snapshot 1\n"
	snapshotDelay = 2 * time.Second // from a push to the refresh of its subject's snapshot
	// snapshotMinEntries: a subject with fewer referrers gets no snapshot
	// (reading its entries costs less than a snapshot's fsyncs; images
	// signed once each would otherwise double the fsyncs of their pushes).
	snapshotMinEntries = 64
)

var crc32c = crc32.MakeTable(crc32.Castagnoli)

// snapshotStore is implemented by stores whose subject indexes are
// expensive to read on a cold start (diskStore).
type snapshotStore interface {
	// indexNames lists the file names of subject's index of kind,
	// unsorted (nil when there is none).
	indexNames(repo, kind string, subject digest.Digest) ([]string, error)
	// readIndexEntry reads one entry, by file name.
	readIndexEntry(repo, kind string, subject digest.Digest, name string) ([]byte, error)
	// readSnapshot returns subject's referrers snapshot (encodeSnapshot),
	// or nil when there is none.
	readSnapshot(repo string, subject digest.Digest) []byte
	// writeSnapshot writes b as subject's snapshot: atomically, the
	// rename into place done through publish (which may refuse it).
	writeSnapshot(repo string, subject digest.Digest, b []byte, publish func(rename func() error) error) error
	// dropSnapshot removes subject's snapshot durably.
	dropSnapshot(repo string, subject digest.Digest) error
}

func (s *diskStore) snapshotPath(repo string, subject digest.Digest) string {
	return filepath.Join(s.indexDir(repo, indexReferrers, subject), snapshotName)
}

func (s *diskStore) indexNames(repo, kind string, subject digest.Digest) ([]string, error) {
	f, err := os.Open(s.indexDir(repo, kind, subject))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	defer f.Close()
	return f.Readdirnames(-1)
}

func (s *diskStore) readIndexEntry(repo, kind string, subject digest.Digest, name string) ([]byte, error) {
	return readSmall(filepath.Join(s.indexDir(repo, kind, subject), name))
}

func (s *diskStore) readSnapshot(repo string, subject digest.Digest) []byte {
	b, err := os.ReadFile(s.snapshotPath(repo, subject))
	if err != nil {
		return nil
	}
	return b
}

func (s *diskStore) writeSnapshot(repo string, subject digest.Digest, b []byte, publish func(rename func() error) error) error {
	// The directory's fsync after the rename is not under publish's lock:
	// until it is durable, a crash leaves the previous snapshot, valid too
	// (a DELETE since would have removed it).
	return s.replaceFile(s.snapshotPath(repo, subject), b, publish)
}

func (s *diskStore) dropSnapshot(repo string, subject digest.Digest) error {
	path := s.snapshotPath(repo, subject)
	if err := os.Remove(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	return syncDir(filepath.Dir(path))
}

// refEntry is a referrer as listed: its digest, artifact type and
// descriptor (JSON).
type refEntry struct {
	member   digest.Digest
	at, desc []byte
}

func sortRefEntries(entries []refEntry) {
	slices.SortFunc(entries, func(a, b refEntry) int { return strings.Compare(string(a.member), string(b.member)) })
}

// encodeListing, in the order of entries.
func encodeRefListing(entries []refEntry) []byte {
	size := len(listingHead) + len(listingTail)
	for _, e := range entries {
		size += len(e.desc) + 1
	}
	b := make([]byte, 0, size)
	b = append(b, listingHead...)
	for i, e := range entries {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, e.desc...)
	}
	return append(b, listingTail...)
}

// A snapshot is
//
//	signet referrers snapshot 1\n
//	<subject digest>\n
//	<n>                                 uvarint
//	n × <name> <artifactType> <size>    uvarint-length-prefixed strings, uvarint
//	<the full listing, as served>       listingHead, the n descriptors (of the sizes above) joined by commas, listingTail
//	<CRC-32C of all of the above>       4 bytes, big endian
//
// with the entries sorted by member, so that a listing answered from the
// snapshot alone serves its bytes as they are.
func encodeSnapshot(subject digest.Digest, entries []refEntry) []byte {
	entries = slices.Clone(entries)
	sortRefEntries(entries)
	listing := encodeRefListing(entries)
	b := make([]byte, 0, len(snapshotMagic)+len(subject)+1+len(entries)*(len(subject)+64)+len(listing)+4)
	b = append(b, snapshotMagic...)
	b = append(append(b, subject...), '\n')
	b = binary.AppendUvarint(b, uint64(len(entries)))
	for _, e := range entries {
		name := indexFileName(e.member)
		b = binary.AppendUvarint(b, uint64(len(name)))
		b = append(b, name...)
		b = binary.AppendUvarint(b, uint64(len(e.at)))
		b = append(b, e.at...)
		b = binary.AppendUvarint(b, uint64(len(e.desc)))
	}
	b = append(b, listing...)
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b, crc32c))
}

// snapRecord is an entry of a snapshot.
type snapRecord struct {
	name, at, desc []byte
}

var errBadSnapshot = errors.New("invalid referrers snapshot")

// decodeSnapshot returns the entries of a snapshot of subject and its
// full listing; all share b.
func decodeSnapshot(b []byte, subject digest.Digest) ([]snapRecord, []byte, error) {
	if len(b) < 4 {
		return nil, nil, errBadSnapshot
	}
	body := b[:len(b)-4]
	if crc32.Checksum(body, crc32c) != binary.BigEndian.Uint32(b[len(b)-4:]) {
		return nil, nil, errBadSnapshot
	}
	head := snapshotMagic + subject.String() + "\n"
	if !bytes.HasPrefix(body, []byte(head)) {
		return nil, nil, errBadSnapshot
	}
	body = body[len(head):]
	num := func() (int, bool) {
		n, k := binary.Uvarint(body)
		if k <= 0 || n > uint64(len(body)) {
			return 0, false
		}
		body = body[k:]
		return int(n), true
	}
	str := func() ([]byte, bool) {
		n, ok := num()
		if !ok || n > len(body) {
			return nil, false
		}
		v := body[:n]
		body = body[n:]
		return v, true
	}
	count, ok := num()
	if !ok || count > len(body) {
		return nil, nil, errBadSnapshot
	}
	recs := make([]snapRecord, count)
	sizes := make([]int, count)
	for i := range recs {
		var ok1, ok2, ok3 bool
		recs[i].name, ok1 = str()
		recs[i].at, ok2 = str()
		sizes[i], ok3 = num()
		if !ok1 || !ok2 || !ok3 {
			return nil, nil, errBadSnapshot
		}
	}
	listing := body
	if !bytes.HasPrefix(body, []byte(listingHead)) {
		return nil, nil, errBadSnapshot
	}
	body = body[len(listingHead):]
	for i := range recs {
		if i > 0 {
			if len(body) == 0 || body[0] != ',' {
				return nil, nil, errBadSnapshot
			}
			body = body[1:]
		}
		if sizes[i] > len(body) {
			return nil, nil, errBadSnapshot
		}
		recs[i].desc = body[:sizes[i]]
		body = body[sizes[i]:]
	}
	if string(body) != listingTail {
		return nil, nil, errBadSnapshot
	}
	return recs, listing, nil
}

// memberOf returns the digest an index entry file name stands for.
func memberOf(name string) (digest.Digest, bool) {
	alg, hex, ok := strings.Cut(name, "-")
	if !ok {
		return "", false
	}
	d, err := parseDigest(alg + ":" + hex)
	return d, err == nil
}

// loadSnapshotted reads subject's referrers from a snapshot store: the
// entries the snapshot has, and the others checked one by one. It returns
// the entries listed, sorted by member; the full listing when the
// snapshot's is exactly it; and how many entries were checked one by one,
// or -1 when the snapshot must be rewritten anyway (none, invalid, or
// naming entries that are gone).
func (rg *Registry) loadSnapshotted(ss snapshotStore, repo string, subject digest.Digest) (entries []refEntry, full []byte, checked int, err error) {
	// The snapshot is read and decoded while the directory is.
	var snap []snapRecord
	decoded := make(chan struct{})
	go func() {
		defer close(decoded)
		if b := ss.readSnapshot(repo, subject); b != nil {
			var err error
			if snap, full, err = decodeSnapshot(b, subject); err != nil {
				snap, full = nil, nil
			}
		}
	}()
	names, err := ss.indexNames(repo, indexReferrers, subject)
	if err != nil || len(names) == 0 {
		<-decoded
		return nil, nil, 0, err
	}
	at := make(map[string]int, len(names)) // file name → index in names
	for i, n := range names {
		at[n] = i
	}
	<-decoded
	if snap == nil {
		checked = -1
	}
	inSnap := make([]bool, len(names))
	entries = make([]refEntry, 0, len(names))
	for _, r := range snap {
		i, ok := at[string(r.name)]
		if !ok || inSnap[i] {
			checked = -1 // deleted since (or a duplicate): rewrite it
			full = nil
			continue
		}
		// Written by this registry from a name it parsed: trusted.
		inSnap[i] = true
		n := names[i]
		sep := strings.IndexByte(n, '-')
		entries = append(entries, refEntry{member: digest.Digest(n[:sep] + ":" + n[sep+1:]), at: r.at, desc: r.desc})
	}
	var rest []string
	for i, n := range names {
		if !inSnap[i] && n != snapshotName {
			rest = append(rest, n)
		}
	}
	if len(rest) == 0 {
		return entries, full, checked, nil // sorted: the snapshot is
	}
	full = nil
	slots := make([]refEntry, len(rest))
	err = forEachParallel(len(rest), func(i int) error {
		member, ok := memberOf(rest[i])
		if !ok {
			return nil
		}
		data, err := ss.readIndexEntry(repo, indexReferrers, subject, rest[i])
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // deleted concurrently
			}
			return err
		}
		at, desc, ok := bytes.Cut(data, []byte{'\n'})
		if !ok {
			return nil // not written by this registry
		}
		stored, err := rg.store.hasManifest(repo, member)
		if err != nil || !stored {
			return err
		}
		slots[i] = refEntry{member: member, at: at, desc: desc}
		return nil
	})
	if err != nil {
		return nil, nil, 0, err
	}
	for _, e := range slots {
		if e.member != "" {
			entries = append(entries, e)
		}
	}
	if checked >= 0 {
		checked = len(rest)
	}
	sortRefEntries(entries)
	return entries, nil, checked, nil
}

// snapCoord orders snapshot writes with referrer DELETEs (see above) and
// schedules background snapshot writes after pushes.
type snapCoord struct {
	rg   *Registry
	ss   snapshotStore
	seed maphash.Seed

	mu      sync.Mutex
	gen     [256]uint64 // DELETE starts and ends per bucket of subjects
	busy    [256]int    // DELETEs in progress per bucket
	writing map[refKey]bool
	pending map[refKey]bool // pushed to since their last snapshot
	timer   *time.Timer
	closed  bool
	wg      sync.WaitGroup // snapshot writes in progress

	minEntries int // snapshotMinEntries (tests lower it)
}

func newSnapCoord(rg *Registry, ss snapshotStore) *snapCoord {
	return &snapCoord{rg: rg, ss: ss, seed: maphash.MakeSeed(), writing: map[refKey]bool{}, pending: map[refKey]bool{}, minEntries: snapshotMinEntries}
}

func (c *snapCoord) bucket(k refKey) int { return k.bucket(c.seed, len(c.gen)) }

// generation returns the generation a snapshot computed from now on is
// published against; ok is false while a DELETE is in progress.
func (c *snapCoord) generation(k refKey) (g uint64, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b := c.bucket(k)
	return c.gen[b], c.busy[b] == 0
}

// deleting is called before a DELETE of a referrer of k removes its
// manifest: it drops k's snapshot; the function returned is called once
// the DELETE is over.
func (c *snapCoord) deleting(k refKey) (func(), error) {
	b := c.bucket(k)
	c.mu.Lock()
	c.busy[b]++
	c.gen[b]++
	c.mu.Unlock()
	done := func() {
		c.mu.Lock()
		c.busy[b]--
		c.gen[b]++
		c.mu.Unlock()
	}
	if err := c.ss.dropSnapshot(k.repo, k.subject); err != nil {
		done()
		return nil, err
	}
	return done, nil
}

var errSnapshotStale = errors.New("referrers snapshot outdated before it was published")

// save writes entries, computed from generation g on, as k's snapshot,
// unless a DELETE of a referrer of k began since (or they are too few to
// be worth one: a snapshot already there, missing some, stays valid).
func (c *snapCoord) save(k refKey, g uint64, entries []refEntry) {
	c.mu.Lock()
	if c.writing[k] || len(entries) < c.minEntries {
		if c.writing[k] {
			c.schedule(k) // entries the one being written may lack
		}
		c.mu.Unlock()
		return
	}
	c.writing[k] = true
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.writing, k)
		c.mu.Unlock()
	}()
	b := c.bucket(k)
	err := c.ss.writeSnapshot(k.repo, k.subject, encodeSnapshot(k.subject, entries), func(rename func() error) error {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.gen[b] != g || c.busy[b] > 0 {
			return errSnapshotStale
		}
		return rename()
	})
	if err != nil && !errors.Is(err, errSnapshotStale) {
		c.rg.log.Warn("referrers snapshot not written (the next listing reads the index entries)", "repo", k.repo, "subject", k.subject.String(), "err", err)
	}
}

// saveAsync is save on its own goroutine (after a listing: the answer does
// not wait for it).
func (c *snapCoord) saveAsync(k refKey, g uint64, entries []refEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		c.save(k, g, entries)
	}()
}

// pushed records that a referrer of k was pushed: k's snapshot is
// refreshed snapshotDelay later (or at close).
func (c *snapCoord) pushed(k refKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.schedule(k)
}

// schedule refreshes k's snapshot snapshotDelay from now (c.mu held).
func (c *snapCoord) schedule(k refKey) {
	if c.closed {
		return
	}
	c.pending[k] = true
	if c.timer == nil {
		c.wg.Add(1)
		c.timer = time.AfterFunc(snapshotDelay, func() {
			defer c.wg.Done()
			c.flush()
		})
	}
}

// flush refreshes the snapshots of the subjects pushed to.
func (c *snapCoord) flush() {
	c.mu.Lock()
	keys := make([]refKey, 0, len(c.pending))
	for k := range c.pending {
		keys = append(keys, k)
	}
	clear(c.pending)
	c.timer = nil
	c.mu.Unlock()
	for _, k := range keys {
		c.refresh(k)
	}
}

// refresh rewrites k's snapshot if it misses entries.
func (c *snapCoord) refresh(k refKey) {
	g, ok := c.generation(k)
	if !ok {
		c.mu.Lock()
		c.schedule(k) // a DELETE is in progress: later
		c.mu.Unlock()
		return
	}
	entries, _, checked, err := c.rg.loadSnapshotted(c.ss, k.repo, k.subject)
	if err != nil {
		c.rg.log.Warn("referrers snapshot not refreshed", "repo", k.repo, "subject", k.subject.String(), "err", err)
		return
	}
	if checked != 0 {
		c.save(k, g, entries)
	}
}

// close writes the snapshots still due and waits for those in progress.
func (c *snapCoord) close() {
	c.mu.Lock()
	c.closed = true
	t := c.timer
	c.mu.Unlock()
	if t != nil && t.Stop() {
		c.flush()
		c.wg.Done()
	}
	c.wg.Wait()
}
