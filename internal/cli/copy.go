package cli

import (
	"fmt"
	"io"
	"os"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/spf13/cobra"

	"github.com/signet-oci/signet/internal/target"
	"github.com/signet-oci/signet/pkg/discover"
	"github.com/signet-oci/signet/pkg/errdef"
	"github.com/signet-oci/signet/pkg/reference"
	"github.com/signet-oci/signet/pkg/remote"
	"github.com/signet-oci/signet/pkg/transfer"
)

type copyOptions struct {
	remote remoteOptions
	output outputOptions

	// copy -r (pkg/transfer)
	recursive    bool
	artifactType string
	depth        int
	maxReferrers int
	noProgress   bool
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
prints for it, so a signature made from that manifest fits the pushed image.
An image index is copied with every manifest it lists.

With -r (--recursive) the image's referrers travel with it: signatures,
SBOMs, attestations, and their own referrers, found as 'signet discover'
finds them (the prototype links API, the OCI 1.1 referrers API and the
sha256-<hex> tag fallback, merged; bounded by --depth and --max-referrers),
and for an index the referrers of every platform manifest too. SRC and DST
are registries or OCI layouts. At DST each referrer is written as
push-signature writes a signature: where the registry serves the referrers
API, the manifest's subject is enough; elsewhere signet updates the
sha256-<hex> index tag (once per subject, without losing concurrent
writers' entries). A prototype artifact (the 2021 links-API format) stays
one where DST serves the links API; elsewhere (distribution, most
registries, OCI layouts) it is converted to an OCI 1.1 artifact manifest
with a subject holding the same JWT, which signs the image, not the
artifact, so 'signet verify' at DST still passes. Every conversion is named
on stderr and in --format json ("converted": true). --artifact-type copies
only referrers of that type. A source without referrers is copied and
"no referrers" said.

Everything is checked for existence at DST first, so repeating a copy sends
one request per manifest and nothing else. A copy into an OCI layout is
staged: if it fails or is interrupted, the layout is left as it was.

On a terminal, each blob of 256 KiB or more gets a progress bar on stderr
(bytes, rate, time left); nothing of it is printed when stderr is not a
terminal, or with --no-progress.`,
		Example: `  signet copy docker-archive:busybox.tar 127.0.0.1:5000/busybox:latest
  signet copy oci-layout:./testdata/oci-layout:latest 127.0.0.1:5000/busybox:latest
  signet copy 127.0.0.1:5000/busybox:latest oci-layout:./backup:latest
  signet copy -r 127.0.0.1:5000/busybox:latest registry.example/busybox:latest
  signet copy -r --artifact-type application/vnd.cncf.notary.v2 127.0.0.1:5000/busybox:latest oci-layout:./offline:latest`,
		Args: exactArgs("SRC", "DST"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCopy(cmd, opts, streams, args[0], args[1])
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&opts.recursive, "recursive", "r", false, "copy the referrers graph too (signatures and other artifacts, and their referrers)")
	f.StringVar(&opts.artifactType, "artifact-type", "", "with -r, copy only referrers of this artifact type")
	f.IntVar(&opts.depth, "depth", 0, "with -r, levels of referrers to follow, 1 to 8 (default: as discover)")
	f.IntVar(&opts.maxReferrers, "max-referrers", discover.DefaultMaxReferrers, "with -r, most referrers copied per subject")
	f.BoolVar(&opts.noProgress, "no-progress", false, "no progress bars, even on a terminal")
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
	if !opts.recursive {
		for _, f := range []string{"artifact-type", "depth", "max-referrers"} {
			if cmd.Flags().Changed(f) {
				return errdef.Usage(fmt.Errorf("--%s applies to copy -r only", f))
			}
		}
	}
	if opts.recursive {
		if src.Kind == reference.DockerArchive {
			return errdef.Usage(fmt.Errorf("cannot copy -r from %s: a docker-archive tarball holds no referrers; copy it without -r", srcArg))
		}
		if opts.depth < 0 || (opts.depth == 0 && cmd.Flags().Changed("depth")) || opts.depth > discover.DefaultMaxDepth {
			return errdef.Usage(fmt.Errorf("--depth %d: give 1 to %d", opts.depth, discover.DefaultMaxDepth))
		}
		if opts.maxReferrers <= 0 {
			return errdef.Usage(fmt.Errorf("--max-referrers %d: give 1 or more", opts.maxReferrers))
		}
	}
	for _, r := range []reference.Reference{src, dst} {
		if r.Kind != reference.OCILayout {
			continue
		}
		if fi, err := os.Stat(r.Path); err == nil && !fi.IsDir() {
			return target.NotADirectory(r.Path)
		}
	}
	client, err := opts.remote.newClient(streams)
	if err != nil {
		return err
	}
	if dst.Kind != reference.OCILayout {
		return copyImage(cmd, opts, streams, client, src, dst, nil)
	}
	stage, err := target.StageLayout(dst)
	if err != nil {
		return err
	}
	defer func() { _ = stage.Finish(false) }() // a no-op once finished
	return copyImage(cmd, opts, streams, client, src, dst, stage)
}

// copyImage copies src to dst, writing through stage (when dst is an OCI
// layout: target.StageLayout), which it publishes once the copy is
// complete.
func copyImage(cmd *cobra.Command, opts *copyOptions, streams IOStreams, client *remote.Client, src, dst reference.Reference, stage *target.LayoutStage) error {
	dstOpen := dst
	if stage != nil {
		dstOpen = stage.Ref
	}
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
	if dst.Digest != "" && dst.Digest != desc.Digest {
		return errdef.Usage(fmt.Errorf("%s names %s but SRC is %s", dstArg, dst.Digest, desc.Digest))
	}
	w := d.Writable
	if stage != nil {
		w = stage.Record(w)
	}
	bars := newProgress(streams.Err, opts.noProgress)
	res, err := transfer.Copy(ctx, client,
		transfer.Endpoint{Ref: src, Target: s.ReadOnlyTarget},
		transfer.Endpoint{Ref: dstOpen, Target: w},
		desc, transfer.Options{
			Recursive:    opts.recursive,
			ArtifactType: opts.artifactType,
			Depth:        opts.depth,
			MaxReferrers: opts.maxReferrers,
			Tag:          dst.Tag,
			Observer:     bars.observer(),
		})
	bars.wait()
	if err != nil {
		if res != nil && opts.recursive {
			reportCopied(streams.Err, res, true)
		}
		return fmt.Errorf("copying %s to %s: %w", srcArg, dstArg, err)
	}
	if err := d.Close(); err != nil {
		return err
	}
	if stage != nil {
		if err := stage.Finish(true); err != nil {
			return err
		}
	}
	fmt.Fprintf(streams.Err, "Copied %s to %s\n", srcArg, dst.String())
	out := CopyResult{Source: srcArg, Destination: dst.String(), Manifest: plainDesc(desc)}
	if len(res.Manifests) > 0 {
		fmt.Fprintf(streams.Err, "The index lists %s, copied with it\n", plural(len(res.Manifests), "manifest", "manifests"))
		out.Manifests = res.Manifests
	}
	if opts.recursive {
		reportCopied(streams.Err, res, false)
		out.Recursive = true
		out.Referrers = res.Referrers
		out.Converted = res.Converted()
		out.Truncated = res.Truncated
		out.Skipped = res.Skipped
		out.Warnings = res.Warnings
	}
	return opts.output.print(streams.Out, out)
}

func plainDesc(d ocispec.Descriptor) ocispec.Descriptor {
	return ocispec.Descriptor{MediaType: d.MediaType, Digest: d.Digest, Size: d.Size}
}

// reportCopied says on stderr what copy -r did with the referrers: one
// line per conversion, the warnings, and the counts (after a failure: what
// was copied before it).
func reportCopied(w io.Writer, res *transfer.Result, failed bool) {
	sent, existed := 0, 0
	for _, r := range res.Referrers {
		if r.Existed {
			existed++
		} else {
			sent++
		}
		if r.Converted && !r.Existed {
			fmt.Fprintf(w, "Converted the prototype artifact %s to the OCI 1.1 artifact %s (subject %s): the destination has no links API\n", r.Source.Digest, r.Destination.Digest, r.Subject)
		}
	}
	for _, warning := range res.Warnings {
		fmt.Fprintf(w, "Warning: %s\n", warning)
	}
	switch {
	case failed:
		fmt.Fprintf(w, "Before the failure: copied %s (%d already there)\n", plural(sent, "referrer", "referrers"), existed)
	case len(res.Referrers) == 0 && res.Skipped == 0:
		fmt.Fprintln(w, "No referrers at the source: copied the image only")
	default:
		msg := fmt.Sprintf("Copied %s", plural(sent, "referrer", "referrers"))
		if existed > 0 {
			msg += fmt.Sprintf(", %d already at the destination", existed)
		}
		if n := res.Converted(); n > 0 {
			msg += fmt.Sprintf(", %s converted to OCI 1.1", plural(n, "prototype artifact", "prototype artifacts"))
		}
		if res.Skipped > 0 {
			msg += fmt.Sprintf(", %d not copied (see the warnings)", res.Skipped)
		}
		fmt.Fprintln(w, msg)
	}
}
