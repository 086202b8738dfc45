package target

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"

	"github.com/signet-oci/signet/internal/fsutil"
	"github.com/signet-oci/signet/pkg/reference"
)

// MaxLayoutIndexSize bounds the index.json of a layout a staged copy merges
// into.
const MaxLayoutIndexSize = 16 << 20

// LayoutStage is a write into an OCI layout that leaves nothing partial:
// a copy writes through Ref (a staging directory beside the layout) and
// the layout changes only when Finish(true) publishes it.
//
//   - A layout that does not exist yet is written whole into the staging
//     directory, which Finish(true) renames into place.
//   - An existing layout: the staging directory's blobs/ is a link to the
//     layout's (blobs already there are not copied again), with a copy of
//     its index.json. Finish(true) merges the staged index.json into the
//     layout's under the layout's lock (fsutil.LockDir, which
//     push-signature takes too), so that a concurrent signet writer's
//     entries are kept: a tag the copy wrote replaces that tag's entry,
//     any other manifest is added unless listed. Finish(false) removes
//     the staging directory and the blobs this copy wrote (Record), and
//     nothing else.
type LayoutStage struct {
	// Ref is dst with its path replaced by the staging directory: open
	// it for writing (Open(ctx, stage.Ref, nil, true)).
	Ref reference.Reference

	dst       reference.Reference
	abs, tmp  string
	fresh     bool
	madeBlobs bool

	mu      sync.Mutex
	written []string // blob files this copy created (existing layout)
	done    bool
}

// StageLayout prepares a write into the OCI layout dst.
func StageLayout(dst reference.Reference) (*LayoutStage, error) {
	abs, err := filepath.Abs(dst.Path)
	if err != nil {
		return nil, err
	}
	s := &LayoutStage{dst: dst, abs: abs}
	_, statErr := os.Lstat(abs)
	s.fresh = errors.Is(statErr, fs.ErrNotExist)
	tmp, err := os.MkdirTemp(filepath.Dir(abs), "."+filepath.Base(abs)+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("cannot stage the copy into the OCI layout %s: %w", dst.Path, fsutil.UnwrapPath(err))
	}
	s.tmp = tmp
	s.Ref = dst
	s.Ref.Path = tmp
	if err := os.Chmod(tmp, 0o755); err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	if s.fresh {
		return s, nil
	}
	if err := s.prepare(); err != nil {
		s.undo()
		return nil, fmt.Errorf("cannot stage the copy into the OCI layout %s: %w", dst.Path, fsutil.UnwrapPath(err))
	}
	return s, nil
}

func (s *LayoutStage) prepare() error {
	blobs := filepath.Join(s.abs, "blobs")
	if _, err := os.Stat(blobs); errors.Is(err, fs.ErrNotExist) {
		s.madeBlobs = true
	}
	if err := os.MkdirAll(filepath.Join(blobs, "sha256"), 0o755); err != nil {
		return err
	}
	if err := os.Symlink(blobs, filepath.Join(s.tmp, "blobs")); err != nil {
		return err
	}
	for _, name := range []string{ocispec.ImageLayoutFile, ocispec.ImageIndexFile} {
		b, err := fsutil.ReadFileLimit(filepath.Join(s.abs, name), MaxLayoutIndexSize)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(s.tmp, name), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// Record wraps t (the target opened from Ref) so that the blobs a copy
// writes are known to Finish(false), which removes them and only them.
func (s *LayoutStage) Record(t oras.Target) oras.Target {
	if s.fresh {
		return t // the whole staging directory goes
	}
	return &recordingTarget{Target: t, stage: s}
}

type recordingTarget struct {
	oras.Target
	stage *LayoutStage
}

func (r *recordingTarget) Push(ctx context.Context, desc ocispec.Descriptor, rd io.Reader) error {
	p := filepath.Join(r.stage.abs, "blobs", desc.Digest.Algorithm().String(), desc.Digest.Encoded())
	_, statErr := os.Lstat(p)
	err := r.Target.Push(ctx, desc, rd)
	if err == nil && errors.Is(statErr, fs.ErrNotExist) {
		r.stage.mu.Lock()
		r.stage.written = append(r.stage.written, p)
		r.stage.mu.Unlock()
	}
	return err
}

// Finish publishes the staged layout (ok) or undoes it (!ok). Only the
// first call counts.
func (s *LayoutStage) Finish(ok bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done {
		return nil
	}
	s.done = true
	if !ok {
		s.undo()
		return nil
	}
	if s.fresh {
		if err := os.Rename(s.tmp, s.abs); err != nil {
			os.RemoveAll(s.tmp)
			return fmt.Errorf("cannot create the OCI layout %s: %w", s.dst.Path, fsutil.UnwrapPath(err))
		}
		return nil
	}
	if err := s.publish(); err != nil {
		s.undo()
		return fmt.Errorf("cannot write the OCI layout %s: %w", s.dst.Path, fsutil.UnwrapPath(err))
	}
	return os.RemoveAll(s.tmp)
}

// publish merges the staged index.json into the layout's, under its lock.
func (s *LayoutStage) publish() error {
	unlock, err := fsutil.LockDir(s.abs)
	if err != nil {
		return err
	}
	defer unlock()
	if _, err := os.Stat(filepath.Join(s.abs, ocispec.ImageLayoutFile)); errors.Is(err, fs.ErrNotExist) {
		if err := os.Rename(filepath.Join(s.tmp, ocispec.ImageLayoutFile), filepath.Join(s.abs, ocispec.ImageLayoutFile)); err != nil {
			return err
		}
	}
	staged, err := readIndex(filepath.Join(s.tmp, ocispec.ImageIndexFile))
	if err != nil {
		return err
	}
	path := filepath.Join(s.abs, ocispec.ImageIndexFile)
	current, err := readIndex(path)
	if errors.Is(err, fs.ErrNotExist) {
		return os.Rename(filepath.Join(s.tmp, ocispec.ImageIndexFile), path)
	}
	if err != nil {
		return err
	}
	merged := mergeIndex(current, staged)
	b, err := json.Marshal(merged)
	if err != nil {
		return err
	}
	return fsutil.WriteFileAtomic(path, b, 0o644)
}

func readIndex(path string) (ocispec.Index, error) {
	var idx ocispec.Index
	b, err := fsutil.ReadFileLimit(path, MaxLayoutIndexSize)
	if err != nil {
		return idx, err
	}
	if err := json.Unmarshal(b, &idx); err != nil {
		return idx, fmt.Errorf("%s is not a readable image index: %w", path, err)
	}
	return idx, nil
}

// mergeIndex is current with what staged adds: an entry tagged T
// (org.opencontainers.image.ref.name) replaces current's entries tagged T;
// an untagged entry is added unless its digest is listed. Nothing else of
// current is dropped.
func mergeIndex(current, staged ocispec.Index) ocispec.Index {
	tagOf := func(d ocispec.Descriptor) string { return d.Annotations[ocispec.AnnotationRefName] }
	out := current
	out.Manifests = nil
	replaced := map[string]bool{}
	for _, d := range staged.Manifests {
		if t := tagOf(d); t != "" {
			replaced[t] = true
		}
	}
	listed := map[string]bool{}
	key := func(d ocispec.Descriptor) string { return tagOf(d) + "@" + d.Digest.String() }
	for _, d := range current.Manifests {
		if t := tagOf(d); t != "" && replaced[t] {
			continue
		}
		out.Manifests = append(out.Manifests, d)
		listed[key(d)] = true
		listed["@"+d.Digest.String()] = true
	}
	for _, d := range staged.Manifests {
		if tagOf(d) == "" && listed["@"+d.Digest.String()] {
			continue
		}
		if listed[key(d)] {
			continue
		}
		out.Manifests = append(out.Manifests, d)
		listed[key(d)] = true
	}
	return out
}

// undo removes the staging directory (the link, not what it points at) and
// the blobs this copy wrote.
func (s *LayoutStage) undo() {
	os.RemoveAll(s.tmp)
	for _, p := range s.written {
		os.Remove(p)
	}
	if s.madeBlobs {
		os.Remove(filepath.Join(s.abs, "blobs", "sha256"))
		os.Remove(filepath.Join(s.abs, "blobs"))
	}
}
