package remote

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"mime"
	"net/http"
	"time"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/signet-oci/signet/pkg/reference"
)

// The referrers tag fallback (OCI distribution-spec v1.1, "Referrers Tag
// Schema"): on a registry without the referrers API, the referrers of a
// subject are listed in an image index tagged <alg>-<hex> of the subject's
// digest, which clients maintain themselves. Two clients that read the
// index, add their entry and write it back at the same time lose one of
// the entries (a lost update); UpdateReferrersIndex is the one place in
// signet that writes that index, and it does not lose entries:
//
//   - the write is conditional where the registry offers it: If-Match with
//     the ETag of the index read, If-None-Match: * when there was none. A
//     412 answer means another writer came first: read again and merge.
//   - where the registry ignores the conditions (distribution v3.1.2 does),
//     the write is verified by reading the tag back, once immediately when
//     there has been contention, and again after a settle delay, long
//     enough that any other signet writer that read the index before this
//     write has written by then (a signet writer never writes an index read
//     more than MaxStale ago). An entry found missing is merged again, with
//     a jittered back-off, up to MaxAttempts times.
//   - the superseded index is never deleted: another writer may have just
//     read it (or be about to write the same bytes, whose deletion would
//     take the tag with it on registries that untag by digest). It stays as
//     an untagged manifest for the registry's garbage collection.
//
// docs/reliability.md states the guarantee per registry kind and the window
// that remains.

// Defaults of IndexUpdateOptions.
const (
	DefaultIndexMaxAttempts = 50
	DefaultIndexSettleDelay = time.Second
	DefaultIndexMaxStale    = 100 * time.Millisecond
	maxIndexSettleDelay     = 10 * time.Second
	indexBackoffBase        = 20 * time.Millisecond
	indexBackoffMax         = time.Second
)

// IndexChange is what to change in a subject's referrers index: entries to
// add (by digest: an entry already there is kept) and digests to remove.
type IndexChange struct {
	Add    []ocispec.Descriptor
	Remove []digest.Digest
}

// IndexUpdateOptions tune UpdateReferrersIndex; the zero value is the
// defaults.
type IndexUpdateOptions struct {
	// MaxAttempts bounds the read-merge-write rounds (default 50).
	MaxAttempts int
	// SettleDelay is the wait before the final verification on a registry
	// not known to honour conditional writes (default 1s; at least
	// MaxStale plus four times the duration of this writer's index GET and
	// PUT, at most 10s).
	SettleDelay time.Duration
	// MaxStale is the longest this writer waits between receiving the
	// index and starting to write it back; past it, the index is read
	// again (default 100ms). Network time is not counted: the settle delay
	// grows with it instead.
	MaxStale time.Duration
}

// IndexUpdateResult says how an index update went.
type IndexUpdateResult struct {
	// Tag is the referrers tag, <alg>-<hex> of the subject digest.
	Tag string
	// Index is the index the tag pointed at when the change was verified.
	Index ocispec.Descriptor
	// Written is false when the index held the change already.
	Written bool
	// Attempts is the number of read-merge-write rounds.
	Attempts int
	// Conflicts counts conditional writes refused with 412.
	Conflicts int
	// Lost counts verifications that found the change overwritten.
	Lost int
	// Stale counts rounds restarted because the read was older than MaxStale.
	Stale int
	// Conditional is true when the registry proved it honours conditional
	// writes (it refused one with 412) and the final write was conditional.
	Conditional bool
}

// ErrIndexContention is returned when the index kept changing for
// MaxAttempts rounds.
var ErrIndexContention = errors.New("the referrers index kept changing under concurrent writers")

// ReferrersTag is the tag of subject's referrers index in the tag fallback.
func ReferrersTag(subject digest.Digest) string {
	return subject.Algorithm().String() + "-" + subject.Encoded()
}

// UpdateReferrersIndex applies change to the referrers index (tag
// fallback) of subject in ref's repository, without losing the entries of
// concurrent writers: see the comment above for how.
func (c *Client) UpdateReferrersIndex(ctx context.Context, ref reference.Reference, subject digest.Digest, change IndexChange, opts *IndexUpdateOptions) (*IndexUpdateResult, error) {
	if err := c.usable(); err != nil {
		return nil, err
	}
	if err := subject.Validate(); err != nil {
		return nil, fmt.Errorf("referrers index: invalid subject digest: %w", err)
	}
	o := IndexUpdateOptions{}
	if opts != nil {
		o = *opts
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = DefaultIndexMaxAttempts
	}
	if o.SettleDelay <= 0 {
		o.SettleDelay = DefaultIndexSettleDelay
	}
	if o.MaxStale <= 0 {
		o.MaxStale = DefaultIndexMaxStale
	}
	tag := ReferrersTag(subject)
	res := &IndexUpdateResult{Tag: tag}
	provedConditional := false // the registry answered 412 once
	wrote := false             // a write of ours may be the current index
	settleWait := o.SettleDelay
	for {
		if res.Attempts >= o.MaxAttempts {
			return res, fmt.Errorf("updating the referrers tag %s of %s: %w (%d attempts, %d conflicts, %d overwritten)",
				tag, ref.Repo(), ErrIndexContention, res.Attempts, res.Conflicts, res.Lost)
		}
		if res.Attempts > 0 {
			if err := sleepCtx(ctx, backoff(res.Attempts)); err != nil {
				return res, err
			}
		}
		res.Attempts++

		getStart := time.Now()
		cur, err := c.readIndex(ctx, ref, tag)
		if err != nil {
			return res, err
		}
		readAt := time.Now()
		getTook := readAt.Sub(getStart)
		merged, changed := applyIndexChange(cur.entries, change)
		if !changed {
			// The change is there: nothing of ours to write, or a write of
			// ours that a later read confirms (settled below).
			res.Index = cur.desc
			if !wrote {
				return res, nil
			}
			r, err := c.settle(ctx, ref, tag, change, res, settleWait)
			if errors.Is(err, errIndexLost) {
				continue
			}
			return r, err
		}
		body, err := json.Marshal(ocispec.Index{
			Versioned: specs.Versioned{SchemaVersion: 2},
			MediaType: ocispec.MediaTypeImageIndex,
			Manifests: merged,
		})
		if err != nil {
			return res, err
		}
		desc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageIndex, Digest: digest.FromBytes(body), Size: int64(len(body))}
		hdr := http.Header{}
		switch {
		case !cur.found:
			hdr.Set("If-None-Match", "*")
		case cur.etag != "":
			hdr.Set("If-Match", cur.etag)
		}
		if time.Since(readAt) > o.MaxStale {
			// Too slow between read and write (a paused process, a loaded
			// machine): another writer may have verified since.
			res.Stale++
			continue
		}
		putStart := time.Now()
		_, err = c.PushManifest(ctx, ref, tag, desc, body, hdr)
		putTook := time.Since(putStart)
		if errors.Is(err, ErrPreconditionFailed) {
			res.Conflicts++
			provedConditional = true
			continue
		}
		if err != nil {
			return res, fmt.Errorf("pushing the referrers index %s of %s: %w", tag, ref.Repo(), err)
		}
		wrote = true
		res.Written = true
		res.Index = desc
		if provedConditional && len(hdr) > 0 {
			// The registry honours conditions and this write carried one:
			// it replaced exactly the index it merged.
			res.Conditional = true
			return res, nil
		}
		if res.Attempts > 1 {
			// Contention: check at once rather than after the settle delay.
			ok, _, err := c.indexHas(ctx, ref, tag, change)
			if err != nil {
				return res, err
			}
			if !ok {
				res.Lost++
				continue
			}
		}
		// A writer as slow as this one (its GET answered late, its PUT
		// applied late) must have written by the time we look again.
		settleWait = min(max(o.SettleDelay, o.MaxStale+4*(getTook+putTook)), maxIndexSettleDelay)
		r, err := c.settle(ctx, ref, tag, change, res, settleWait)
		if errors.Is(err, errIndexLost) {
			continue
		}
		return r, err
	}
}

var errIndexLost = errors.New("the change was overwritten")

// settle waits, then checks that the index holds the change.
func (c *Client) settle(ctx context.Context, ref reference.Reference, tag string, change IndexChange, res *IndexUpdateResult, wait time.Duration) (*IndexUpdateResult, error) {
	if err := sleepCtx(ctx, wait); err != nil {
		return res, err
	}
	ok, cur, err := c.indexHas(ctx, ref, tag, change)
	if err != nil {
		return res, err
	}
	if !ok {
		res.Lost++
		return res, errIndexLost
	}
	res.Index = cur.desc
	return res, nil
}

func (c *Client) indexHas(ctx context.Context, ref reference.Reference, tag string, change IndexChange) (bool, *currentIndex, error) {
	cur, err := c.readIndex(ctx, ref, tag)
	if err != nil {
		return false, nil, err
	}
	_, changed := applyIndexChange(cur.entries, change)
	return !changed, cur, nil
}

type currentIndex struct {
	found   bool
	etag    string
	desc    ocispec.Descriptor
	entries []ocispec.Descriptor
}

func (c *Client) readIndex(ctx context.Context, ref reference.Reference, tag string) (*currentIndex, error) {
	m, err := c.fetchManifest(ctx, ref, tag, []string{ocispec.MediaTypeImageIndex}, c.opts.MaxMetadataSize)
	if err != nil {
		return nil, fmt.Errorf("reading the referrers tag %s of %s: %w", tag, ref.Repo(), err)
	}
	if !m.found {
		return &currentIndex{}, nil
	}
	var idx ocispec.Index
	if err := json.Unmarshal(m.body, &idx); err != nil {
		return nil, fmt.Errorf("the referrers tag %s of %s is not an image index: %w", tag, ref.Repo(), err)
	}
	mt, _, _ := mime.ParseMediaType(m.mediaType)
	if idx.MediaType != ocispec.MediaTypeImageIndex && mt != ocispec.MediaTypeImageIndex {
		return nil, fmt.Errorf("the referrers tag %s of %s holds a %q, not an image index; signet will not overwrite it", tag, ref.Repo(), mt)
	}
	return &currentIndex{
		found:   true,
		etag:    m.etag,
		desc:    ocispec.Descriptor{MediaType: ocispec.MediaTypeImageIndex, Digest: m.digest, Size: int64(len(m.body))},
		entries: idx.Manifests,
	}, nil
}

// applyIndexChange returns entries with change applied (duplicates by
// digest dropped, the first kept; new entries last) and whether that
// differs from entries.
func applyIndexChange(entries []ocispec.Descriptor, change IndexChange) ([]ocispec.Descriptor, bool) {
	remove := map[digest.Digest]bool{}
	for _, d := range change.Remove {
		remove[d] = true
	}
	seen := map[digest.Digest]bool{}
	out := make([]ocispec.Descriptor, 0, len(entries)+len(change.Add))
	changed := false
	for _, e := range entries {
		if remove[e.Digest] || seen[e.Digest] {
			changed = true
			continue
		}
		seen[e.Digest] = true
		out = append(out, e)
	}
	for _, a := range change.Add {
		if seen[a.Digest] || remove[a.Digest] {
			continue
		}
		seen[a.Digest] = true
		out = append(out, a)
		changed = true
	}
	return out, changed
}

// backoff is the wait before round n+1: exponential from 20ms to 1s, with
// jitter (half fixed, half random) so that writers that collided spread out.
func backoff(n int) time.Duration {
	d := indexBackoffBase << min(n-1, 10)
	d = min(d, indexBackoffMax)
	return d/2 + rand.N(d/2+1)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// ReferrerEntry returns the subject of the manifest body (described by
// desc) and the descriptor a referrers index lists for it (artifact type
// and annotations included, as the referrers API would), or a nil subject
// when the manifest has none.
func ReferrerEntry(desc ocispec.Descriptor, body []byte) (*ocispec.Descriptor, ocispec.Descriptor, error) {
	var m struct {
		MediaType    string              `json:"mediaType"`
		ArtifactType string              `json:"artifactType"`
		Config       *ocispec.Descriptor `json:"config"`
		Subject      *ocispec.Descriptor `json:"subject"`
		Annotations  map[string]string   `json:"annotations"`
	}
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, ocispec.Descriptor{}, fmt.Errorf("decoding manifest %s: %w", desc.Digest, err)
	}
	entry := ocispec.Descriptor{MediaType: desc.MediaType, Digest: desc.Digest, Size: desc.Size, ArtifactType: m.ArtifactType, Annotations: m.Annotations}
	if entry.ArtifactType == "" && desc.MediaType == ocispec.MediaTypeImageManifest && m.Config != nil {
		entry.ArtifactType = m.Config.MediaType
	}
	return m.Subject, entry, nil
}
