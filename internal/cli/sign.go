package cli

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/spf13/cobra"

	"github.com/signet-oci/signet/internal/fsutil"
	"github.com/signet-oci/signet/internal/target"
	"github.com/signet-oci/signet/pkg/artifact"
	"github.com/signet-oci/signet/pkg/discover"
	"github.com/signet-oci/signet/pkg/errdef"
	"github.com/signet-oci/signet/pkg/reference"
	"github.com/signet-oci/signet/pkg/signature"
	"github.com/signet-oci/signet/pkg/signature/jwt"
)

type signOptions struct {
	Key        string
	Cert       string
	References []string
	Expiry     time.Duration
	Format     string
	MediaType  string
	Metadata   []string
	Force      bool
	remote     remoteOptions
	output     outputOptions

	// TimestampURL and TimestampRoot: RFC 3161 timestamping (jws, cose).
	TimestampURL, TimestampRoot string
	// Plugin, KeyID, PluginConfig, PluginDir: sign through a notation
	// plugin (jws, cose).
	Plugin, KeyID, PluginDir string
	PluginConfig             []string
	// index: --platform, --recursive, --artifact-format (sign_index.go).
	index signIndexOptions
}

func newSignCmd(streams IOStreams) *cobra.Command {
	opts := &signOptions{output: formats("text", "json").withFile("write the signature to FILE and print its digest")}
	cmd := &cobra.Command{
		Use:   "sign -k KEY -c CERT [-r REFERENCE]… [-o FILE] MANIFEST",
		Short: "Sign a manifest with an x509 key (the prototype's JWT, or Notary Project JWS/COSE)",
		Long: `Sign the exact bytes of MANIFEST. This replaces 'nv2 sign --method x509'.

MANIFEST is file:PATH (a manifest file, exact bytes, as from 'signet generate
manifest'), a registry reference, oci-layout:DIR[:tag] or docker-archive:FILE.

--signature-format jwt (default) writes the 2021 prototype's x509 JWT, byte
compatible with nv2: header {"typ":"x509","alg":…,"x5c":[…]}, claims
mediaType, digest, size, references, exp, iat, nbf. Each -r reference's
registry host (port removed) must be named by the certificate (an IP SAN for
an IP host, a DNS SAN for a name); an unusable reference is an error and no
file is written. Without -r, a registry MANIFEST signs its own reference.

--signature-format jws or cose writes a Notary Project envelope through
notation-go, as 'notation sign' does (signing scheme notary.x509; RSA keys
sign with PSS); --expiry and -m key=value user metadata are signed in. The
certificate must not be a CA and needs the digitalSignature key usage (and
codeSigning if it has extended key usages): 'signet generate cert' makes one.
--timestamp-url URL --timestamp-root-cert FILE has the signature countersigned
by an RFC 3161 time stamping authority (checked against FILE before anything
is written), so that verifiers trusting the TSA (verify --tsa-root-cert)
accept it after the certificate expires (docs/lifecycle.md).
--plugin NAME --key-id ID signs through an installed notation plugin (the key
stays in the KMS or HSM the plugin speaks to; the plugin returns the chain)
instead of -k/-c; plugins are found as notation finds them,
<plugins>/NAME/notation-NAME under notation's configuration directory
(~/.config/notation/plugins on Linux) or --plugin-dir.

The signature goes to -o FILE (atomically; its digest is printed on stdout),
or to stdout without -o (a COSE signature, which is binary, not to a
terminal: exit 2). Nothing is written when signing fails.

Multi-platform images: a MANIFEST that is an image index (or Docker manifest
list) is signed as the index: the signature covers the index's bytes, which
name each platform manifest by digest. --platform os/arch[/variant] signs
the index's manifest for that platform instead (an index without it: exit
4, naming the platforms it has; --platform on a single manifest: exit 2).
--recursive signs the index and every platform manifest it lists, and
pushes each signature next to the manifest it signs, as push-signature
does (--artifact-format auto, prototype or oci; the same probe and
fallbacks); it needs a registry MANIFEST, writes no file (-o is refused)
and prints one line per signed object: its digest, its platform ("index"
for the index) and the signature artifact's digest (--format json:
docs/schemas/sign-recursive.json). Every platform manifest must be in the
repository before anything is signed. See docs/multi-arch.md.`,
		Example: `  signet sign -k example.key -c example.crt -r 127.0.0.1:5000/busybox:latest -o manifest-signature.jwt file:manifest-to-sign.json
  signet sign -k example.key -c example.crt --expiry 720h 127.0.0.1:5000/busybox@sha256:…
  signet sign -k example.key -c example.crt --signature-format cose -m build=42 -o sig.cose 127.0.0.1:5000/busybox@sha256:…
  signet sign -k example.key -c example.crt --signature-format jws --timestamp-url http://timestamp.digicert.com --timestamp-root-cert tsa-root.crt -o sig.jws 127.0.0.1:5000/busybox@sha256:…
  signet sign -k example.key -c example.crt --recursive 127.0.0.1:5000/multi@sha256:…
  signet sign -k example.key -c example.crt --platform linux/arm64 -o arm64.jwt 127.0.0.1:5000/multi@sha256:…
  signet sign --plugin azure-kv --key-id https://myvault.vault.azure.net/keys/signer/1 --signature-format cose -o sig.cose 127.0.0.1:5000/busybox@sha256:…`,
		Args: exactArgs("MANIFEST"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSign(cmd, opts, streams, args[0])
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opts.Key, "key", "k", "", "private key file (PEM: PKCS #8, RSA or EC)")
	f.StringVarP(&opts.Cert, "cert", "c", "", "certificate chain file (PEM, leaf first); it goes into the signature")
	f.StringArrayVarP(&opts.References, "reference", "r", nil, "registry reference the signature is for (repeatable)")
	f.DurationVar(&opts.Expiry, "expiry", 0, "signature lifetime, e.g. 720h (default: no expiry)")
	f.StringVar(&opts.Format, "signature-format", "jwt", "jwt (prototype x509 JWT), jws or cose (Notary Project)")
	f.StringVar(&opts.MediaType, "media-type", "", "override the signed manifest's media type (default: its own mediaType)")
	f.StringArrayVarP(&opts.Metadata, "user-metadata", "m", nil, "key=value metadata signed into Notary Project signatures (repeatable)")
	f.BoolVar(&opts.Force, "force", false, "let -o overwrite an existing private key")
	f.StringVar(&opts.TimestampURL, "timestamp-url", "", "RFC 3161 time stamping authority URL (jws, cose; with --timestamp-root-cert)")
	f.StringVar(&opts.TimestampRoot, "timestamp-root-cert", "", "the time stamping authority's root certificate, PEM (with --timestamp-url)")
	f.StringVar(&opts.Plugin, "plugin", "", "sign through this installed notation plugin instead of -k/-c (jws, cose)")
	f.StringVar(&opts.KeyID, "key-id", "", "the key's ID in the plugin's key service (with --plugin)")
	f.StringArrayVar(&opts.PluginConfig, "plugin-config", nil, "key=value passed to the plugin (repeatable)")
	f.StringVar(&opts.PluginDir, "plugin-dir", "", "notation plugin directory (default: notation's, e.g. ~/.config/notation/plugins)")
	opts.index.addFlags(cmd)
	return withGroups(cmd, streams, &opts.remote, &opts.output)
}

func runSign(cmd *cobra.Command, opts *signOptions, streams IOStreams, manifestArg string) error {
	if err := oneOf("--signature-format", opts.Format, "jwt", "jws", "cose"); err != nil {
		return err
	}
	if opts.Expiry < 0 {
		return errdef.Usage(fmt.Errorf("--expiry %s is negative", opts.Expiry))
	}
	if err := checkTimestampFlags(opts); err != nil {
		return err
	}
	if err := checkPluginFlags(opts); err != nil {
		return err
	}
	ref, err := parseManifestArg(manifestArg)
	if err != nil {
		return err
	}
	if err := opts.index.check(opts, ref); err != nil {
		return err
	}
	out := fsutil.Output{Inputs: append(opts.remote.inputs(), opts.Key, opts.Cert, localPath(ref)), Force: opts.Force}
	if err := out.Check(opts.output.Path); err != nil {
		return err
	}
	if opts.Format == "cose" && opts.output.Path == "" && !opts.index.Recursive && !opts.output.json() && writerIsTerminal(streams.Out) {
		return errdef.Usage(errors.New("a COSE signature is binary: it would garble the terminal; write it to a file with -o FILE (or redirect stdout)"))
	}
	var key crypto.Signer
	var certs []*x509.Certificate
	if opts.Plugin == "" {
		if key, certs, err = signature.LoadKeyPair(opts.Key, opts.Cert); err != nil {
			return err
		}
	}
	client, err := opts.remote.newClient(streams)
	if err != nil {
		return err
	}
	desc, mbytes, err := target.ResolveManifest(cmd.Context(), ref, client)
	if err != nil {
		return err
	}
	warnTag(streams, ref, desc.Digest)
	if opts.index.Recursive {
		return runSignRecursive(cmd, opts, streams, ref, client, desc, mbytes, key, certs)
	}
	signedRef := ref
	if opts.index.Platform != "" {
		if desc, signedRef, err = selectPlatform(ref, desc, mbytes, opts.index.Platform); err != nil {
			return err
		}
		fmt.Fprintf(streams.Err, "Selected %s manifest %s of index %s\n", opts.index.Platform, desc.Digest, ref.WithDigest(digest.FromBytes(mbytes)))
	}
	if opts.MediaType != "" {
		desc.MediaType = opts.MediaType
	}
	refs := append([]string{}, opts.References...)
	if len(refs) == 0 && ref.Kind == reference.Registry {
		refs = []string{signedRef.String()}
	}
	sig, err := makeSignature(cmd, opts, key, certs, desc, refs)
	if err != nil {
		return fmt.Errorf("signing %s: %w", manifestArg, err)
	}
	if len(sig) == 0 {
		return errors.New("signing produced no signature; nothing written")
	}
	sigDigest := digest.FromBytes(sig)
	if opts.output.Path != "" {
		if err := out.Write(opts.output.Path, sig, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(streams.Err, "Signed %s (%s) as %s; signature written to %s\n", desc.Digest, manifestArg, opts.Format, opts.output.Path)
	}
	res := SignResult{
		Signature:       ocispec.Descriptor{MediaType: artifact.BlobMediaType(opts.Format), Digest: sigDigest, Size: int64(len(sig))},
		SignatureFormat: opts.Format,
		Subject:         desc,
		References:      refs,
		File:            opts.output.Path,
	}
	if opts.output.Path == "" {
		if opts.Format == "cose" {
			// Binary (CBOR): a JSON string would replace its bytes
			// that are not UTF-8 with U+FFFD; base64 keeps them.
			res.EnvelopeBase64 = sig
		} else {
			res.Envelope = string(sig)
		}
	}
	return opts.output.print(streams.Out, res)
}

// makeSignature signs desc in opts.Format (jwt: naming refs).
func makeSignature(cmd *cobra.Command, opts *signOptions, key crypto.Signer, certs []*x509.Certificate, desc ocispec.Descriptor, refs []string) ([]byte, error) {
	if opts.Format == "jwt" {
		if len(opts.Metadata) > 0 {
			return nil, errdef.Usage(errors.New("--user-metadata applies to jws and cose signatures only"))
		}
		return jwt.Sign(desc, jwt.SignOptions{Signer: key, Certificates: certs, References: refs, Expiry: opts.Expiry})
	}
	return signNotation(cmd, opts, key, certs, desc)
}

// parseManifestArg parses a MANIFEST argument, with a hint for a bare path.
func parseManifestArg(arg string) (reference.Reference, error) {
	ref, err := reference.Parse(arg)
	if err != nil {
		if _, serr := os.Stat(arg); serr == nil {
			return reference.Reference{}, errdef.Usage(fmt.Errorf("%q: write file:%s for a manifest file", arg, arg))
		}
		return reference.Reference{}, err
	}
	return ref, nil
}

// localPath is the file or directory a local reference reads ("" for a
// registry reference).
func localPath(ref reference.Reference) string {
	if ref.Kind == reference.Registry {
		return ""
	}
	return ref.Path
}

// readSignatureFile reads a signature envelope and tells its format.
func readSignatureFile(path string) ([]byte, string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, "", missingInput("signature file", path, err)
	}
	if fi.Size() > discover.MaxSignatureSize {
		return nil, "", fmt.Errorf("signature file %s is %d bytes, over the 1 MiB limit", path, fi.Size())
	}
	b, err := fsutil.ReadFileLimit(path, discover.MaxSignatureSize) // bounded even for a pipe or device
	if errors.Is(err, fsutil.ErrTooLarge) {
		return nil, "", fmt.Errorf("signature file %s is over the 1 MiB limit", path)
	}
	if err != nil {
		return nil, "", missingInput("signature file", path, err)
	}
	if len(b) == 0 {
		return nil, "", fmt.Errorf("signature file %s is empty (a failed 'nv2 sign' leaves such files); sign again", path)
	}
	return b, detectFormat(b), nil
}

// detectFormat tells a compact JWT from a JWS JSON envelope and a COSE one.
func detectFormat(b []byte) string {
	switch {
	case len(b) > 0 && b[0] == '{':
		return "jws"
	case len(b) > 0 && (b[0] == 0xd2 || b[0] == 0x84):
		return "cose"
	case bytes.Count(b, []byte(".")) == 2:
		return "jwt"
	}
	return "jwt"
}
