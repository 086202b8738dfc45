package cli

import (
	"fmt"
	"os"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/spf13/cobra"

	"github.com/signet-oci/signet/internal/errdef"
	"github.com/signet-oci/signet/internal/push"
	"github.com/signet-oci/signet/internal/target"
	"github.com/signet-oci/signet/pkg/reference"
	"github.com/signet-oci/signet/pkg/signature/jwt"
	"github.com/signet-oci/signet/pkg/signature/notation"
)

type pushOptions struct {
	Signature string
	Manifest  string
	Artifact  string
	Format    string
	remote    remoteOptions
	output    outputOptions
}

func newPushSignatureCmd(streams IOStreams) *cobra.Command {
	opts := &pushOptions{}
	cmd := &cobra.Command{
		Use:   "push-signature --signature FILE [--manifest FILE] [--artifact FILE] REFERENCE",
		Short: "Push a signature and its artifact manifest next to the image it signs",
		Long: `Push a signature to REFERENCE's repository: the signature blob (skipped when
the registry has it) and an artifact manifest pointing at the signed
manifest. This replaces the walkthrough's curl POST/PUT blob and PUT
manifest steps. The artifact's digest is printed on stdout.

The signed manifest is --manifest FILE, or else the one the signature names
(a JWT's digest, size and mediaType claims). If REFERENCE has a digest it
must be that manifest.

  --artifact-format prototype  the walkthrough's artifact manifest, found
                               through the prototype links API
  --artifact-format oci        an OCI 1.1 manifest with subject, found through
                               the referrers API, or the sha256-<hex> tag
                               fallback that signet maintains on registries
                               without it
  --artifact-format auto       (default) prototype when the registry serves
                               the links API, oci otherwise; one probe request

--artifact FILE pushes a prebuilt artifact (from 'signet generate artifact')
byte for byte instead of building one.`,
		Example: `  signet push-signature --signature manifest-signature.jwt --manifest manifest-to-sign.json 127.0.0.1:5000/busybox
  signet push-signature --signature manifest-signature.jwt --artifact artifact.json 127.0.0.1:5000/busybox
  signet push-signature --signature sig.jwt --artifact-format oci 127.0.0.1:5000/busybox@sha256:…`,
		Args: exactArgs("REFERENCE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			defer opts.remote.done(streams)
			return runPushSignature(cmd, opts, streams, args[0])
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Signature, "signature", "", "the signature file")
	f.StringVar(&opts.Manifest, "manifest", "", "the signed manifest file (default: from the signature's claims)")
	f.StringVar(&opts.Artifact, "artifact", "", "push this prebuilt artifact manifest file byte for byte")
	f.StringVar(&opts.Format, "artifact-format", push.FormatAuto, "auto, prototype or oci")
	opts.remote.addFlags(f)
	opts.output.addFlags(f, "text", "text", "json")
	_ = cmd.MarkFlagRequired("signature")
	return cmd
}

func runPushSignature(cmd *cobra.Command, opts *pushOptions, streams IOStreams, refArg string) error {
	if err := opts.output.validate(); err != nil {
		return err
	}
	if err := oneOf("--artifact-format", opts.Format, push.FormatAuto, push.FormatPrototype, push.FormatOCI); err != nil {
		return err
	}
	ref, err := reference.Parse(refArg)
	if err != nil {
		return err
	}
	if ref.Kind != reference.Registry {
		return errdef.Usage(fmt.Errorf("push-signature needs a registry reference, not %s", refArg))
	}
	sig, format, err := readSignatureFile(opts.Signature)
	if err != nil {
		return err
	}
	req := push.Request{Ref: ref, Signature: sig, SignatureFormat: format, Format: opts.Format}
	switch {
	case opts.Manifest != "":
		req.Subject, _, err = target.ReadManifestFile(opts.Manifest)
		if err != nil {
			return err
		}
	case format == "jwt":
		_, claims, err := jwt.Parse(sig)
		if err != nil {
			return fmt.Errorf("%s is not a readable x509 JWT (%v); pass --manifest", opts.Signature, err)
		}
		d, err := parseDigest(claims.Digest)
		if err != nil {
			return fmt.Errorf("%s: digest claim: %w", opts.Signature, err)
		}
		req.Subject = ocispec.Descriptor{MediaType: claims.MediaType, Digest: d, Size: claims.Size}
	case format == "jws" || format == "cose":
		req.Subject, err = notation.Subject(sig, format)
		if err != nil {
			return fmt.Errorf("%s: %v; pass --manifest", opts.Signature, err)
		}
	default:
		return errdef.Usage(fmt.Errorf("pass --manifest: the signed manifest cannot be read from a %s signature", format))
	}
	if opts.Artifact != "" {
		b, err := os.ReadFile(opts.Artifact)
		if err != nil {
			return errdef.NotFound(fmt.Errorf("artifact file %s: %w", opts.Artifact, unwrapPathErr(err)))
		}
		req.Artifact = b
	}
	client, err := opts.remote.newClient(streams)
	if err != nil {
		return err
	}
	res, err := push.Push(cmd.Context(), client, req)
	if err != nil {
		return err
	}
	uploaded := "uploaded"
	if !res.SignatureUploaded {
		uploaded = "already in the registry"
	}
	how := map[string]string{
		"links":        "found through the prototype links API",
		"referrers":    "indexed by the registry's referrers API",
		"tag-fallback": "indexed under the referrers tag sha256-" + res.Subject.Digest.Encoded() + " (the registry has no referrers API)",
	}[res.Discovery]
	fmt.Fprintf(streams.Err, "Signature blob %s %s\n", res.Signature.Digest, uploaded)
	fmt.Fprintf(streams.Err, "Pushed %s artifact manifest %s for %s, %s\n", res.Format, res.Artifact.Digest, res.Subject.Digest, how)
	for _, w := range res.Warnings {
		fmt.Fprintln(streams.Err, "Warning: "+w)
	}
	if opts.output.Format == "json" {
		return writeJSON(streams.Out, res)
	}
	fmt.Fprintln(streams.Out, res.Artifact.Digest)
	return nil
}
