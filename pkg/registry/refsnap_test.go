package registry

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"net/http"
	"os"
	"slices"
	"sort"
	"sync"
	"testing"

	"github.com/opencontainers/go-digest"
)

// snapFixture is a disk registry that can be restarted on its root.
type snapFixture struct {
	t       *testing.T
	root    string
	rg      *Registry
	base    string
	subject digest.Digest
	want    map[digest.Digest]bool // the referrers of subject stored
}

func newSnapFixture(t *testing.T) *snapFixture {
	f := &snapFixture{t: t, root: t.TempDir(), subject: digest.FromString("snapshot subject"), want: map[digest.Digest]bool{}}
	f.rg, f.base = newTestRegistry(t, Config{Root: f.root})
	f.rg.snaps.minEntries = 1
	pushBlob(t, f.base, "r", []byte("{}"))
	pushBlob(t, f.base, "r", []byte("x"))
	return f
}

func (f *snapFixture) key() refKey { return refKey{"r", f.subject} }

// restart stops the registry (as a graceful shutdown does) and starts a
// new one on the same root.
func (f *snapFixture) restart() {
	f.t.Helper()
	if err := f.rg.Close(); err != nil {
		f.t.Fatal(err)
	}
	f.rg, f.base = newTestRegistry(f.t, Config{Root: f.root})
	f.rg.snaps.minEntries = 1
}

func (f *snapFixture) push(at string, n int) digest.Digest {
	f.t.Helper()
	m := typedReferrer(f.subject, at, n)
	d := digest.FromBytes(m)
	pushManifest(f.t, f.base, "r", d.String(), mtOCIManifest, m)
	f.want[d] = true
	return d
}

func (f *snapFixture) delete(d digest.Digest) {
	f.t.Helper()
	if resp, body := do(f.t, http.MethodDelete, f.base+"/v2/r/manifests/"+d.String(), "", nil); resp.StatusCode != http.StatusAccepted {
		f.t.Fatalf("delete %s: %s %s", d, resp.Status, body)
	}
	delete(f.want, d)
}

// check lists the subject's referrers over HTTP and compares them with
// what was stored.
func (f *snapFixture) check(when string) {
	f.t.Helper()
	var want []string
	for d := range f.want {
		want = append(want, d.String())
	}
	sort.Strings(want)
	got, _ := listReferrers(f.t, f.base, f.subject, "")
	if fmt.Sprint(got) != fmt.Sprint(want) {
		f.t.Errorf("%s: listed %d referrers %v, want %d %v", when, len(got), got, len(want), want)
	}
}

// snapshot returns the members of the subject's snapshot on disk (nil:
// none, or not valid), once the snapshot writes in progress are done.
func (f *snapFixture) snapshot() map[string]bool {
	f.t.Helper()
	f.rg.snaps.wg.Wait()
	m, _, err := decodeSnapshot(f.rg.store.(*diskStore).readSnapshot("r", f.subject), f.subject)
	if err != nil {
		return nil
	}
	out := map[string]bool{}
	for _, r := range m {
		out[string(r.name)] = true
	}
	return out
}

func (f *snapFixture) snapshotPath() string {
	return f.rg.store.(*diskStore).snapshotPath("r", f.subject)
}

// wantSnapshot checks that the subject's snapshot holds exactly the
// stored referrers.
func (f *snapFixture) wantSnapshot(when string) {
	f.t.Helper()
	got := f.snapshot()
	if got == nil {
		f.t.Fatalf("%s: no valid snapshot at %s", when, f.snapshotPath())
	}
	if len(got) != len(f.want) {
		f.t.Errorf("%s: snapshot holds %d entries, want %d", when, len(got), len(f.want))
	}
	for d := range f.want {
		if !got[indexFileName(d)] {
			f.t.Errorf("%s: snapshot lacks %s", when, d)
		}
	}
}

// TestReferrersSnapshotRestart: referrers pushed, then the registry
// restarted: the first listing comes from the snapshot written at
// shutdown (no entry read one by one) and equals what was pushed; a
// deleted referrer, a corrupt, foreign or missing snapshot never change
// what is listed, and the snapshot is rebuilt.
func TestReferrersSnapshotRestart(t *testing.T) {
	f := newSnapFixture(t)
	var sigs []digest.Digest
	for i := range 30 {
		f.push("application/vnd.example.sbom", i)
		if i%10 == 0 {
			sigs = append(sigs, f.push("application/vnd.cncf.notary.signature", i))
		}
	}
	f.restart()
	f.wantSnapshot("after a shutdown")
	entries, full, checked, err := f.rg.loadSnapshotted(f.rg.store.(snapshotStore), "r", f.subject)
	if err != nil || checked != 0 || len(entries) != len(f.want) || full == nil {
		t.Errorf("cold load: %d entries, %d checked one by one, listing from the snapshot %v, %v; want %d, 0, true", len(entries), checked, full != nil, err, len(f.want))
	}
	f.check("restarted")
	// Served as the snapshot holds it: the same bytes as encoded from
	// the entries.
	resp, body := do(t, http.MethodGet, f.base+"/v2/r/referrers/"+f.subject.String(), "", nil)
	enc := newRefSubject()
	for _, e := range entries {
		enc.put(string(e.at), e.member, e.desc)
	}
	if want := enc.encode(""); resp.StatusCode != http.StatusOK || string(body) != string(want) {
		t.Errorf("listing from the snapshot: %s\n%s\nwant\n%s", resp.Status, body, want)
	}
	if got, applied := listReferrers(t, f.base, f.subject, "application/vnd.cncf.notary.signature"); len(got) != len(sigs) || !applied {
		t.Errorf("filtered: %v (applied %v), want %d signatures", got, applied, len(sigs))
	}

	// A DELETE removes the snapshot before the manifest.
	f.delete(sigs[0])
	if _, err := os.Stat(f.snapshotPath()); !os.IsNotExist(err) {
		t.Errorf("snapshot still there after a DELETE of a referrer: %v", err)
	}
	f.check("after a DELETE")
	f.restart()
	f.check("restarted after a DELETE")
	f.wantSnapshot("rebuilt by the first listing after a DELETE")

	damage := map[string]func(b []byte) []byte{
		"a flipped byte": func(b []byte) []byte { b[len(b)/2] ^= 0x20; return b },
		"truncated":      func(b []byte) []byte { return b[:len(b)-7] },
		"empty":          func([]byte) []byte { return nil },
		"garbage":        func([]byte) []byte { return []byte("not a snapshot\n") },
		"another subject's": func([]byte) []byte {
			var others []refEntry
			for d := range f.want {
				others = append(others, refEntry{member: d, at: []byte("t"), desc: []byte("{}")})
			}
			return encodeSnapshot(digest.FromString("another subject"), others)
		},
	}
	for what, fn := range damage {
		b, err := os.ReadFile(f.snapshotPath())
		if err != nil {
			t.Fatal(err)
		}
		must(t, f.rg.Close())
		must(t, os.WriteFile(f.snapshotPath(), fn(b), 0o644))
		f.restart()
		f.check("restarted with " + what + " snapshot")
		f.wantSnapshot("rebuilt after " + what + " snapshot")
	}

	must(t, f.rg.Close())
	must(t, os.Remove(f.snapshotPath()))
	f.restart()
	f.check("restarted without a snapshot")
	f.wantSnapshot("rebuilt after it was removed")

	// Pushed while running, killed before any snapshot refresh: the new
	// entries are not in the snapshot and are checked one by one.
	f.rg.snaps.close() // no refresh from now on: as if killed
	d := f.push("application/vnd.example.sbom", 1000)
	if f.snapshot()[indexFileName(d)] {
		t.Fatal("the snapshot was refreshed after close")
	}
	f.restart()
	f.check("restarted after a push the snapshot missed")
	f.wantSnapshot("rebuilt after a push it missed")
}

// TestReferrersSnapshotCrashStates: the states a crash (kill -9) can leave
// between the steps of a push or a DELETE are listed as the manifests on
// disk say.
func TestReferrersSnapshotCrashStates(t *testing.T) {
	f := newSnapFixture(t)
	for i := range 10 {
		f.push("application/vnd.example.sbom", i)
	}
	f.restart()
	f.wantSnapshot("after a shutdown")

	// A push killed between its index entry and its manifest.
	m := typedReferrer(f.subject, "application/vnd.example.sbom", 500)
	d := digest.FromBytes(m)
	var mf manifestFields
	must(t, json.Unmarshal(m, &mf))
	entry, err := referrerEntry(mtOCIManifest, d, len(m), &mf)
	must(t, err)
	must(t, f.rg.store.putIndex("r", indexReferrers, f.subject, indexEntry{member: d, data: entry}))
	f.restart()
	f.check("entry without its manifest")
	f.wantSnapshot("entry without its manifest")
	pushManifest(t, f.base, "r", d.String(), mtOCIManifest, m) // the client retries
	f.want[d] = true
	f.check("after the retried push")
	f.restart()
	f.check("restarted after the retried push")
	f.wantSnapshot("after the retried push")

	// A DELETE killed after the manifest went, before its index entry
	// did: the entry is still there, and it is in no snapshot.
	var gone digest.Digest
	for d := range f.want {
		gone = d
		break
	}
	_, err = f.rg.snaps.deleting(f.key()) // never done: killed
	must(t, err)
	must(t, f.rg.store.deleteManifest("r", gone))
	delete(f.want, gone)
	if ok, _ := f.rg.store.hasIndex("r", indexReferrers, f.subject, gone); !ok {
		t.Fatal("the index entry should still be there")
	}
	if f.snapshot() != nil {
		t.Error("a snapshot survived the start of a DELETE")
	}
	f.restart()
	f.check("DELETE interrupted after the manifest")
	f.wantSnapshot("DELETE interrupted after the manifest")

	// A snapshot computed before a DELETE began is not published.
	g, ok := f.rg.snaps.generation(f.key())
	entries, _, _, err := f.rg.loadSnapshotted(f.rg.store.(snapshotStore), "r", f.subject)
	if !ok || err != nil {
		t.Fatalf("generation: %v, load: %v", ok, err)
	}
	var victim digest.Digest
	for d := range f.want {
		victim = d
		break
	}
	f.delete(victim)
	f.rg.snaps.save(f.key(), g, entries)
	if f.snapshot() != nil {
		t.Error("a snapshot computed before a DELETE was published")
	}
	// Had it been, a DELETE killed between manifest and entry would list
	// the victim: put its entry back as such a crash leaves it.
	for _, e := range entries {
		if e.member == victim {
			must(t, f.rg.store.putIndex("r", indexReferrers, f.subject, indexEntry{member: e.member, data: slices.Concat(e.at, []byte{'\n'}, e.desc)}))
		}
	}
	f.restart()
	f.check("after a DELETE racing with a snapshot")
}

// TestReferrersSnapshotConcurrent: pushes and DELETEs from many clients
// while snapshots are refreshed and cold loads run; after a restart the
// listing equals what is stored, and so does the snapshot.
func TestReferrersSnapshotConcurrent(t *testing.T) {
	f := newSnapFixture(t)
	const workers, each = 6, 20
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				n := w*1000 + i
				m := typedReferrer(f.subject, "application/vnd.example.sbom", n)
				d := digest.FromBytes(m)
				if resp, body := do(t, http.MethodPut, f.base+"/v2/r/manifests/"+d.String(), mtOCIManifest, m); resp.StatusCode != http.StatusCreated {
					t.Errorf("push: %s %s", resp.Status, body)
					return
				}
				mu.Lock()
				f.want[d] = true
				mu.Unlock()
				if i%4 == 3 {
					if resp, _ := do(t, http.MethodDelete, f.base+"/v2/r/manifests/"+d.String(), "", nil); resp.StatusCode != http.StatusAccepted {
						t.Errorf("delete: %s", resp.Status)
						return
					}
					mu.Lock()
					delete(f.want, d)
					mu.Unlock()
				}
			}
		})
	}
	for range 3 {
		wg.Go(func() {
			for range 10 {
				f.rg.snaps.refresh(f.key())
				if _, err := f.rg.loadReferrers("r", f.subject); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	f.check("after concurrent pushes and deletes")
	f.restart()
	f.wantSnapshot("after concurrent pushes and deletes")
	f.check("restarted after concurrent pushes and deletes")
}

// TestSnapshotEncoding: a snapshot decodes to its entries, sorted, and
// its listing; any truncation, a wrong checksum, another subject, or
// well-checksummed nonsense is refused (never a panic).
func TestSnapshotEncoding(t *testing.T) {
	subject := digest.FromString("s")
	var in []refEntry
	for _, n := range []string{"c", "a", "b"} {
		d := digest.FromString(n)
		in = append(in, refEntry{member: d, at: []byte("type/" + n), desc: []byte(`{"digest":"` + d.String() + `"}`)})
	}
	b := encodeSnapshot(subject, in)
	recs, listing, err := decodeSnapshot(b, subject)
	if err != nil || len(recs) != 3 {
		t.Fatalf("decode: %d records, %v", len(recs), err)
	}
	sorted := slices.Clone(in)
	sortRefEntries(sorted)
	for i, r := range recs {
		if string(r.name) != indexFileName(sorted[i].member) || string(r.at) != string(sorted[i].at) || string(r.desc) != string(sorted[i].desc) {
			t.Errorf("record %d: %s %s %s, want %s", i, r.name, r.at, r.desc, sorted[i].member)
		}
	}
	if string(listing) != string(encodeRefListing(sorted)) {
		t.Errorf("listing %s", listing)
	}
	for n := range len(b) {
		if _, _, err := decodeSnapshot(b[:n], subject); err == nil {
			t.Errorf("truncated to %d bytes: accepted", n)
		}
	}
	if _, _, err := decodeSnapshot(b, digest.FromString("other")); err == nil {
		t.Error("another subject's snapshot accepted")
	}
	bad := slices.Clone(b)
	bad[len(bad)-1] ^= 1
	if _, _, err := decodeSnapshot(bad, subject); err == nil {
		t.Error("a wrong checksum accepted")
	}
	head := []byte(snapshotMagic + subject.String() + "\n")
	for _, body := range []string{"\x05", "\x01\x03abc", "\x01\x01a\x01b\x7f" + listingHead + listingTail, "\x00{}", "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"} {
		nonsense := append(slices.Clone(head), body...)
		nonsense = binary.BigEndian.AppendUint32(nonsense, crc32.Checksum(nonsense, crc32c))
		if _, _, err := decodeSnapshot(nonsense, subject); err == nil {
			t.Errorf("nonsense %q accepted", body)
		}
	}
}

// TestReferrersSnapshotSmallSubjects: a subject with fewer referrers than
// snapshotMinEntries gets no snapshot (its entries are cheap to read) and
// is listed right after a restart all the same.
func TestReferrersSnapshotSmallSubjects(t *testing.T) {
	f := newSnapFixture(t)
	f.rg.snaps.minEntries = snapshotMinEntries
	for i := range snapshotMinEntries - 1 {
		f.push("application/vnd.example.sbom", i)
	}
	f.check("small subject")
	if err := f.rg.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(f.snapshotPath()); !os.IsNotExist(err) {
		t.Errorf("a subject of %d referrers got a snapshot: %v", snapshotMinEntries-1, err)
	}
	f.rg, f.base = newTestRegistry(t, Config{Root: f.root})
	f.check("small subject, restarted")
	f.push("application/vnd.example.sbom", 1000)
	f.restart()
	f.wantSnapshot(fmt.Sprintf("%d referrers", snapshotMinEntries))
	f.check("restarted with a snapshot")
}

// FuzzDecodeSnapshot: whatever a snapshot file holds (checksummed, so that
// the fuzzer gets past the checksum), decoding never panics, and what it
// accepts is a listing whose descriptors are the records'.
func FuzzDecodeSnapshot(f *testing.F) {
	subject := digest.FromString("s")
	head := snapshotMagic + subject.String() + "\n"
	d := digest.FromString("m")
	valid := encodeSnapshot(subject, []refEntry{{member: d, at: []byte("t"), desc: []byte(`{"digest":"` + d.String() + `"}`)}})
	f.Add(valid[len(head) : len(valid)-4])
	f.Add([]byte("\x00" + listingHead + listingTail))
	f.Add([]byte("\x02\x01a\x00\x00\x01b\x00\x00" + listingHead + "," + listingTail))
	f.Fuzz(func(t *testing.T, body []byte) {
		b := append([]byte(head), body...)
		b = binary.BigEndian.AppendUint32(b, crc32.Checksum(b, crc32c))
		recs, listing, err := decodeSnapshot(b, subject)
		if err != nil {
			return
		}
		if !bytes.HasPrefix(listing, []byte(listingHead)) || !bytes.HasSuffix(listing, []byte(listingTail)) {
			t.Fatalf("accepted a listing %q", listing)
		}
		for _, r := range recs {
			if !bytes.Contains(listing, r.desc) {
				t.Fatalf("record %q outside the listing", r.desc)
			}
		}
	})
}

// TestReferrersSnapshotRefreshRetried: a refresh that meets a snapshot
// write in progress for the subject is done again later (here: at
// shutdown), so the snapshot ends up holding the pushes it would miss.
func TestReferrersSnapshotRefreshRetried(t *testing.T) {
	f := newSnapFixture(t)
	for i := range 3 {
		f.push("application/vnd.example.sbom", i)
	}
	c := f.rg.snaps
	c.mu.Lock()
	c.writing[f.key()] = true // another write in progress
	clear(c.pending)
	c.mu.Unlock()
	c.refresh(f.key())
	c.mu.Lock()
	again := c.pending[f.key()]
	delete(c.writing, f.key())
	c.mu.Unlock()
	if !again {
		t.Error("a refresh meeting a write in progress was dropped")
	}
	f.restart()
	f.wantSnapshot("after the retried refresh")
	f.check("restarted")
}
