package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/opencontainers/go-digest"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/spf13/cobra"

	"github.com/signet-oci/signet/internal/fsutil"
	"github.com/signet-oci/signet/internal/push"
	"github.com/signet-oci/signet/internal/target"
	"github.com/signet-oci/signet/pkg/errdef"
	"github.com/signet-oci/signet/pkg/manifest"
	"github.com/signet-oci/signet/pkg/reference"
	"github.com/signet-oci/signet/pkg/remote"
	"github.com/signet-oci/signet/pkg/signature/jwt"
	"github.com/signet-oci/signet/pkg/signature/notation"
)

type pushOptions struct {
	Signature string
	Manifest  string
	Artifact  string
	Format    string
	Force     bool
	remote    remoteOptions
	output    outputOptions
}

func newPushSignatureCmd(streams IOStreams) *cobra.Command {
	opts := &pushOptions{output: formats("text", "json")}
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

REFERENCE may also be oci-layout:DIR[:tag|@digest], an OCI image layout
holding the signed image (offline; docs/offline.md). The signature is stored
there as an OCI 1.1 artifact with subject (a layout has no links API: auto
picks oci and says so; --artifact-format prototype is refused), jws and cose
in the form notation writes into a layout, so that 'oras discover
--oci-layout' and 'notation verify --oci-layout' find it. Blobs are written
first and index.json last, atomically, with the artifact listed untagged; a
failed push leaves the layout as it was; concurrent pushes into one layout
take turns (a lock on the directory) and keep each other's entries.

--artifact FILE pushes a prebuilt artifact (from 'signet generate artifact')
byte for byte instead of building one.

Before pushing, signet checks that the signature parses and signs exactly
the subject (a JWT's digest, size and mediaType claims; a JWS or COSE
payload's targetArtifact), that --manifest is that manifest, that a tag in
REFERENCE points at it, and that the registry has it: exit status 3 when the
signature does not parse or signs another manifest, 4 when the manifest is not
in the repository (push the image first). No trust is checked here ('signet
verify' does that). --force skips these checks, for the rare deliberate case.`,
		Example: `  signet push-signature --signature manifest-signature.jwt --manifest manifest-to-sign.json 127.0.0.1:5000/busybox
  signet push-signature --signature manifest-signature.jwt --artifact artifact.json 127.0.0.1:5000/busybox
  signet push-signature --signature sig.jwt --artifact-format oci 127.0.0.1:5000/busybox@sha256:…
  signet push-signature --signature sig.cose oci-layout:./busybox-layout:v1`,
		Args: exactArgs("REFERENCE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPushSignature(cmd, opts, streams, args[0])
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Signature, "signature", "", "the signature file")
	f.StringVar(&opts.Manifest, "manifest", "", "the signed manifest file (default: from the signature's claims)")
	f.StringVar(&opts.Artifact, "artifact", "", "push this prebuilt artifact manifest file byte for byte")
	f.StringVar(&opts.Format, "artifact-format", push.FormatAuto, "auto, prototype or oci")
	f.BoolVar(&opts.Force, "force", false, "push even if the signature does not parse, does not sign REFERENCE's manifest, or the manifest is not in the registry")
	_ = cmd.MarkFlagRequired("signature")
	return withGroups(cmd, streams, &opts.remote, &opts.output)
}

func runPushSignature(cmd *cobra.Command, opts *pushOptions, streams IOStreams, refArg string) error {
	if err := oneOf("--artifact-format", opts.Format, push.FormatAuto, push.FormatPrototype, push.FormatOCI); err != nil {
		return err
	}
	ref, err := reference.Parse(refArg)
	if err != nil {
		return err
	}
	if ref.Kind != reference.Registry && ref.Kind != reference.OCILayout {
		return errdef.Usage(fmt.Errorf("push-signature needs a registry reference or oci-layout:DIR[:tag|@digest], not %s", refArg))
	}
	sig, format, err := readSignatureFile(opts.Signature)
	if err != nil {
		return err
	}
	req := push.Request{Ref: ref, Signature: sig, SignatureFormat: format, Format: opts.Format}
	req.Subject, err = checkedSubject(streams, opts.Signature, sig, format, opts.Manifest, opts.Force)
	if err != nil {
		return err
	}
	if opts.Artifact != "" {
		b, err := fsutil.ReadFileLimit(opts.Artifact, manifest.MaxManifestSize)
		if err != nil {
			return missingInput("artifact file", opts.Artifact, err)
		}
		req.Artifact = b
	}
	if ref.Kind == reference.OCILayout {
		return pushToLayout(cmd.Context(), opts, streams, req, opts.Force)
	}
	client, err := opts.remote.newClient(streams)
	if err != nil {
		return err
	}
	if err := checkSubjectInRegistry(cmd.Context(), streams, client, ref, req.Subject, opts.Force); err != nil {
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
	return opts.output.print(streams.Out, PushResult(*res))
}

// signedSubject parses a signature envelope and returns the manifest it
// signs; a signature that does not parse is a verification failure (exit
// status 3) with the parser's reason.
func signedSubject(file string, sig []byte, format string) (ocispec.Descriptor, error) {
	switch format {
	case "jwt":
		_, claims, err := jwt.Parse(sig)
		if err != nil {
			return ocispec.Descriptor{}, errdef.Verification(fmt.Errorf("%s is not a readable x509 JWT: %s", file, strings.TrimPrefix(err.Error(), "jwt signature: ")))
		}
		d, err := digest.Parse(claims.Digest)
		if err != nil {
			return ocispec.Descriptor{}, errdef.Verification(fmt.Errorf("%s: its digest claim %q is not a digest", file, claims.Digest))
		}
		return ocispec.Descriptor{MediaType: claims.MediaType, Digest: d, Size: claims.Size}, nil
	case "jws", "cose":
		d, err := notation.Subject(sig, format)
		if err != nil {
			return ocispec.Descriptor{}, errdef.Verification(fmt.Errorf("%s is not a readable %s signature: %v", file, format, err))
		}
		return d, nil
	}
	return ocispec.Descriptor{}, errdef.Verification(fmt.Errorf("%s: not a jwt, jws or cose signature", file))
}

// sameSubject reports how the manifest a signature signs differs from m
// ("" when it is m).
func sameSubject(signed, m ocispec.Descriptor) string {
	switch {
	case signed.Digest != m.Digest:
		return fmt.Sprintf("it signs %s, not %s", signed.Digest, m.Digest)
	case signed.Size != m.Size:
		return fmt.Sprintf("it signs %d bytes of %s, not %d", signed.Size, m.Digest, m.Size)
	case signed.MediaType != "" && m.MediaType != "" && signed.MediaType != m.MediaType:
		return fmt.Sprintf("it signs %s as %s, not %s", m.Digest, signed.MediaType, m.MediaType)
	}
	return ""
}

// checkedSubject is the manifest a signature is pushed for: the one it
// signs, which --manifest (when given) must be. With force, a signature
// that does not parse or signs another manifest is let through, with a
// warning, for --manifest.
func checkedSubject(streams IOStreams, sigFile string, sig []byte, format, manifestFile string, force bool) (ocispec.Descriptor, error) {
	signed, perr := signedSubject(sigFile, sig, format)
	if manifestFile == "" {
		if perr != nil && force {
			return ocispec.Descriptor{}, errdef.Usage(fmt.Errorf("%v; with --force, name the signed manifest with --manifest", perr))
		}
		return signed, perr
	}
	m, _, err := target.ReadManifestFile(manifestFile)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	why := ""
	if perr != nil {
		why = perr.Error()
	} else if d := sameSubject(signed, m); d != "" {
		why = fmt.Sprintf("%s does not sign --manifest %s: %s", sigFile, manifestFile, d)
	}
	switch {
	case why == "":
	case force:
		fmt.Fprintf(streams.Err, "Warning: --force: %s; using it for %s anyway\n", why, m.Digest)
	case perr != nil:
		return ocispec.Descriptor{}, perr
	default:
		return ocispec.Descriptor{}, errdef.Verification(fmt.Errorf("%s (pass --force to use it anyway)", why))
	}
	return m, nil
}

// checkSubjectInRegistry makes sure the signed manifest is in ref's
// repository, and that ref's tag or digest names it: a signature pushed
// for nothing, or next to another image, is a dangling or misleading
// referrer.
func checkSubjectInRegistry(ctx context.Context, streams IOStreams, client *remote.Client, ref reference.Reference, subject ocispec.Descriptor, force bool) error {
	if force {
		fmt.Fprintf(streams.Err, "Warning: --force: not checking that %s has %s\n", ref.Repo(), subject.Digest)
		return nil
	}
	repo, err := client.Repository(ref)
	if err != nil {
		return err
	}
	if ref.Digest != "" && ref.Digest != subject.Digest {
		return errdef.Verification(fmt.Errorf("%s names %s, but the signature signs %s (pass --force to use it anyway)", ref.Raw, ref.Digest, subject.Digest))
	}
	at := ref
	if ref.Tag == "" || ref.Digest != "" {
		at.Tag, at.Digest = "", subject.Digest
		at.Raw = ref.WithDigest(subject.Digest)
	}
	desc, err := target.Resolve(ctx, repo, at)
	if errors.Is(err, errdef.ErrNotFound) {
		if at.Tag != "" {
			return errdef.NotFound(fmt.Errorf("%s: not found in the registry; push the image first (signet copy …)", ref.Raw))
		}
		return errdef.NotFound(fmt.Errorf("the signed manifest %s is not in %s; push the image first (signet copy …)", subject.Digest, ref.Repo()))
	}
	if err != nil {
		return err
	}
	if at.Tag != "" {
		warnTag(streams, ref, desc.Digest)
	}
	if d := sameSubject(subject, desc); d != "" {
		return errdef.Verification(fmt.Errorf("the signature does not sign %s: %s (pass --force to use it anyway)", ref.Raw, d))
	}
	return nil
}
