package cli

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"

	"github.com/opencontainers/go-digest"
	"github.com/spf13/cobra"

	"github.com/signet-oci/signet/internal/fsutil"
	"github.com/signet-oci/signet/internal/push"
	"github.com/signet-oci/signet/internal/target"
	"github.com/signet-oci/signet/pkg/certgen"
	"github.com/signet-oci/signet/pkg/errdef"
	"github.com/signet-oci/signet/pkg/reference"
	"github.com/signet-oci/signet/pkg/signature"
)

func newGenerateCmd(streams IOStreams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "generate",
		Short: "Generate a key and certificate, the manifest to sign, or an artifact manifest",
	}
	cmd.AddCommand(newGenerateCertCmd(streams), newGenerateManifestCmd(streams), newGenerateArtifactCmd(streams))
	return groupCmd(cmd)
}

type generateCertOptions struct {
	KeyOut, CertOut string
	CN              string
	Subject         string
	Org             []string
	IPs             []string
	DNS             []string
	Days            int
	KeyType         string
	CA              bool
	CodeSigning     bool
	CAKey, CACert   string
	Force           bool
	output          outputOptions
}

func newGenerateCertCmd(streams IOStreams) *cobra.Command {
	opts := &generateCertOptions{output: formats("text", "json")}
	cmd := &cobra.Command{
		Use:   "cert --key-out FILE --cert-out FILE",
		Short: "Generate a private key and an x509 certificate for signing",
		Long: `Generate a private key (PKCS #8 PEM, mode 0600) and an x509 certificate.
This replaces the walkthrough's 'openssl req -x509 …' step.

By default the certificate is self-signed, not a CA, has the digitalSignature
key usage and no extended key usage, so that it works for the prototype's
x509 JWT format and for Notary Project JWS/COSE signatures alike. The jwt
format checks each signed reference's registry host against the certificate's
subject alternative names: give --ip for an IP host and --dns for a name.
With --ca-key and --ca-cert the certificate is issued by that CA instead, and
the certificate file holds the leaf followed by the CA certificate.

The SHA-256 fingerprint of the certificate is printed on stdout.`,
		Example: `  signet generate cert --key-out example.key --cert-out example.crt --ip 127.0.0.1
  signet generate cert --key-out ca.key --cert-out ca.crt --cn "example CA" --ca
  signet generate cert --key-out leaf.key --cert-out leaf.crt --dns registry.example --ca-key ca.key --ca-cert ca.crt`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runGenerateCert(opts, streams)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.KeyOut, "key-out", "", "write the private key here (mode 0600)")
	f.StringVar(&opts.CertOut, "cert-out", "", "write the certificate here")
	f.StringVar(&opts.CN, "cn", "", "subject common name (default: the first --dns, else the first --ip)")
	f.StringVar(&opts.Subject, "subject", "", `whole subject, openssl -subj style: "/CN=127.0.0.1/O=example inc/C=IN/ST=Haryana/L=Gurgaon"`)
	f.StringSliceVar(&opts.Org, "org", nil, "subject organization")
	f.StringSliceVar(&opts.IPs, "ip", nil, "IP subject alternative name (repeatable)")
	f.StringSliceVar(&opts.DNS, "dns", nil, "DNS subject alternative name (repeatable)")
	f.IntVar(&opts.Days, "days", certgen.DefaultDays, "validity in days")
	f.StringVar(&opts.KeyType, "key-type", certgen.KeyRSA2048, "key type: rsa-2048, rsa-3072, rsa-4096, ec-p256, ec-p384, ec-p521")
	f.BoolVar(&opts.CA, "ca", false, "make a CA certificate (to issue signing certificates with --ca-key/--ca-cert)")
	f.BoolVar(&opts.CodeSigning, "code-signing", false, "add the codeSigning extended key usage (the prototype's verifier then refuses it)")
	f.StringVar(&opts.CAKey, "ca-key", "", "issue the certificate from this CA key")
	f.StringVar(&opts.CACert, "ca-cert", "", "issue the certificate from this CA certificate")
	f.BoolVar(&opts.Force, "force", false, "overwrite existing files")
	_ = cmd.MarkFlagRequired("key-out")
	_ = cmd.MarkFlagRequired("cert-out")
	cmd.MarkFlagsRequiredTogether("ca-key", "ca-cert")
	return withGroups(cmd, streams, &opts.output)
}

func runGenerateCert(opts *generateCertOptions, streams IOStreams) error {
	if err := oneOf("--key-type", opts.KeyType, certgen.KeyTypes...); err != nil {
		return err
	}
	if opts.Days < 1 {
		return errdef.Usage(fmt.Errorf("--days %d: give 1 or more (the default is %d)", opts.Days, certgen.DefaultDays))
	}
	if opts.KeyOut == opts.CertOut {
		return errdef.Usage(errors.New("--key-out and --cert-out must be different files"))
	}
	out := fsutil.Output{Inputs: []string{opts.CAKey, opts.CACert}, Force: opts.Force}
	for _, p := range []string{opts.KeyOut, opts.CertOut} {
		if err := out.Check(p); err != nil {
			return err
		}
		if _, err := os.Stat(p); err == nil && !opts.Force {
			return errdef.Usage(fmt.Errorf("%s exists; remove it or pass --force", p))
		}
	}
	co := certgen.Options{CommonName: opts.CN, Organization: opts.Org, DNSNames: opts.DNS, Days: opts.Days, KeyType: opts.KeyType, IsCA: opts.CA, CodeSigning: opts.CodeSigning}
	if opts.Subject != "" {
		if opts.CN != "" || len(opts.Org) > 0 {
			return errdef.Usage(errors.New("--subject already names the subject; drop --cn and --org"))
		}
		if err := certgen.ParseSubject(opts.Subject, &co); err != nil {
			return errdef.Usage(err)
		}
	}
	for _, s := range opts.IPs {
		ip := net.ParseIP(s)
		if ip == nil {
			return errdef.Usage(fmt.Errorf("--ip %q is not an IP address", s))
		}
		co.IPs = append(co.IPs, ip)
	}
	if opts.CAKey != "" {
		key, certs, err := signature.LoadKeyPair(opts.CAKey, opts.CACert)
		if err != nil {
			return err
		}
		co.CAKey, co.CACert = key, certs[0]
	}
	keyPEM, certPEM, err := certgen.Generate(co)
	if err != nil {
		return err
	}
	if err := out.Write(opts.KeyOut, keyPEM, 0o600); err != nil {
		return err
	}
	if err := out.Write(opts.CertOut, certPEM, 0o644); err != nil {
		os.Remove(opts.KeyOut)
		return err
	}
	block, _ := pem.Decode(certPEM)
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(cert.Raw)
	fp := hex.EncodeToString(sum[:])
	fmt.Fprintf(streams.Err, "Wrote %s (private key, mode 0600) and %s (%s, valid until %s)\n", opts.KeyOut, opts.CertOut, cert.Subject, cert.NotAfter.UTC().Format("2006-01-02"))
	return opts.output.print(streams.Out, CertResult{Key: opts.KeyOut, Certificate: opts.CertOut, Subject: cert.Subject.String(), SHA256Fingerprint: "sha256:" + fp, NotAfter: cert.NotAfter.UTC()})
}

type generateManifestOptions struct {
	Force  bool
	remote remoteOptions
	output outputOptions
}

func newGenerateManifestCmd(streams IOStreams) *cobra.Command {
	opts := &generateManifestOptions{output: outputOptions{}.withFile("write the manifest to FILE and print its digest")}
	cmd := &cobra.Command{
		Use:   "manifest SOURCE [-o FILE]",
		Short: "Print the exact manifest bytes of an image (the bytes that get signed)",
		Long: `Print the manifest of SOURCE, byte for byte: the bytes 'signet sign' signs.
This replaces 'docker generate manifest' in the walkthrough.

  host[:port]/repo[:tag|@digest]  the registry's bytes, unchanged
  oci-layout:DIR[:tag|@digest]    the layout's bytes
  docker-archive:FILE.tar         a legacy 'docker save' tarball gives exactly
                                  what docker-generate printed (three-space
                                  indent, re-gzipped layers, no final newline),
                                  and what 'signet copy' pushes from it; a
                                  Docker 25+ tarball gives its OCI manifest

With -o the manifest goes to FILE (atomically) and its digest to stdout.`,
		Example: `  signet generate manifest docker-archive:busybox.tar > manifest-to-sign.json
  signet generate manifest 127.0.0.1:5000/busybox:latest -o manifest-to-sign.json`,
		Args: exactArgs("SOURCE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref, err := reference.Parse(args[0])
			if err != nil {
				return err
			}
			out := fsutil.Output{Inputs: append(opts.remote.inputs(), localPath(ref)), Force: opts.Force}
			if err := out.Check(opts.output.Path); err != nil {
				return err
			}
			client, err := opts.remote.newClient(streams)
			if err != nil {
				return err
			}
			desc, b, err := target.ResolveManifest(cmd.Context(), ref, client)
			if err != nil {
				return err
			}
			warnTag(streams, ref, desc.Digest)
			if opts.output.Path == "" {
				_, err = streams.Out.Write(b)
				return err
			}
			if err := out.Write(opts.output.Path, b, 0o644); err != nil {
				return err
			}
			fmt.Fprintln(streams.Out, desc.Digest)
			return nil
		},
	}
	cmd.Flags().BoolVar(&opts.Force, "force", false, "let -o overwrite an existing private key")
	return withGroups(cmd, streams, &opts.remote, &opts.output)
}

type generateArtifactOptions struct {
	Signature string
	Manifest  string
	Format    string
	Force     bool
	output    outputOptions
}

func newGenerateArtifactCmd(streams IOStreams) *cobra.Command {
	opts := &generateArtifactOptions{output: outputOptions{}.withFile("write the artifact to FILE and print its digest")}
	cmd := &cobra.Command{
		Use:   "artifact --signature FILE --manifest FILE [--artifact-format prototype|oci] [-o FILE]",
		Short: "Build the artifact manifest that points a signature at the manifest it signs",
		Long: `Build the artifact manifest that 'signet push-signature' pushes, without
pushing it. This replaces the walkthrough's 'cat <<EOF > artifact.json' step.

  --artifact-format prototype  the walkthrough's artifact.json, byte for byte
                               (application/vnd.oci.artifact.manifest.v1+json,
                               artifactType application/vnd.cncf.notary.v2,
                               the signature as config, the manifest in
                               manifests[]); found through the links API
  --artifact-format oci        an OCI 1.1 image manifest with subject, the
                               empty config and the signature as its layer;
                               found through the referrers API or its tag
                               fallback

The signature must parse and sign exactly --manifest (a JWT's digest, size
and mediaType claims; a JWS or COSE payload's targetArtifact), else exit
status 3 with the reason; --force builds it anyway.

With -o the artifact goes to FILE (atomically) and its digest to stdout.`,
		Example: `  signet generate artifact --signature manifest-signature.jwt --manifest manifest-to-sign.json -o artifact.json`,
		Args:    exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runGenerateArtifact(opts, streams)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Signature, "signature", "", "the signature file (from 'signet sign')")
	f.StringVar(&opts.Manifest, "manifest", "", "the signed manifest file")
	f.StringVar(&opts.Format, "artifact-format", "prototype", "prototype or oci")
	f.BoolVar(&opts.Force, "force", false, "build it even if the signature does not parse or does not sign --manifest; let -o overwrite an existing private key")
	_ = cmd.MarkFlagRequired("signature")
	_ = cmd.MarkFlagRequired("manifest")
	return withGroups(cmd, streams, &opts.output)
}

func runGenerateArtifact(opts *generateArtifactOptions, streams IOStreams) error {
	if err := oneOf("--artifact-format", opts.Format, "prototype", "oci"); err != nil {
		return err
	}
	out := fsutil.Output{Inputs: []string{opts.Signature, opts.Manifest}, Force: opts.Force}
	if err := out.Check(opts.output.Path); err != nil {
		return err
	}
	sig, format, err := readSignatureFile(opts.Signature)
	if err != nil {
		return err
	}
	subject, err := checkedSubject(streams, opts.Signature, sig, format, opts.Manifest, opts.Force)
	if err != nil {
		return err
	}
	b, _, err := push.BuildArtifact(opts.Format, sig, format, subject, nil)
	if err != nil {
		return fmt.Errorf("%s: %w", opts.Signature, err)
	}
	if opts.output.Path == "" {
		_, err = streams.Out.Write(b)
		return err
	}
	if err := out.Write(opts.output.Path, b, 0o644); err != nil {
		return err
	}
	fmt.Fprintln(streams.Out, digest.FromBytes(b))
	return nil
}
