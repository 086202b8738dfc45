package transfer

import (
	"context"
	"io"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"
)

// Observer is told what a copy does, blob by blob, for a progress
// display. Its methods are called from several goroutines at once.
type Observer interface {
	// Start: desc is about to be copied.
	Start(desc ocispec.Descriptor)
	// Read: n more bytes of desc were read from the source.
	Read(desc ocispec.Descriptor, n int64)
	// Done: desc is at the destination.
	Done(desc ocispec.Descriptor)
	// Skipped: the destination had desc (and all it points at) already.
	Skipped(desc ocispec.Descriptor)
	// Mounted: desc was mounted from another repository of the
	// destination registry, not sent.
	Mounted(desc ocispec.Descriptor)
}

// countingStorage reports the bytes read from the source.
type countingStorage struct {
	content.ReadOnlyStorage
	obs Observer
}

func (s *countingStorage) Fetch(ctx context.Context, desc ocispec.Descriptor) (io.ReadCloser, error) {
	rc, err := s.ReadOnlyStorage.Fetch(ctx, desc)
	if err != nil {
		return nil, err
	}
	return &countingReader{ReadCloser: rc, desc: desc, obs: s.obs}, nil
}

type countingReader struct {
	io.ReadCloser
	desc ocispec.Descriptor
	obs  Observer
}

func (r *countingReader) Read(p []byte) (int, error) {
	n, err := r.ReadCloser.Read(p)
	if n > 0 {
		r.obs.Read(r.desc, int64(n))
	}
	return n, err
}
