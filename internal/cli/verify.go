package cli

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/signet-oci/signet/internal/errdef"
	"github.com/signet-oci/signet/internal/target"
	"github.com/signet-oci/signet/pkg/reference"
	"github.com/signet-oci/signet/pkg/signature"
	"github.com/signet-oci/signet/pkg/signature/notation"
	"github.com/signet-oci/signet/pkg/verify"
)

type verifyOptions struct {
	SignatureFile string
	Certs         []string
	CACerts       []string
	Identities    []string
	TrustPolicy   string
	TrustStore    string
	MaxSignatures int
	FromFile      string
	remote        remoteOptions
	output        outputOptions
}

func newVerifyCmd(streams IOStreams) *cobra.Command {
	opts := &verifyOptions{}
	cmd := &cobra.Command{
		Use:   "verify REFERENCE… -c CERT… | verify -f SIGNATURE -c CERT… MANIFEST",
		Short: "Verify an image's signatures against the certificates you trust",
		Long: `Verify signatures. This replaces 'nv2 verify'.

Registry mode, 'verify REFERENCE -c CERT': find REFERENCE's signatures through
every mechanism (links API, referrers API, tag fallback), fetch each one
(digest-checked; at most --max-signatures), check each against the trusted
certificates and report every verdict. It succeeds when at least one
signature is valid.

File mode, 'verify -f SIGNATURE -c CERT MANIFEST': check one signature file
against a manifest (file:PATH, exact bytes, or any other source).

Trust: -c gives the signer's certificate (or its chain), --ca-cert a CA the
signer's chain must end at; both may repeat. System roots are never used. A
signature is valid only when its chain ends at a trusted certificate, its
signature verifies, it is within its validity, every reference it names is
for a registry host its certificate is valid for, and it signs exactly the
manifest's digest, size and media type.

Notary Project signatures (jws, cose) are checked with notation-go's
verifier at level strict, using a trust policy held in memory: the -c and
--ca-cert certificates form its trust store (CA certificates and
self-signed signer certificates are trust anchors) and every identity is
trusted unless --identity narrows it to x509 subjects (notation requires
at least C, ST and O in an identity, e.g. "C=US, ST=WA, O=Acme, CN=signer").
--trust-policy FILE and --trust-store DIR use a notation trustpolicy.json
and trust store (…/notation/truststore, holding x509/ca/<name>/) instead;
-c is then not needed, and the trust policy's registryScopes select the
statement by REFERENCE's registry/repository.

Many images, 'verify REF1 REF2 … -c CERT' or '--from-file FILE' (one
reference per line, # comments; - reads stdin): verified concurrently (at
most 8 at a time), one verdict line per image in the order given (VALID,
INVALID, UNSIGNED or ERROR), or with --output json one report per image.

Exit status: 0 valid (every image), 3 signatures found but none valid (for
some image), 4 no signature found (or REFERENCE unknown; for some image,
none invalid), 1 other errors.`,
		Example: `  signet verify 127.0.0.1:5000/busybox:latest -c example.crt
  signet verify 127.0.0.1:5000/busybox:latest 127.0.0.1:5000/alpine:latest -c example.crt
  signet verify --from-file images.txt -c example.crt
  signet verify -f retrieved-signature.jwt -c example.crt file:manifest-to-sign.json
  signet verify 127.0.0.1:5000/busybox@sha256:… --ca-cert ca.crt --output json
  signet verify 127.0.0.1:5000/busybox:latest --ca-cert ca.crt --identity "C=US, ST=WA, O=Acme, CN=signer"
  signet verify 127.0.0.1:5000/busybox:latest --trust-policy ~/.config/notation/trustpolicy.json --trust-store ~/.config/notation/truststore`,
		Args: func(cmd *cobra.Command, args []string) error {
			if opts.FromFile != "" || (len(args) > 1 && opts.SignatureFile == "") {
				return nil // many images
			}
			return exactArgs("REFERENCE|MANIFEST")(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			defer opts.remote.done(streams)
			if opts.FromFile != "" || len(args) > 1 {
				return runVerifyMany(cmd, opts, streams, args)
			}
			return runVerify(cmd, opts, streams, args[0])
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opts.SignatureFile, "signature", "f", "", "verify this signature file against MANIFEST (file mode)")
	f.StringArrayVarP(&opts.Certs, "cert", "c", nil, "trusted signer certificate or chain, PEM (repeatable)")
	f.StringArrayVar(&opts.CACerts, "ca-cert", nil, "trusted CA certificate, PEM (repeatable)")
	f.StringArrayVar(&opts.Identities, "identity", nil, "trust only this signer, an x509 subject DN (repeatable; default: every signer the certificates vouch for)")
	f.StringVar(&opts.TrustPolicy, "trust-policy", "", "notation trustpolicy.json for jws/cose signatures (with --trust-store; replaces -c)")
	f.StringVar(&opts.TrustStore, "trust-store", "", "notation trust store directory (x509/ca/<name>/…) for --trust-policy")
	f.IntVar(&opts.MaxSignatures, "max-signatures", 100, "most signatures examined")
	f.StringVar(&opts.FromFile, "from-file", "", "verify the images listed in `FILE`, one reference per line (- for stdin)")
	opts.remote.addFlags(f)
	opts.output.addFlags(f, "text", "text", "json")
	return cmd
}

func runVerify(cmd *cobra.Command, opts *verifyOptions, streams IOStreams, arg string) error {
	if err := opts.output.validate(); err != nil {
		return err
	}
	if (opts.TrustPolicy == "") != (opts.TrustStore == "") {
		return errdef.Usage(errors.New("--trust-policy and --trust-store go together: give both"))
	}
	if len(opts.Certs)+len(opts.CACerts) == 0 && opts.TrustPolicy == "" {
		return errdef.Usage(errors.New("give the certificates you trust with -c CERT (or --ca-cert CERT), or a notation --trust-policy and --trust-store"))
	}
	if opts.TrustPolicy != "" && len(opts.Identities) > 0 {
		return errdef.Usage(errors.New("--identity does not apply with --trust-policy: put trustedIdentities in the trust policy"))
	}
	if opts.MaxSignatures < 1 {
		return errdef.Usage(fmt.Errorf("--max-signatures %d: give 1 or more", opts.MaxSignatures))
	}
	var certs []*x509.Certificate
	if files := append(append([]string{}, opts.Certs...), opts.CACerts...); len(files) > 0 {
		var err error
		if certs, err = signature.LoadCertificates(files...); err != nil {
			return err
		}
	}
	if opts.TrustPolicy != "" {
		if _, err := notation.LoadTrustPolicy(opts.TrustPolicy); err != nil {
			return errdef.Usage(err)
		}
	}
	trust := verify.Trust{Certificates: certs, Identities: opts.Identities, TrustPolicyFile: opts.TrustPolicy, TrustStoreDir: opts.TrustStore, Now: verifyClock()}
	client, err := opts.remote.newClient(streams)
	if err != nil {
		return err
	}
	if opts.SignatureFile != "" {
		return runVerifyFile(cmd, opts, streams, arg, trust)
	}
	ref, err := reference.Parse(arg)
	if err != nil {
		return err
	}
	if ref.Kind != reference.Registry {
		return errdef.Usage(fmt.Errorf("%s: verify without -f needs a registry reference; to check a signature file use 'signet verify -f SIG -c CERT %s'", arg, arg))
	}
	rep, err := verify.Remote(cmd.Context(), client, ref, verify.Options{Trust: trust, MaxSignatures: opts.MaxSignatures})
	if rep != nil {
		warnTag(streams, ref, rep.Subject.Digest)
		for _, w := range rep.Warnings {
			fmt.Fprintln(streams.Err, "Warning: "+w)
		}
		if opts.output.Format == "json" {
			if jerr := writeJSON(streams.Out, rep); jerr != nil {
				return jerr
			}
		} else {
			printReport(streams.Out, ref.Repo(), rep)
		}
	}
	return err
}

func runVerifyFile(cmd *cobra.Command, opts *verifyOptions, streams IOStreams, manifestArg string, trust verify.Trust) error {
	sig, format, err := readSignatureFile(opts.SignatureFile)
	if err != nil {
		return err
	}
	ref, err := parseManifestArg(manifestArg)
	if err != nil {
		return err
	}
	c, err := opts.remote.newClient(streams)
	if err != nil {
		return err
	}
	desc, _, err := target.ResolveManifest(cmd.Context(), ref, c)
	if err != nil {
		return err
	}
	if ref.Kind == reference.Registry {
		trust.Scope = ref.Repo()
	}
	v, verr := verify.Envelope(format, sig, desc, trust)
	if opts.output.Format == "json" {
		rep := &verify.Report{Reference: manifestArg, Subject: desc, Verified: verr == nil, Signatures: []*verify.Verdict{v}}
		if verr == nil {
			rep.Valid = 1
		}
		if err := writeJSON(streams.Out, rep); err != nil {
			return err
		}
	} else if verr == nil {
		fmt.Fprintf(streams.Out, "VALID    %s signed by %s\n", desc.Digest, v.Signer)
	}
	if verr != nil {
		return fmt.Errorf("%s does not verify %s: %w", opts.SignatureFile, manifestArg, verr)
	}
	return nil
}

func printReport(w io.Writer, repo string, rep *verify.Report) {
	for _, v := range rep.Signatures {
		where := strings.Join(v.Mechanisms, ",")
		if v.Valid {
			fmt.Fprintf(w, "VALID    %s  %s signature by %s (found by %s)\n", artifactDigest(v), v.Format, v.Signer, where)
		} else {
			fmt.Fprintf(w, "INVALID  %s  %s signature: %s (found by %s)\n", artifactDigest(v), v.Format, v.Reason, where)
		}
	}
	fmt.Fprintf(w, "%s@%s: %d of %d signature(s) valid\n", repo, rep.Subject.Digest, rep.Valid, len(rep.Signatures))
}

func artifactDigest(v *verify.Verdict) string {
	if v.Artifact == nil {
		return "(file)"
	}
	return v.Artifact.Digest.String()
}
