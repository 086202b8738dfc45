// Package verify decides whether a subject is signed by someone the user
// trusts. It fetches the subject's signatures (pkg/discover: every
// mechanism, nothing trusted blindly, every byte digest-checked), checks each
// envelope against the user's trust, and returns a verdict per signature.
// verify is a security boundary: anything not proven valid is rejected with
// a reason.
package verify

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/signet-oci/signet/pkg/discover"
	"github.com/signet-oci/signet/pkg/errdef"
	"github.com/signet-oci/signet/pkg/reference"
	"github.com/signet-oci/signet/pkg/remote"
	"github.com/signet-oci/signet/pkg/signature/jwt"
	"github.com/signet-oci/signet/pkg/signature/notation"
	"github.com/signet-oci/signet/pkg/signature/revocation"
)

// Trust is what the user trusts.
type Trust struct {
	// Certificates given with -c and --ca-cert: a signer's certificate, or
	// a CA its chain ends at.
	Certificates []*x509.Certificate
	// TSACertificates (--tsa-root-cert) are the RFC 3161 time stamping
	// authorities' roots trusted for Notary Project signatures' timestamps;
	// when set, those signatures must be timestamped by one of them
	// (notation's verifyTimestamp "always") and are accepted after their
	// certificate expires when the timestamp falls in its validity.
	TSACertificates []*x509.Certificate
	// Revocation checks every trusted chain (jwt, jws, cose) for
	// revocation; nil means a new strict checker with no local CRL. A
	// Checker remembers outcomes: use one per verification run.
	Revocation *revocation.Checker
	// Identities, when set, are the only signers trusted: x509 subject
	// DNs (notation's "x509.subject:" trusted identities; a JWT's leaf
	// subject must equal one of them).
	Identities []string
	// TrustPolicyFile and TrustStoreDir, when set, are a notation
	// trustpolicy.json and trust store directory used for Notary Project
	// signatures instead of Certificates.
	TrustPolicyFile, TrustStoreDir string
	// Scope is the subject's registry/repository, which selects the trust
	// policy statement for Notary Project signatures (Remote sets it).
	Scope string
	// Now is the verification time (zero: time.Now()).
	Now time.Time
}

// Options for Remote.
type Options struct {
	Trust
	// MaxSignatures bounds how many signatures are examined (0: 100).
	MaxSignatures int
	// MaxReferrers bounds the referrers listed per mechanism (0:
	// discover.DefaultMaxReferrers).
	MaxReferrers int
	// Formats, when set, keeps only these envelope formats.
	Formats map[string]bool
}

// Verdict is the outcome for one signature.
type Verdict struct {
	// Artifact is the signature artifact's manifest (nil for Envelope).
	Artifact *ocispec.Descriptor `json:"artifact,omitempty"`
	// DigestVerified is false for a links-API entry whose digest was
	// computed, not confirmed by the registry (discover.Node).
	DigestVerified bool `json:"artifactDigestVerified"`
	// Mechanisms that listed the artifact (discover.Links, Referrers,
	// TagFallback, or the source's predecessors).
	Mechanisms []string `json:"foundBy"`
	// Format is the envelope's: jwt, jws or cose.
	Format string `json:"signatureFormat,omitempty"`
	// Signature is the envelope blob's descriptor.
	Signature *ocispec.Descriptor `json:"signature,omitempty"`
	// Valid is true only when every check passed; then Reason and Class
	// are empty.
	Valid bool `json:"valid"`
	// Reason says why the signature is not valid.
	Reason string `json:"reason,omitempty"`
	// Class is a stable name for the failure (docs/exit-codes.md).
	Class string `json:"errorClass,omitempty"`
	// Signer is the leaf certificate's subject.
	Signer string `json:"signer,omitempty"`
	// SignedAt is the signing time a valid signature claims (a JWT's iat,
	// a Notary Project envelope's signing time); claimed, not proven.
	SignedAt *time.Time `json:"signedAt,omitempty"`
	// TimestampedAt is when a trusted RFC 3161 timestamp proves the
	// signature existed, and TSA the subject of the timestamp authority's
	// certificate; set only when verification relied on the timestamp.
	TimestampedAt *time.Time `json:"timestampedAt,omitempty"`
	TSA           string     `json:"timestampAuthority,omitempty"`
	// Expires is a valid signature's own expiry (a JWT's exp, a Notary
	// Project envelope's expiry), when it has one.
	Expires *time.Time `json:"expires,omitempty"`
	// References are the registry references a JWT names (its claims).
	References []string `json:"references,omitempty"`
	// Revocation is the revocation status of a valid signature's chain
	// (pkg/signature/revocation: good, no revocation information, unknown,
	// not checked); RevocationDetail says, for unknown, what could not be
	// checked.
	Revocation       string `json:"revocation,omitempty"`
	RevocationDetail string `json:"revocationDetail,omitempty"`
	// UserMetadata is a Notary Project signature's signed user metadata.
	UserMetadata map[string]string `json:"userMetadata,omitempty"`
}

// Report is the outcome for a subject.
type Report struct {
	// Reference is the reference as given (reference.Reference.Raw).
	Reference string `json:"reference"`
	// Subject is the manifest it resolved to: what the signatures must sign.
	Subject ocispec.Descriptor `json:"subject"`
	// Verified is true when at least one signature is valid.
	Verified bool `json:"verified"`
	// Valid counts the valid signatures.
	Valid int `json:"validSignatures"`
	// Signatures has one verdict per signature examined, valid or not.
	Signatures []*Verdict `json:"signatures"`
	// Warnings are discovery's, worth showing the user; they do not
	// change the verdicts.
	Warnings []string `json:"warnings,omitempty"`
	// ViaIndex, when set, says that the valid signatures cover an image
	// index listing Subject, not Subject itself (Indexed, --via-index).
	ViaIndex *ViaIndex `json:"viaIndex,omitempty"`
	// Error says why the image is not verified when several images are
	// verified in one call (Many; the CLI's --output json sets it).
	Error string `json:"error,omitempty"`
}

// Remote verifies the signatures of the manifest ref names. The report is
// returned with the error: errdef.ErrNotFound when there is no signature,
// errdef.ErrVerification when none is valid.
func Remote(ctx context.Context, client *remote.Client, ref reference.Reference, opts Options) (*Report, error) {
	d, err := discover.New(client, ref, DiscoverOptions(opts))
	if err != nil {
		return nil, err
	}
	if opts.Scope == "" {
		opts.Scope = ref.Repo()
	}
	return Discovered(ctx, d, ref, opts)
}

// DiscoverOptions are the discovery options verification uses: the
// subject's direct referrers, bounded by opts.MaxReferrers.
func DiscoverOptions(opts Options) discover.Options {
	return discover.Options{Depth: 1, MaxReferrers: opts.MaxReferrers}
}

// InSource verifies the signatures of the manifest ref names in src (an
// OCI image layout, say; see discover.Source): the same checks, verdicts
// and errors as Remote. Notary Project trust policy statements are
// selected by opts.Scope (empty: notation.DefaultScope).
func InSource(ctx context.Context, src discover.Source, ref reference.Reference, opts Options) (*Report, error) {
	d, err := discover.NewSource(src, ref, DiscoverOptions(opts))
	if err != nil {
		return nil, err
	}
	return Discovered(ctx, d, ref, opts)
}

// Discovered verifies the signatures d finds for the manifest ref names,
// whatever d discovers in (a registry: discover.New; a Source:
// discover.NewSource). d's options should be DiscoverOptions(opts).
func Discovered(ctx context.Context, d *discover.Discoverer, ref reference.Reference, opts Options) (*Report, error) {
	subject, found, warnings, err := resolveAndFind(ctx, d, ref, discover.SignatureOptions{MaxSignatures: opts.MaxSignatures, Formats: opts.Formats})
	if subject.Digest == "" {
		return nil, err
	}
	rep := &Report{Reference: ref.Raw, Subject: subject, Signatures: []*Verdict{}, Warnings: warnings}
	if err != nil {
		return rep, err
	}
	if opts.Revocation == nil {
		// One checker per run: a signer's chain is checked once.
		if opts.Revocation, err = revocation.New(revocation.Options{}); err != nil {
			return nil, err
		}
	}
	for _, f := range found {
		artifactDesc := f.Artifact
		v := &Verdict{Artifact: &artifactDesc, DigestVerified: f.DigestVerified, Mechanisms: f.Mechanisms}
		if f.Signature != nil {
			blob := f.Signature.Blob
			v.Format = f.Signature.Format
			v.Signature = &blob
		}
		if f.Err != nil {
			v.Reason, v.Class = f.Err.Error(), "fetch"
		} else {
			check(ctx, v, f.Signature.Format, f.Envelope, subject, opts.Trust)
		}
		if v.Valid {
			rep.Valid++
		}
		rep.Signatures = append(rep.Signatures, v)
	}
	rep.Verified = rep.Valid > 0
	if !rep.Verified {
		// A signature the registry failed to serve is not proven invalid:
		// say that the registry failed (exit status 1), not that none is
		// valid (3).
		for _, f := range found {
			if f.Err != nil && remote.Unavailable(f.Err) {
				return rep, fmt.Errorf("%s: %d signature(s) found, none valid, but the registry failed to serve some; try again: %w", ref.WithDigest(subject.Digest), len(rep.Signatures), f.Err)
			}
		}
		return rep, errdef.Verification(fmt.Errorf("%s: %d signature(s) found, none valid", ref.WithDigest(subject.Digest), len(rep.Signatures)))
	}
	return rep, nil
}

// resolveAndFind resolves the subject ref names and finds its signatures.
// A reference by digest already names what is listed: the listing and
// the signatures' fetches start at once, beside the request that resolves
// the subject (one round trip less), and what they found is used only if
// the subject resolves to that digest. A reference by tag is resolved
// first. The subject is zero when it did not resolve; err then says why.
func resolveAndFind(ctx context.Context, d *discover.Discoverer, ref reference.Reference, opts discover.SignatureOptions) (ocispec.Descriptor, []*discover.Found, []string, error) {
	if ref.Digest == "" {
		subject, err := d.Resolve(ctx)
		if err != nil {
			return ocispec.Descriptor{}, nil, nil, err
		}
		found, warnings, err := d.Signatures(ctx, subject, opts)
		return subject, found, warnings, err
	}
	type resolved struct {
		desc ocispec.Descriptor
		err  error
	}
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch := make(chan resolved, 1)
	go func() {
		desc, err := d.Resolve(fctx)
		if err != nil {
			cancel() // no subject: what the listing finds is not wanted
		}
		ch <- resolved{desc, err}
	}()
	found, warnings, ferr := d.Signatures(fctx, ocispec.Descriptor{Digest: ref.Digest}, opts)
	r := <-ch
	switch {
	case r.err != nil:
		return ocispec.Descriptor{}, nil, nil, r.err
	case r.desc.Digest != ref.Digest:
		return ocispec.Descriptor{}, nil, nil, fmt.Errorf("%s resolved to %s, not the digest asked for", ref.Raw, r.desc.Digest)
	}
	return r.desc, found, warnings, ferr
}

// Envelope checks one signature envelope against subject. It returns the
// verdict and, when the signature is not valid, an error wrapping
// errdef.ErrVerification.
func Envelope(format string, envelope []byte, subject ocispec.Descriptor, trust Trust) (*Verdict, error) {
	return EnvelopeContext(context.Background(), format, envelope, subject, trust)
}

// EnvelopeContext is Envelope bounded by ctx: the revocation checks it
// makes (OCSP, CRL) end when ctx does (signet verify -f --timeout).
func EnvelopeContext(ctx context.Context, format string, envelope []byte, subject ocispec.Descriptor, trust Trust) (*Verdict, error) {
	v := &Verdict{Format: format}
	check(ctx, v, format, envelope, subject, trust)
	if !v.Valid {
		return v, errdef.Verification(errors.New(v.Reason))
	}
	return v, nil
}

func check(ctx context.Context, v *Verdict, format string, envelope []byte, subject ocispec.Descriptor, trust Trust) {
	switch format {
	case "jwt":
		res, err := jwt.Verify(envelope, subject, jwt.VerifyOptions{TrustedCertificates: trust.Certificates, Now: trust.Now})
		if err != nil {
			v.Reason = err.Error()
			var je *jwt.Error
			if errors.As(err, &je) {
				v.Class = je.Class.String()
			}
			return
		}
		if len(res.Chain) > 0 {
			v.Signer = res.Chain[0].Subject.String()
		}
		if len(trust.Identities) > 0 {
			// As notation matches them for jws and cose.
			if e := notation.MatchIdentity(trust.Identities, res.Chain[0]); e != nil {
				v.Reason = "jwt signature: " + strings.TrimPrefix(e.Msg, "notation signature: ")
				v.Class = e.Class
				return
			}
		}
		if !checkRevocation(ctx, v, res.Chain, trust) {
			return
		}
		v.Valid = true
		if !res.SignedAt.IsZero() {
			t := res.SignedAt.UTC()
			v.SignedAt = &t
		}
		if res.Claims.Expiry != 0 {
			t := time.Unix(res.Claims.Expiry, 0).UTC()
			v.Expires = &t
		}
		v.References = res.Claims.References
	case notation.FormatJWS, notation.FormatCOSE:
		checkNotation(ctx, v, format, envelope, subject, trust)
	case "":
		v.Reason = "no signature format given: jwt, jws or cose"
		v.Class = "unsupported format"
	default:
		v.Reason = fmt.Sprintf("%s signatures are not supported", format)
		v.Class = "unsupported format"
	}
}

// checkNotation verifies a Notary Project envelope with notation-go's
// verifier and trust policy.
func checkNotation(ctx context.Context, v *Verdict, format string, envelope []byte, subject ocispec.Descriptor, trust Trust) {
	res, err := notation.Verify(ctx, envelope, format, subject, notation.VerifyOptions{
		TrustedCertificates: trust.Certificates,
		TSACertificates:     trust.TSACertificates,
		Identities:          trust.Identities,
		SkipRevocation:      true,
		TrustPolicyFile:     trust.TrustPolicyFile,
		TrustStoreDir:       trust.TrustStoreDir,
		Scope:               trust.Scope,
		Now:                 trust.Now,
	})
	if err != nil {
		v.Reason = err.Error()
		v.Class = "malformed"
		var ne *notation.Error
		if errors.As(err, &ne) {
			v.Class = ne.Class
		}
		return
	}
	v.Signer = res.Signer
	if !checkRevocation(ctx, v, res.Chain, trust) {
		return
	}
	v.Valid = true
	if !res.SignedAt.IsZero() {
		t := res.SignedAt.UTC()
		v.SignedAt = &t
	}
	if !res.Expiry.IsZero() {
		t := res.Expiry.UTC()
		v.Expires = &t
	}
	v.UserMetadata = res.UserMetadata
	if !res.TimestampedAt.IsZero() {
		t := res.TimestampedAt.UTC()
		v.TimestampedAt, v.TSA = &t, res.TSA
	}
}

// checkRevocation checks a trusted chain; it records the status, or the
// reason and class, on v and reports whether the chain passed.
func checkRevocation(ctx context.Context, v *Verdict, chain []*x509.Certificate, trust Trust) bool {
	c := trust.Revocation
	if c == nil {
		var err error
		if c, err = revocation.New(revocation.Options{}); err != nil {
			v.Reason, v.Class = err.Error(), revocation.ClassUnknown
			return false
		}
	}
	res, err := c.Check(ctx, chain)
	if err != nil {
		prefix := "notation signature: "
		if v.Format == "jwt" {
			prefix = "jwt signature: "
		}
		v.Reason = prefix + err.Error()
		v.Class = revocation.ClassUnknown
		var re *revocation.Error
		if errors.As(err, &re) {
			v.Class = re.Class
		}
		return false
	}
	v.Revocation, v.RevocationDetail = res.Status, res.Detail
	return true
}
