// Package target opens the sources and targets of pkg/reference as oras-go
// targets, and reads a manifest's exact bytes from any of them.
package target

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/content/oci"

	"github.com/signet-oci/signet/internal/fsutil"
	"github.com/signet-oci/signet/pkg/dockerarchive"
	"github.com/signet-oci/signet/pkg/errdef"
	"github.com/signet-oci/signet/pkg/manifest"
	"github.com/signet-oci/signet/pkg/reference"
	"github.com/signet-oci/signet/pkg/remote"
)

// Source is a readable target.
type Source interface {
	oras.ReadOnlyTarget
}

// Opened is a target with its closer.
type Opened struct {
	oras.ReadOnlyTarget
	// Writable is set when the target accepts pushes.
	Writable oras.Target
	close    func() error
}

// Close releases what Open took.
func (o *Opened) Close() error {
	if o.close != nil {
		return o.close()
	}
	return nil
}

// Open opens ref for reading, or for writing when write is set (registry
// and oci-layout only). An OCI layout opened for reading is read as
// LayoutSource reads one (openLayout), and nothing in it is written.
func Open(ctx context.Context, ref reference.Reference, client *remote.Client, write bool) (*Opened, error) {
	switch ref.Kind {
	case reference.Registry:
		repo, err := client.Repository(ref)
		if err != nil {
			return nil, err
		}
		return &Opened{ReadOnlyTarget: repo, Writable: repo}, nil
	case reference.OCILayout:
		if !write {
			// Read only, as discovery reads one (LayoutSource): within
			// the bounds of layoutFS while oras-go indexes it, then each
			// blob as its descriptor describes it (copy reads layers).
			if err := CheckLayout(ref.Path); err != nil {
				return nil, err
			}
			store, err := openLayout(ctx, ref.Path, false)
			if err != nil {
				return nil, err
			}
			return &Opened{ReadOnlyTarget: store}, nil
		}
		if fi, err := os.Stat(ref.Path); err == nil && !fi.IsDir() {
			return nil, NotADirectory(ref.Path)
		}
		store, err := oci.NewWithContext(ctx, ref.Path)
		if err != nil {
			return nil, fmt.Errorf("opening OCI layout %s: %w", ref.Path, err)
		}
		return &Opened{ReadOnlyTarget: store, Writable: store}, nil
	case reference.DockerArchive:
		if write {
			return nil, errdef.Usage(fmt.Errorf("%s: docker-archive is read only; copy to a registry or an oci-layout: directory", ref.Raw))
		}
		if _, err := os.Stat(ref.Path); err != nil {
			return nil, MissingInput("docker archive", ref.Path, err)
		}
		a, err := dockerarchive.Open(ref.Path)
		if err != nil {
			return nil, err
		}
		return &Opened{ReadOnlyTarget: a, close: a.Close}, nil
	}
	return nil, errdef.Usage(fmt.Errorf("%s: a %s reference cannot be opened as an image source", ref.Raw, ref.Kind))
}

// ResolveManifest returns the descriptor and exact bytes of the manifest ref
// names: from a registry, an OCI layout, a docker-archive tarball or a file.
// Every byte fetched is checked against its digest and size.
func ResolveManifest(ctx context.Context, ref reference.Reference, client *remote.Client) (ocispec.Descriptor, []byte, error) {
	if ref.Kind == reference.File {
		return ReadManifestFile(ref.Path)
	}
	t, err := Open(ctx, ref, client, false)
	if err != nil {
		return ocispec.Descriptor{}, nil, err
	}
	defer t.Close()
	desc, err := Resolve(ctx, t, ref)
	if err != nil {
		return ocispec.Descriptor{}, nil, err
	}
	b, err := manifest.Fetch(ctx, t, desc)
	if err != nil {
		return ocispec.Descriptor{}, nil, fmt.Errorf("%s: %w", ref.Raw, err)
	}
	if ref.Digest != "" && desc.Digest != ref.Digest {
		return ocispec.Descriptor{}, nil, fmt.Errorf("%s resolved to %s, not the digest asked for", ref.Raw, desc.Digest)
	}
	if ref.Kind == reference.OCILayout {
		// A layout describes a manifest that index.json does not list (a
		// platform manifest of a listed index) as a plain blob, and a
		// listed one with its tag annotation: describe it as a registry
		// does, its media type from its bytes.
		mt := desc.MediaType
		if mt == "application/octet-stream" || mt == "" {
			if mt, err = manifest.MediaTypeOf(b); err != nil {
				return ocispec.Descriptor{}, nil, fmt.Errorf("%s: %w", ref.Raw, err)
			}
		}
		desc = ocispec.Descriptor{MediaType: mt, Digest: desc.Digest, Size: desc.Size}
	}
	return desc, b, nil
}

// ReadManifestFile reads a manifest file's exact bytes and describes them.
func ReadManifestFile(path string) (ocispec.Descriptor, []byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return ocispec.Descriptor{}, nil, MissingInput("manifest file", path, err)
	}
	if fi.Size() > manifest.MaxManifestSize {
		return ocispec.Descriptor{}, nil, fmt.Errorf("manifest file %s is %d bytes, over the %d-byte limit", path, fi.Size(), manifest.MaxManifestSize)
	}
	b, err := fsutil.ReadFileLimit(path, manifest.MaxManifestSize) // bounded even for a pipe or device
	if errors.Is(err, fsutil.ErrTooLarge) {
		return ocispec.Descriptor{}, nil, fmt.Errorf("manifest file %s is over the %d-byte limit", path, manifest.MaxManifestSize)
	}
	if err != nil {
		return ocispec.Descriptor{}, nil, err
	}
	mt, err := manifest.MediaTypeOf(b)
	if err != nil {
		return ocispec.Descriptor{}, nil, fmt.Errorf("manifest file %s: %w", path, err)
	}
	return ocispec.Descriptor{MediaType: mt, Digest: digest.FromBytes(b), Size: int64(len(b))}, b, nil
}

// Resolve is reference.Resolve, kept for the commands that open targets here.
func Resolve(ctx context.Context, t content.Resolver, ref reference.Reference) (ocispec.Descriptor, error) {
	return reference.Resolve(ctx, t, ref)
}

// MissingInput is the error for a local input named on the command line
// (a file or directory) that cannot be opened. One rule for every input
// (docs/exit-codes.md): one that does not exist is a usage error (exit
// status 2), as a mistyped flag is; exit status 4 stays "the registry or
// layout has no such image or signature", which scripts test for. Other
// failures (permissions) are plain errors (exit status 1).
func MissingInput(what, path string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return errdef.Usage(fmt.Errorf("%s %s does not exist; check the path", what, path))
	}
	return fmt.Errorf("%s %s: %w", what, path, fsutil.UnwrapPath(err))
}

// CheckLayout checks that path is an OCI image layout to read: a directory
// with an oci-layout file. A missing path is a usage error (exit status 2,
// as for every local input); a file, or a directory without an oci-layout
// file, is not what it should be (exit status 1). One line each.
func CheckLayout(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return MissingInput("OCI layout", path, err)
	}
	if !fi.IsDir() {
		return NotADirectory(path)
	}
	if _, err := os.Stat(filepath.Join(path, "oci-layout")); err != nil {
		return fmt.Errorf("%s is not an OCI image layout (no oci-layout file)", path)
	}
	return nil
}

// NotADirectory is the error for an oci-layout: path that is a file: a
// local input that is not what it should be (exit status 1, docs/exit-codes.md).
func NotADirectory(path string) error {
	return fmt.Errorf("%s is a file, not an OCI image layout directory", path)
}
