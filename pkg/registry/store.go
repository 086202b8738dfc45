package registry

import (
	"io"

	"github.com/opencontainers/go-digest"
)

// Index kinds: subject look-ups maintained at manifest PUT time so that
// listing never scans a repository.
const (
	indexReferrers = "referrers" // OCI 1.1 subject → referrer descriptors
	indexLinks     = "links"     // prototype artifact manifests[] → artifacts
)

// indexEntry is one member of a subject index: the digest of the manifest
// that refers to the subject, and a small precomputed record about it.
type indexEntry struct {
	member digest.Digest
	data   []byte
}

// storage is the persistence layer. Implementations make every write
// atomic (all or nothing, never half-visible) and safe for concurrent use.
// Blob content is shared by all repositories; a repository sees a blob only
// through its own link.
type storage interface {
	// blobSize reports the size of stored blob content, or errNotFound.
	blobSize(d digest.Digest) (int64, error)
	// openBlob opens stored blob content for reading, or errNotFound.
	openBlob(d digest.Digest) (io.ReadSeekCloser, int64, error)
	// newUpload creates a temporary upload file.
	newUpload() (uploadFile, error)
	// commitBlob makes the (already verified) upload content visible as blob
	// d, durably, and releases u. Committing content that already exists is
	// a no-op.
	commitBlob(u uploadFile, d digest.Digest) error

	repoExists(repo string) (bool, error)
	linkBlob(repo string, d digest.Digest) error
	blobLinked(repo string, d digest.Digest) (bool, error)
	unlinkBlob(repo string, d digest.Digest) error // errNotFound if absent

	putManifest(repo string, d digest.Digest, mediaType string, body []byte) error
	getManifest(repo string, d digest.Digest) (mediaType string, body []byte, err error)
	hasManifest(repo string, d digest.Digest) (bool, error)
	deleteManifest(repo string, d digest.Digest) error // errNotFound if absent

	putTag(repo, tag string, d digest.Digest) error
	getTag(repo, tag string) (digest.Digest, error)
	deleteTag(repo, tag string) error       // errNotFound if absent
	listTags(repo string) ([]string, error) // sorted

	putIndex(repo, kind string, subject digest.Digest, e indexEntry) error
	listIndex(repo, kind string, subject digest.Digest) ([]indexEntry, error) // sorted by member
	deleteIndex(repo, kind string, subject, member digest.Digest) error
	// indexSubjects lists the subjects with an index of kind (nested.go).
	indexSubjects(repo, kind string) ([]digest.Digest, error)
	hasIndex(repo, kind string, subject, member digest.Digest) (bool, error)

	close() error
}

// uploadFile is the temporary content of an upload session.
type uploadFile interface {
	io.Writer
	// size is the number of bytes written so far.
	size() int64
	// reader reads the content written so far from the beginning.
	reader() (io.ReadCloser, error)
	// truncate drops everything after the first n bytes (after a failed
	// write, so that a session stays consistent with what was acknowledged).
	truncate(n int64) error
	// discard deletes the upload.
	discard() error
}
