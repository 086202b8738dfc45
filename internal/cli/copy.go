package cli

import (
	"fmt"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/spf13/cobra"
	"oras.land/oras-go/v2"

	"github.com/signet-oci/signet/internal/errdef"
	"github.com/signet-oci/signet/internal/target"
	"github.com/signet-oci/signet/pkg/reference"
	"github.com/signet-oci/signet/pkg/remote"
)

type copyOptions struct {
	remote remoteOptions
	output outputOptions
}

func newCopyCmd(streams IOStreams) *cobra.Command {
	opts := &copyOptions{}
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
			defer opts.remote.done(streams)
			return runCopy(cmd, opts, streams, args[0], args[1])
		},
	}
	opts.remote.addFlags(cmd.Flags())
	opts.output.addFlags(cmd.Flags(), "text", "text", "json")
	return cmd
}

func runCopy(cmd *cobra.Command, opts *copyOptions, streams IOStreams, srcArg, dstArg string) error {
	if err := opts.output.validate(); err != nil {
		return err
	}
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
	ctx := cmd.Context()
	client, err := opts.remote.newClient(streams)
	if err != nil {
		return err
	}
	s, err := target.Open(ctx, src, client, false)
	if err != nil {
		return err
	}
	defer s.Close()
	d, err := target.Open(ctx, dst, client, true)
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
		return fmt.Errorf("copying %s to %s: %w", srcArg, dstArg, explainFor(dst, err))
	}
	fmt.Fprintf(streams.Err, "Copied %s to %s\n", srcArg, dst.String())
	if opts.output.Format == "json" {
		plain := ocispec.Descriptor{MediaType: desc.MediaType, Digest: desc.Digest, Size: desc.Size}
		return writeJSON(streams.Out, map[string]any{"source": srcArg, "destination": dst.String(), "manifest": plain})
	}
	fmt.Fprintln(streams.Out, desc.Digest)
	return nil
}

func explainFor(ref reference.Reference, err error) error {
	if ref.Kind == reference.Registry {
		return remote.Explain(ref.Registry, err)
	}
	return err
}
