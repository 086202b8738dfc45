package cli

import (
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/signet-oci/signet/internal/target"
	"github.com/signet-oci/signet/pkg/discover"
	"github.com/signet-oci/signet/pkg/errdef"
	"github.com/signet-oci/signet/pkg/reference"
	"github.com/signet-oci/signet/pkg/signature"
	"github.com/signet-oci/signet/pkg/signature/notation"
	"github.com/signet-oci/signet/pkg/signature/revocation"
	"github.com/signet-oci/signet/pkg/verify"
)

type verifyOptions struct {
	SignatureFile string
	Certs         []string
	CACerts       []string
	TSARoots      []string
	Revocation    string
	CRLs          []string
	Identities    []string
	TrustPolicy   string
	TrustStore    string
	MaxSignatures int
	MaxReferrers  int
	FromFile      string
	Scope         string // the trust policy scope for an oci-layout: REFERENCE
	index         verifyIndexOptions
	remote        remoteOptions
	output        outputOptions
}

func newVerifyCmd(streams IOStreams) *cobra.Command {
	opts := &verifyOptions{output: formats("text", "json")}
	cmd := &cobra.Command{
		Use:   "verify REFERENCE… -c CERT… | verify -f SIGNATURE -c CERT… MANIFEST",
		Short: "Verify an image's signatures against the certificates you trust",
		Long: `Verify signatures. This replaces 'nv2 verify'.

Registry mode, 'verify REFERENCE -c CERT': find REFERENCE's signatures through
every mechanism (links API, referrers API, tag fallback), fetch each one
(digest-checked; at most --max-signatures), check each against the trusted
certificates and report every verdict. It succeeds when at least one
signature is valid.

REFERENCE may also be oci-layout:DIR[:tag|@digest]: the signatures stored in
that OCI image layout, offline (docs/offline.md), with the same trust
options, checks and verdicts; a Notary Project trust policy statement is then
selected by --scope (as 'notation verify --oci-layout --scope'; default
local/signet).

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
trusted unless --identity narrows it to x509 subjects, with notation's
rules for every format, jwt included: an identity names at least C, ST
and O (e.g. "C=US, ST=WA, O=Acme, CN=signer"; anything less is refused,
exit 2) and matches a signer whose subject has all of its attributes.
--trust-policy FILE and --trust-store DIR use a notation trustpolicy.json
and trust store (…/notation/truststore, holding x509/ca/<name>/) instead;
-c is then not needed, and the trust policy's registryScopes select the
statement by REFERENCE's registry/repository. A check that the policy's
level only logs (audit, permissive) still makes the signature invalid here,
naming the check and the level; notation accepts such a signature with a
warning.

Timestamps: --tsa-root-cert FILE trusts an RFC 3161 time stamping
authority's root for jws/cose signatures (notation's "tsa" trust store, with
its default verifyTimestamp "always"): every such signature must then carry
a timestamp from a trusted TSA over its signature value, made while its
signing chain was valid; the chain may have expired since. The verdict names
the time and the TSA (timestampedAt, timestampAuthority). Without it a
timestamp is not relied on and the chain must be valid now.

Revocation: every trusted chain (jwt, jws, cose) is checked with
notation-core-go's revocation validator: OCSP as the certificates name
responders (falling back to their CRL), else their CRL distribution points;
--crl FILE (repeatable, DER or PEM) supplies CRLs offline. A revoked
certificate makes the signature invalid (errorClass revoked, the reason names
the certificate and its serial). --revocation says what a status that cannot
be obtained (responder unreachable, no usable CRL) does: strict (default, as
notation's strict level) makes the signature invalid (errorClass revocation
unknown), soft accepts it and reports "unknown", off skips the check. Each
verdict reports its chain's revocation status (docs/lifecycle.md).

Many images, 'verify REF1 REF2 … -c CERT' or '--from-file FILE' (one
reference per line, # comments; - reads stdin): verified concurrently (at
most 8 at a time), one verdict line per image in the order given (VALID,
INVALID, UNSIGNED or ERROR), or with --format json one report per image.

Multi-platform images: 'verify INDEX' checks the signatures on the index
itself. --platform os/arch[/variant] verifies the index's manifest for that
platform (its own signatures). A platform manifest with no valid signature
of its own is not verified by a signature on an index that lists it unless
you ask: --via-index accepts a valid signature on the index (given as
REFERENCE with --platform, or as --index INDEX_REF with the platform
manifest's REFERENCE), when the index lists the manifest with the same
digest, size and media type; the index is fetched (at most 4 MiB and 1,000
entries) and digest-checked. The report then says that the valid signature
covers the index ("signatures on the index …", JSON "viaIndex"). Without
--via-index, the error names the index and how many of its signatures are
valid. See docs/multi-arch.md.

Exit status: 0 valid (every image), 3 signatures found but none valid (for
some image), 4 no signature found (or REFERENCE unknown; for some image,
none invalid), 1 other errors.`,
		Example: `  signet verify 127.0.0.1:5000/busybox:latest -c example.crt
  signet verify 127.0.0.1:5000/busybox:latest 127.0.0.1:5000/alpine:latest -c example.crt
  signet verify --from-file images.txt -c example.crt
  signet verify -f retrieved-signature.jwt -c example.crt file:manifest-to-sign.json
  signet verify oci-layout:./busybox-layout:v1 -c example.crt
  signet verify 127.0.0.1:5000/busybox@sha256:… --ca-cert ca.crt --format json
  signet verify 127.0.0.1:5000/busybox:latest --ca-cert ca.crt --identity "C=US, ST=WA, O=Acme, CN=signer"
  signet verify 127.0.0.1:5000/multi@sha256:… --platform linux/arm64 -c example.crt
  signet verify 127.0.0.1:5000/multi@sha256:<arm64> --index 127.0.0.1:5000/multi@sha256:<index> --via-index -c example.crt
  signet verify 127.0.0.1:5000/busybox:latest --trust-policy ~/.config/notation/trustpolicy.json --trust-store ~/.config/notation/truststore`,
		Args: func(cmd *cobra.Command, args []string) error {
			if opts.SignatureFile != "" && (len(args) > 1 || opts.FromFile != "") {
				return errdef.Usage(errSignatureFileMany)
			}
			if opts.FromFile != "" || len(args) > 1 {
				return nil // many images
			}
			return exactArgs("REFERENCE|MANIFEST")(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.FromFile != "" || len(args) > 1 {
				if opts.index.set() {
					return errdef.Usage(errors.New("--platform, --index and --via-index verify one image: give one REFERENCE"))
				}
				return runVerifyMany(cmd, opts, streams, args)
			}
			return runVerify(cmd, opts, streams, args[0])
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opts.SignatureFile, "signature", "f", "", "verify this signature file against MANIFEST (file mode)")
	f.StringArrayVarP(&opts.Certs, "cert", "c", nil, "trusted signer certificate or chain, PEM (repeatable)")
	f.StringArrayVar(&opts.CACerts, "ca-cert", nil, "trusted CA certificate, PEM (repeatable)")
	f.StringArrayVar(&opts.TSARoots, "tsa-root-cert", nil, "trusted RFC 3161 time stamping authority root, PEM, for jws/cose timestamps (repeatable)")
	f.StringVar(&opts.Revocation, "revocation", "strict", "when a revocation status cannot be obtained: strict (invalid), soft (accept, report unknown) or off (do not check)")
	f.StringArrayVar(&opts.CRLs, "crl", nil, "CRL file (DER or PEM) to check certificates against offline (repeatable)")
	f.StringArrayVar(&opts.Identities, "identity", nil, "trust only this signer, an x509 subject DN (repeatable; default: every signer the certificates vouch for)")
	f.StringVar(&opts.TrustPolicy, "trust-policy", "", "notation trustpolicy.json for jws/cose signatures (with --trust-store; replaces -c)")
	f.StringVar(&opts.TrustStore, "trust-store", "", "notation trust store directory (x509/ca/<name>/…) for --trust-policy")
	f.IntVar(&opts.MaxSignatures, "max-signatures", 100, "most signatures examined")
	f.IntVar(&opts.MaxReferrers, "max-referrers", discover.DefaultMaxReferrers, "most referrers listed per mechanism while looking for signatures")
	f.StringVar(&opts.FromFile, "from-file", "", "verify the images listed in `FILE`, one reference per line (- for stdin)")
	f.StringVar(&opts.Scope, "scope", "", "trust policy scope for an oci-layout: REFERENCE, as notation verify --oci-layout --scope (default local/signet)")
	opts.index.addFlags(cmd)
	return withGroups(cmd, streams, &opts.remote, &opts.output)
}

func runVerify(cmd *cobra.Command, opts *verifyOptions, streams IOStreams, arg string) error {
	trust, err := verifyTrust(cmd, opts)
	if err != nil {
		return err
	}
	client, err := opts.remote.newClient(streams)
	if err != nil {
		return err
	}
	if opts.SignatureFile != "" {
		if opts.index.set() {
			return errdef.Usage(errors.New("--platform, --index and --via-index apply to registry verification, not to -f"))
		}
		return runVerifyFile(cmd, opts, streams, arg, trust)
	}
	ref, err := reference.Parse(arg)
	if err != nil {
		return err
	}
	if ref.Kind != reference.Registry && ref.Kind != reference.OCILayout {
		return errdef.Usage(fmt.Errorf("%s: verify without -f needs a registry reference or oci-layout:DIR[:tag|@digest]; to check a signature file use 'signet verify -f SIG -c CERT %s'", arg, arg))
	}
	vopts := verify.Options{Trust: trust, MaxSignatures: opts.MaxSignatures, MaxReferrers: opts.MaxReferrers}
	switch {
	case ref.Kind == reference.Registry && opts.Scope != "":
		return errdef.Usage(fmt.Errorf("--scope applies to oci-layout: references; %s selects the trust policy by its registry/repository, %s", arg, ref.Repo()))
	case ref.Kind == reference.Registry:
		vopts.Scope = ref.Repo()
	default:
		vopts.Scope = opts.Scope // "": notation.DefaultScope
	}
	if opts.index.set() {
		if ref.Kind != reference.Registry {
			return errdef.Usage(fmt.Errorf("%s: --platform, --index and --via-index need a registry reference (an index in an OCI layout: copy it to a registry, or verify its platform manifest by digest)", arg))
		}
		return runVerifyIndexed(cmd, opts, streams, ref, trust)
	}
	var rep *verify.Report
	d, err := target.Discoverer(cmd.Context(), "verify", ref, client, verify.DiscoverOptions(vopts))
	if err == nil {
		rep, err = verify.Discovered(cmd.Context(), d, ref, vopts)
	}
	err = opts.remote.explain(err) // the JSON report carries the explained line
	if rep == nil && err != nil && !errors.Is(err, errdef.ErrUsage) {
		// The reference could not be resolved (unknown: exit status 4;
		// the registry failed: 1). A script reading stdout still gets a
		// report: not verified, no subject, no signature, and why.
		if jerr := opts.output.print(streams.Out, VerifyFailure{Reference: ref.Raw, Signatures: []*verify.Verdict{}, Error: err.Error()}); jerr != nil {
			return jerr
		}
	}
	if rep != nil {
		warnTag(streams, ref, rep.Subject.Digest)
		for _, w := range rep.Warnings {
			fmt.Fprintln(streams.Err, "Warning: "+w)
		}
		if jerr := opts.output.print(streams.Out, VerifyResult{Report: rep, repo: placeName(ref)}); jerr != nil {
			return jerr
		}
		hintIndex(streams, ref, rep, err)
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
		// As in registry mode: MANIFEST could not be resolved (unknown:
		// exit status 4; the registry failed: 1), and a script reading
		// stdout still gets a report saying why; a usage error prints none.
		err = opts.remote.explain(err)
		if ExitCode(err) != ExitUsage {
			if jerr := opts.output.print(streams.Out, VerifyFailure{Reference: manifestArg, Signatures: []*verify.Verdict{}, Error: err.Error()}); jerr != nil {
				return jerr
			}
		}
		return err
	}
	if ref.Kind == reference.Registry {
		trust.Scope = ref.Repo()
	}
	v, verr := verify.EnvelopeContext(cmd.Context(), format, sig, desc, trust)
	rep := &verify.Report{Reference: manifestArg, Subject: desc, Verified: verr == nil, Signatures: []*verify.Verdict{v}}
	if verr == nil {
		rep.Valid = 1
	}
	if err := opts.output.print(streams.Out, VerifyResult{Report: rep}); err != nil {
		return err
	}
	if verr != nil {
		return fmt.Errorf("%s does not verify %s: %w", opts.SignatureFile, manifestArg, verr)
	}
	return nil
}

// timestampNote says when a trusted timestamp was relied on.
func timestampNote(v *verify.Verdict) string {
	if v.TimestampedAt == nil {
		return ""
	}
	return fmt.Sprintf(", timestamped %s by %s", v.TimestampedAt.Format(time.RFC3339), v.TSA)
}

// revocationNote says what the revocation check found, when it found
// something to say.
func revocationNote(v *verify.Verdict) string {
	switch v.Revocation {
	case revocation.StatusGood:
		return ", not revoked"
	case revocation.StatusUnknown:
		return ", revocation status UNKNOWN: " + v.RevocationDetail
	}
	return ""
}

// verifyTrust checks the trust flags and builds what every verification of
// this run trusts (one image or many).
func verifyTrust(cmd *cobra.Command, opts *verifyOptions) (verify.Trust, error) {
	if (opts.TrustPolicy == "") != (opts.TrustStore == "") {
		return verify.Trust{}, errdef.Usage(errors.New("--trust-policy and --trust-store go together: give both"))
	}
	if len(opts.Certs)+len(opts.CACerts) == 0 && opts.TrustPolicy == "" {
		return verify.Trust{}, errdef.Usage(errors.New("give the certificates you trust with -c CERT (or --ca-cert CERT), or a notation --trust-policy and --trust-store"))
	}
	if opts.TrustPolicy != "" && len(opts.Identities) > 0 {
		return verify.Trust{}, errdef.Usage(errors.New("--identity does not apply with --trust-policy: put trustedIdentities in the trust policy"))
	}
	if opts.TrustPolicy != "" && len(opts.TSARoots) > 0 {
		return verify.Trust{}, errdef.Usage(errors.New("--tsa-root-cert does not apply with --trust-policy: name a tsa trust store in the trust policy (x509/tsa/<name>/ in the trust store)"))
	}
	if opts.MaxSignatures < 1 {
		return verify.Trust{}, errdef.Usage(fmt.Errorf("--max-signatures %d: give 1 or more", opts.MaxSignatures))
	}
	if opts.MaxReferrers < 1 {
		return verify.Trust{}, errdef.Usage(fmt.Errorf("--max-referrers %d: give 1 or more", opts.MaxReferrers))
	}
	if opts.TrustPolicy != "" {
		if _, err := notation.LoadTrustPolicy(opts.TrustPolicy); err != nil {
			return verify.Trust{}, errdef.Usage(err)
		}
		if _, err := os.Stat(opts.TrustStore); err != nil {
			return verify.Trust{}, missingInput("trust store", opts.TrustStore, err)
		}
	}
	trust, err := x509Trust(cmd, append(append([]string{}, opts.Certs...), opts.CACerts...), opts.TSARoots, opts.CRLs, opts.Revocation, opts.Identities)
	if err != nil {
		return verify.Trust{}, err
	}
	trust.TrustPolicyFile, trust.TrustStoreDir = opts.TrustPolicy, opts.TrustStore
	return trust, nil
}

// x509Trust loads what verify and delete-signature trust from their flags:
// the signer and CA certificates, the TSA roots, the revocation policy and
// its offline CRLs, the identities; the verification time comes with cmd's
// context.
func x509Trust(cmd *cobra.Command, certFiles, tsaFiles, crlFiles []string, revocationMode string, identities []string) (verify.Trust, error) {
	mode, err := revocation.ParseMode(revocationMode)
	if err != nil {
		return verify.Trust{}, errdef.Usage(fmt.Errorf("--revocation: %w", err))
	}
	if mode == revocation.Off && len(crlFiles) > 0 {
		return verify.Trust{}, errdef.Usage(errors.New("--crl does not apply with --revocation off"))
	}
	for _, id := range identities {
		if err := notation.CheckIdentity(id); err != nil {
			return verify.Trust{}, errdef.Usage(fmt.Errorf("--identity: %w", err))
		}
	}
	var certs, tsaRoots []*x509.Certificate
	if len(certFiles) > 0 {
		if certs, err = signature.LoadCertificates(certFiles...); err != nil {
			return verify.Trust{}, err
		}
	}
	if len(tsaFiles) > 0 {
		if tsaRoots, err = signature.LoadCertificates(tsaFiles...); err != nil {
			return verify.Trust{}, err
		}
	}
	crls, err := revocation.LoadCRLs(crlFiles...)
	if err != nil {
		return verify.Trust{}, errdef.Usage(err)
	}
	checker, err := revocation.New(revocation.Options{Mode: mode, CRLs: crls})
	if err != nil {
		return verify.Trust{}, errdef.Usage(err)
	}
	return verify.Trust{Certificates: certs, TSACertificates: tsaRoots, Revocation: checker, Identities: identities, Now: verifyTime(cmd.Context())}, nil
}
