package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/spf13/cobra"
	"oras.land/oras-go/v2"

	"github.com/signet-oci/signet/internal/fsutil"
	"github.com/signet-oci/signet/internal/target"
	"github.com/signet-oci/signet/pkg/errdef"
	"github.com/signet-oci/signet/pkg/reference"
	"github.com/signet-oci/signet/pkg/remote"
)

type copyOptions struct {
	remote remoteOptions
	output outputOptions
}

func newCopyCmd(streams IOStreams) *cobra.Command {
	opts := &copyOptions{output: formats("text", "json")}
	cmd := &cobra.Command{
		Use:   "copy SRC DST",
		Short: "Copy an image between registries, OCI layouts and docker-archive tarballs",
		Long: `Copy an image (its manifest, config and layers, byte for byte) from SRC to DST.
This replaces 'docker pull', 'docker tag' and 'docker push' in the walkthrough.

SRC and DST are:
  host[:port]/repo[:tag|@digest]   a registry reference
  oci-layout:DIR[:tag|@digest]     an OCI image layout directory
  docker-archive:FILE.tar          a 'docker save' tarball (SRC only; both the
                                   legacy shape and Docker 25+'s OCI shape)

The manifest digest at DST is printed on stdout. A docker-archive legacy
tarball is pushed with the same manifest that 'signet generate manifest'
prints for it, so a signature made from that manifest fits the pushed image.`,
		Example: `  signet copy docker-archive:busybox.tar 127.0.0.1:5000/busybox:latest
  signet copy oci-layout:./testdata/oci-layout:latest 127.0.0.1:5000/busybox:latest
  signet copy 127.0.0.1:5000/busybox:latest oci-layout:./backup:latest`,
		Args: exactArgs("SRC", "DST"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCopy(cmd, opts, streams, args[0], args[1])
		},
	}
	return withGroups(cmd, streams, &opts.remote, &opts.output)
}

func runCopy(cmd *cobra.Command, opts *copyOptions, streams IOStreams, srcArg, dstArg string) error {
	src, err := reference.Parse(srcArg)
	if err != nil {
		return err
	}
	dst, err := reference.Parse(dstArg)
	if err != nil {
		return err
	}
	if dst.Kind == reference.DockerArchive || dst.Kind == reference.File {
		return errdef.Usage(fmt.Errorf("cannot copy to %s: DST is a registry reference or oci-layout:DIR", dstArg))
	}
	if src.Kind == reference.File {
		return errdef.Usage(fmt.Errorf("cannot copy from %s: a manifest file alone is not an image; use a registry, oci-layout: or docker-archive: source", srcArg))
	}
	client, err := opts.remote.newClient(streams)
	if err != nil {
		return err
	}
	if dst.Kind != reference.OCILayout {
		return copyImage(cmd, opts, streams, client, src, dst, dst, func(bool) error { return nil })
	}
	staged, finish, err := stageLayout(dst)
	if err != nil {
		return err
	}
	defer func() { _ = finish(false) }() // a no-op once finished
	return copyImage(cmd, opts, streams, client, src, dst, staged, finish)
}

// copyImage copies src to dst, writing through dstOpen (dst itself, or the
// staging directory of a new OCI layout), and calls finish(true) once the
// copy is complete.
func copyImage(cmd *cobra.Command, opts *copyOptions, streams IOStreams, client *remote.Client, src, dst, dstOpen reference.Reference, finish func(bool) error) error {
	ctx := cmd.Context()
	srcArg, dstArg := src.Raw, dst.Raw
	s, err := target.Open(ctx, src, client, false)
	if err != nil {
		return err
	}
	defer s.Close()
	d, err := target.Open(ctx, dstOpen, client, true)
	if err != nil {
		return err
	}
	defer d.Close()
	desc, err := target.Resolve(ctx, s, src)
	if err != nil {
		return err
	}
	dstSel := dst.Tag
	if dst.Digest != "" && dst.Digest != desc.Digest {
		return errdef.Usage(fmt.Errorf("%s names %s but SRC is %s", dstArg, dst.Digest, desc.Digest))
	}
	if dstSel == "" {
		dstSel = desc.Digest.String()
	}
	copyOpts := oras.DefaultCopyOptions
	copyOpts.Concurrency = 4
	if _, err := oras.Copy(ctx, s, desc.Digest.String(), d.Writable, dstSel, copyOpts); err != nil {
		// oras.Copy resolves SRC again by digest; docker archives and OCI
		// layouts answer digests, registries too.
		return fmt.Errorf("copying %s to %s: %w", srcArg, dstArg, err)
	}
	if err := d.Close(); err != nil {
		return err
	}
	if err := finish(true); err != nil {
		return err
	}
	fmt.Fprintf(streams.Err, "Copied %s to %s\n", srcArg, dst.String())
	plain := ocispec.Descriptor{MediaType: desc.MediaType, Digest: desc.Digest, Size: desc.Size}
	return opts.output.print(streams.Out, CopyResult{Source: srcArg, Destination: dst.String(), Manifest: plain})
}

// stageLayout prepares a copy into the OCI layout dst so that a copy that
// fails or is interrupted leaves nothing partial: a new layout is written
// into a temporary directory beside it and renamed into place when
// complete; for an existing layout, the blobs the copy added are removed
// again on failure (blobs are written whole by oras-go, index.json only at
// the end). finish(true) commits, finish(false) undoes; only the first call
// counts.
func stageLayout(dst reference.Reference) (reference.Reference, func(ok bool) error, error) {
	done := false
	if _, err := os.Lstat(dst.Path); errors.Is(err, fs.ErrNotExist) {
		parent := filepath.Dir(filepath.Clean(dst.Path))
		tmp, err := os.MkdirTemp(parent, "."+filepath.Base(filepath.Clean(dst.Path))+".tmp-*")
		if err != nil {
			return dst, nil, fmt.Errorf("cannot create the OCI layout %s: %w", dst.Path, fsutil.UnwrapPath(err))
		}
		if err := os.Chmod(tmp, 0o755); err != nil {
			os.RemoveAll(tmp)
			return dst, nil, err
		}
		staged := dst
		staged.Path = tmp
		return staged, func(ok bool) error {
			if done {
				return nil
			}
			done = true
			if ok {
				if err := os.Rename(tmp, dst.Path); err != nil {
					os.RemoveAll(tmp)
					return fmt.Errorf("cannot create the OCI layout %s: %w", dst.Path, fsutil.UnwrapPath(err))
				}
				return nil
			}
			return os.RemoveAll(tmp)
		}, nil
	}
	before := layoutFiles(dst.Path)
	return dst, func(ok bool) error {
		if done || ok {
			done = true
			return nil
		}
		done = true
		for p := range layoutFiles(dst.Path) {
			if !before[p] {
				os.Remove(p)
			}
		}
		if !before[filepath.Join(dst.Path, "ingest")] {
			os.Remove(filepath.Join(dst.Path, "ingest")) // only if empty
		}
		return nil
	}, nil
}

// layoutFiles lists the blob files and the ingest directory of a layout.
func layoutFiles(dir string) map[string]bool {
	files := map[string]bool{}
	_ = filepath.WalkDir(filepath.Join(dir, "blobs"), func(p string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			files[p] = true
		}
		return nil
	})
	if _, err := os.Stat(filepath.Join(dir, "ingest")); err == nil {
		files[filepath.Join(dir, "ingest")] = true
	}
	return files
}
