package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/spf13/cobra"

	"github.com/signet-oci/signet/internal/fsutil"
	"github.com/signet-oci/signet/internal/target"
	"github.com/signet-oci/signet/pkg/discover"
	"github.com/signet-oci/signet/pkg/errdef"
	"github.com/signet-oci/signet/pkg/reference"
)

type pullOptions struct {
	ArtifactType  string
	MaxSignatures int
	MaxReferrers  int
	remote        remoteOptions
	output        outputOptions
}

func newPullSignatureCmd(streams IOStreams) *cobra.Command {
	opts := &pullOptions{output: formats("text", "json").withDir(".", "directory to write the signatures to (created if missing)")}
	cmd := &cobra.Command{
		Use:   "pull-signature REFERENCE [-o DIR]",
		Short: "Download the signatures of an image",
		Long: `Download the signature blobs of REFERENCE into DIR (default: the current
directory). This replaces the walkthrough's 'curl …/blobs/$signatureDigest'.

Signatures are found through every mechanism (links API, referrers API, tag
fallback). Each artifact manifest must name REFERENCE's manifest, and each
blob is checked against its digest before it is written (atomically) as
DIR/<algorithm>-<hex>.<jwt|jws|cose>. The paths written are printed on stdout,
one per line. Nothing is verified against trust here: use 'signet verify'.
REFERENCE may also be oci-layout:DIR[:tag|@digest]: the signatures stored
in that OCI image layout (docs/offline.md).
Exit status 4 when there is no signature.`,
		Example: `  signet pull-signature 127.0.0.1:5000/busybox:latest
  signet pull-signature oci-layout:./busybox-layout:v1 -o sigs
  sig=$(signet pull-signature 127.0.0.1:5000/busybox:latest -o sigs | head -n 1)`,
		Args: exactArgs("REFERENCE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPullSignature(cmd, opts, streams, args[0])
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.ArtifactType, "artifact-type", "", "only signatures of this artifact type")
	f.IntVar(&opts.MaxSignatures, "max-signatures", discover.DefaultMaxSignatures, "most signatures downloaded")
	f.IntVar(&opts.MaxReferrers, "max-referrers", discover.DefaultMaxReferrers, "most referrers listed per mechanism while looking for signatures")
	return withGroups(cmd, streams, &opts.remote, &opts.output)
}

func runPullSignature(cmd *cobra.Command, opts *pullOptions, streams IOStreams, refArg string) error {
	if opts.MaxSignatures < 1 {
		return errdef.Usage(fmt.Errorf("--max-signatures %d: give 1 or more", opts.MaxSignatures))
	}
	if opts.MaxReferrers < 1 {
		return errdef.Usage(fmt.Errorf("--max-referrers %d: give 1 or more", opts.MaxReferrers))
	}
	ref, err := reference.Parse(refArg)
	if err != nil {
		return err
	}
	// -o is checked before any work, as every output (docs/cli-conventions.md).
	if st, err := os.Stat(opts.output.Path); err == nil && !st.IsDir() {
		return errdef.Usage(fmt.Errorf("-o %s is a file, not a directory; name a directory for the signature files (created if missing)", opts.output.Path))
	}
	client, err := opts.remote.newClient(streams)
	if err != nil {
		return err
	}
	d, err := target.Discoverer(cmd.Context(), "pull-signature", ref, client, discover.Options{ArtifactType: opts.ArtifactType, Depth: 1, MaxReferrers: opts.MaxReferrers})
	if err != nil {
		return err
	}
	subject, err := d.Resolve(cmd.Context())
	if err != nil {
		return err
	}
	warnTag(streams, ref, subject.Digest)
	found, warnings, err := d.Signatures(cmd.Context(), subject, discover.SignatureOptions{MaxSignatures: opts.MaxSignatures})
	for _, w := range warnings {
		fmt.Fprintln(streams.Err, "Warning: "+w)
	}
	if err != nil {
		return err
	}
	_, statErr := os.Stat(opts.output.Path)
	if err := os.MkdirAll(opts.output.Path, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", opts.output.Path, fsutil.UnwrapPath(err))
	}
	if errors.Is(statErr, fs.ErrNotExist) {
		// A directory made for nothing is not left behind: removed
		// unless something was written into it (Remove fails then).
		defer os.Remove(opts.output.Path)
	}
	var pulled []PulledSignature
	byPath := map[string]int{} // artifacts carrying the same blob share one file
	failed := 0
	for _, f := range found {
		if f.Err != nil {
			failed++
			fmt.Fprintf(streams.Err, "Warning: skipped %s: %v\n", f.Artifact.Digest, f.Err)
			continue
		}
		name := f.Signature.Blob.Digest.Algorithm().String() + "-" + f.Signature.Blob.Digest.Encoded() + "." + f.Signature.Format
		p := filepath.Join(opts.output.Path, name)
		if i, ok := byPath[p]; ok {
			pulled[i].FoundBy = mergeMechanisms(pulled[i].FoundBy, f.Mechanisms)
			pulled[i].Artifacts = append(pulled[i].Artifacts, f.Artifact)
			continue
		}
		byPath[p] = len(pulled)
		if err := (fsutil.Output{Inputs: opts.remote.inputs()}).Write(p, f.Envelope, 0o644); err != nil {
			return err
		}
		pulled = append(pulled, PulledSignature{Path: p, Artifact: f.Artifact, Artifacts: []ocispec.Descriptor{f.Artifact}, Signature: f.Signature.Blob, Format: f.Signature.Format, FoundBy: f.Mechanisms})
	}
	if len(pulled) == 0 {
		return fmt.Errorf("none of the %d signature artifact(s) of %s could be downloaded", failed, ref.WithDigest(subject.Digest))
	}
	artifacts := 0
	for _, p := range pulled {
		artifacts += len(p.Artifacts)
	}
	shared := ""
	if artifacts > len(pulled) {
		shared = fmt.Sprintf(" (from %d signature artifacts: some carry the same signature)", artifacts)
	}
	fmt.Fprintf(streams.Err, "Wrote %d signature file(s) for %s%s\n", len(pulled), ref.WithDigest(subject.Digest), shared)
	return opts.output.print(streams.Out, PullResult{Subject: subject, Signatures: pulled})
}

// mergeMechanisms is the sorted union of two foundBy lists.
func mergeMechanisms(a, b []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, m := range append(append([]string{}, a...), b...) {
		if !seen[m] {
			seen[m] = true
			out = append(out, m)
		}
	}
	sort.Strings(out)
	return out
}
