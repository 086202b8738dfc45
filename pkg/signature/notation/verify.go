package notation

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/notaryproject/notation-core-go/signature"
	notationgo "github.com/notaryproject/notation-go"
	"github.com/notaryproject/notation-go/dir"
	"github.com/notaryproject/notation-go/verifier"
	"github.com/notaryproject/notation-go/verifier/trustpolicy"
	"github.com/notaryproject/notation-go/verifier/truststore"
	"github.com/notaryproject/tspclient-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/signet-oci/signet/pkg/bounded"
	"github.com/signet-oci/signet/pkg/errdef"
	signetsig "github.com/signet-oci/signet/pkg/signature"
)

// DefaultScope is the registry scope used when VerifyOptions.Scope is empty
// (a signature checked against a manifest file); notation uses the same
// "local/…" form for OCI layouts.
const DefaultScope = "local/signet"

// storeName is the trust store the in-memory trust policy names.
const storeName = "signet"

// VerifyOptions say what to trust.
type VerifyOptions struct {
	// TrustedCertificates (signet's -c and --ca-cert) form an in-memory
	// "ca" trust store: roots, intermediates or the signer's own
	// self-signed certificate. As in notation, only CA certificates and
	// self-signed certificates are usable trust anchors; others are
	// ignored.
	TrustedCertificates []*x509.Certificate
	// TSACertificates (signet's --tsa-root-cert) are the time stamping
	// authorities' root certificates trusted for RFC 3161 timestamps. When
	// set, the in-memory trust policy gains a "tsa" trust store and, as
	// notation's default verifyTimestamp "always" does, every signature
	// must carry a timestamp from one of them, made while its signing
	// chain was valid; the chain may then have expired since. Without
	// them a timestamp is ignored and the chain must be valid now.
	TSACertificates []*x509.Certificate
	// SkipRevocation leaves revocation out of the in-memory trust policy
	// (override "revocation": "skip"), for a caller that checks the chain
	// itself (pkg/verify does, with pkg/signature/revocation). A trust
	// policy file's own setting is kept.
	SkipRevocation bool
	// Identities are the x509 subject DNs trusted (notation's
	// "x509.subject:" trusted identities); empty trusts every identity
	// the trust store vouches for.
	Identities []string
	// TrustPolicyFile and TrustStoreDir, when set, replace the in-memory
	// policy and store with a notation trustpolicy.json and a notation
	// trust store directory (holding x509/ca/<name>/… , or a notation
	// configuration directory holding truststore/x509/…).
	TrustPolicyFile, TrustStoreDir string
	// Scope is the registry/repository of the subject (e.g.
	// "127.0.0.1:5000/busybox"), which selects the trust policy statement;
	// empty means DefaultScope.
	Scope string
	// Now, when set, is an extra check: the signature must not be expired
	// and its chain must be valid at Now. notation-go itself always checks
	// against the system clock.
	Now time.Time
}

// Result describes a valid signature.
type Result struct {
	// Signer is the leaf certificate's subject.
	Signer       string
	SignedAt     time.Time
	Expiry       time.Time // zero: no expiry
	UserMetadata map[string]string
	Chain        []*x509.Certificate
	// TimestampedAt is the time an RFC 3161 timestamp the verifier checked
	// and trusted proves the signature existed (zero: no timestamp was
	// relied on); TSA is the subject of the authority's signing
	// certificate.
	TimestampedAt time.Time
	TSA           string
}

// Verify checks envelope (format "jws" or "cose") against subject with
// notation-go's verifier at signatureVerification level strict (or the
// trust policy file's level; a check that level only logs still makes the
// signature invalid when it fails): integrity,
// authenticity against the trust store, trusted identities, expiry,
// certificate validity and revocation (OCSP/CRL when the certificates name
// responders), and that the payload's targetArtifact is subject (media
// type, digest and size).
func Verify(ctx context.Context, envelope []byte, format string, subject ocispec.Descriptor, opts VerifyOptions) (*Result, error) {
	mediaType, err := MediaType(format)
	if err != nil {
		return nil, malformed("%s", err)
	}
	if len(envelope) > signetsig.MaxEnvelopeSize {
		return nil, vErr(ClassTooLarge, "%s envelope of %d bytes exceeds the limit of %d bytes; refused unread", format, len(envelope), signetsig.MaxEnvelopeSize)
	}
	// Parse first so that garbage is reported as malformed, not as a
	// policy problem. Parsing checks no signature.
	c, err := content(envelope, format)
	if err != nil {
		return nil, err
	}
	// Validating the chain costs signature checks per certificate, before
	// any trust decision (see signetsig.MaxCertificateChain).
	if n := len(c.SignerInfo.CertificateChain); n > signetsig.MaxCertificateChain {
		return nil, malformed("the certificate chain holds %d certificates; at most %d are accepted", n, signetsig.MaxCertificateChain)
	}
	// "Unknown critical attributes MUST cause signature verification to
	// fail" (Notary Project signature specification); notation-go checks
	// them only when a verification plugin takes part, which signet never
	// runs.
	for _, a := range c.SignerInfo.SignedAttributes.ExtendedAttributes {
		if a.Critical {
			return nil, malformed("the signed attribute %q is marked critical and signet does not understand it", fmt.Sprint(a.Key))
		}
	}
	doc, store, err := trust(opts)
	if err != nil {
		return nil, err
	}
	v, err := verifier.New(doc, store, nil)
	if err != nil {
		return nil, vErr(ClassTrustPolicy, "invalid trust policy: %s", oneLine(err))
	}
	scope := opts.Scope
	if scope == "" {
		scope = DefaultScope
	}
	outcome, err := v.Verify(ctx, subject, envelope, notationgo.VerifierVerifyOptions{
		ArtifactReference:  scope + "@" + subject.Digest.String(),
		SignatureMediaType: mediaType,
	})
	if err != nil {
		return nil, classify(err, outcome)
	}
	if outcome == nil || outcome.EnvelopeContent == nil {
		return nil, vErr(ClassTrustPolicy, "the trust policy for %s skips verification; nothing was verified", scope)
	}
	if e := loggedFailure(outcome); e != nil {
		return nil, e
	}
	info := outcome.EnvelopeContent.SignerInfo
	ts, err := trustedTimestamp(ctx, doc, store, scope+"@"+subject.Digest.String(), &info)
	if err != nil {
		return nil, err
	}
	res := &Result{
		SignedAt: info.SignedAttributes.SigningTime,
		Expiry:   info.SignedAttributes.Expiry,
		Chain:    info.CertificateChain,
	}
	if len(res.Chain) > 0 {
		res.Signer = res.Chain[0].Subject.String()
	}
	if md, err := outcome.UserMetadata(); err == nil && len(md) > 0 {
		res.UserMetadata = md
	}
	if ts != nil {
		res.TimestampedAt, res.TSA = ts.at, ts.tsa
	}
	if !opts.Now.IsZero() {
		if !res.Expiry.IsZero() && !opts.Now.Before(res.Expiry) {
			return nil, vErr(ClassExpired, "signature expired at %s", res.Expiry.UTC().Format(time.RFC3339))
		}
		// A trusted timestamp replaces "valid now" by "valid when
		// timestamped", which notation-go has checked.
		for _, c := range res.Chain {
			if ts != nil {
				break
			}
			if opts.Now.Before(c.NotBefore) || opts.Now.After(c.NotAfter) {
				return nil, vErr(ClassCertificate, "certificate %q is not valid at %s (valid %s to %s)", c.Subject, opts.Now.UTC().Format(time.RFC3339), c.NotBefore.UTC().Format(time.RFC3339), c.NotAfter.UTC().Format(time.RFC3339))
			}
		}
	}
	return res, nil
}

// classify maps notation-go's outcome to a class and one line.
func classify(err error, outcome *notationgo.VerificationOutcome) *Error {
	var noPolicy notationgo.ErrorNoApplicableTrustPolicy
	if errors.As(err, &noPolicy) {
		return vErr(ClassTrustPolicy, "%s", oneLine(err))
	}
	msg := oneLine(err)
	if outcome != nil {
		for _, r := range outcome.VerificationResults {
			if r == nil || r.Error == nil || r.Action != trustpolicy.ActionEnforce {
				continue
			}
			if e := resultError(r); e != nil {
				return e
			}
		}
		if msg == "content descriptor mismatch" {
			return vErr(ClassSubjectMismatch, "the signature is for another manifest (media type, digest or size differ)")
		}
	}
	var te truststore.TrustStoreError
	var ce truststore.CertificateError
	if errors.As(err, &te) || errors.As(err, &ce) {
		return vErr(ClassUntrustedChain, "trust store: %s", msg)
	}
	return vErr(ClassMalformed, "%s", msg)
}

// resultError classifies one failed check (nil if r did not fail or is of a
// type signet does not know).
func resultError(r *notationgo.ValidationResult) *Error {
	if r == nil || r.Error == nil {
		return nil
	}
	rmsg := oneLine(r.Error)
	switch r.Type {
	case trustpolicy.TypeIntegrity:
		var ie *signature.SignatureIntegrityError
		var is *signature.InvalidSignatureError
		if errors.As(r.Error, &ie) || errors.As(r.Error, &is) {
			return vErr(ClassBadSignature, "integrity check failed: %s", rmsg)
		}
		return vErr(ClassMalformed, "%s", rmsg)
	case trustpolicy.TypeAuthenticity:
		// verifyX509TrustedIdentities reports under authenticity: a
		// mismatch, or a leaf subject it cannot match (no C, ST and O
		// attributes).
		if strings.Contains(rmsg, "trusted identit") || strings.Contains(rmsg, "certificate subject") {
			return vErr(ClassIdentity, "the signer is not a trusted identity: %s", rmsg)
		}
		return vErr(ClassUntrustedChain, "the certificate chain does not end at a trusted certificate: %s", rmsg)
	case trustpolicy.TypeExpiry:
		return vErr(ClassExpired, "%s", rmsg)
	case trustpolicy.TypeAuthenticTimestamp:
		if strings.Contains(rmsg, "timestamp") {
			return vErr(ClassTimestamp, "RFC 3161 timestamp: %s", rmsg)
		}
		if hint := timestampHint(r); hint != "" {
			rmsg += hint
		}
		return vErr(ClassCertificate, "%s", rmsg)
	case trustpolicy.TypeRevocation:
		return vErr(ClassRevoked, "%s", rmsg)
	}
	return nil
}

// loggedFailure is the first check that failed although notation-go
// accepted the signature: a trust policy at level permissive or audit (or
// a custom level) only logs those checks, and `notation verify` reports
// success with a warning. signet does not: a signature is valid only when
// every check passed, so a logged failure makes it invalid, with the check
// and the policy's level named.
func loggedFailure(outcome *notationgo.VerificationOutcome) *Error {
	level := "?"
	if outcome.VerificationLevel != nil {
		level = outcome.VerificationLevel.Name
	}
	for _, r := range outcome.VerificationResults {
		if r == nil || r.Error == nil {
			continue
		}
		e := resultError(r)
		if e == nil {
			e = vErr(ClassMalformed, "%s", oneLine(r.Error))
		}
		e.Msg += fmt.Sprintf(" (the trust policy's level %q only logs the %s check and notation would accept the signature; signet does not)", level, r.Type)
		return e
	}
	return nil
}

// trust builds the trust policy document and trust store.
func trust(opts VerifyOptions) (*trustpolicy.Document, truststore.X509TrustStore, error) {
	if opts.TrustPolicyFile != "" || opts.TrustStoreDir != "" {
		if opts.TrustPolicyFile == "" || opts.TrustStoreDir == "" {
			return nil, nil, vErr(ClassTrustPolicy, "give both a trust policy file and a trust store directory")
		}
		doc, err := LoadTrustPolicy(opts.TrustPolicyFile)
		if err != nil {
			return nil, nil, err
		}
		store, err := trustStoreDir(opts.TrustStoreDir)
		if err != nil {
			return nil, nil, err
		}
		return doc, store, nil
	}
	if len(opts.TrustedCertificates) == 0 {
		return nil, nil, vErr(ClassUntrustedChain, "no trusted certificates given")
	}
	identities := []string{"*"}
	if len(opts.Identities) > 0 {
		identities = identities[:0]
		for _, id := range opts.Identities {
			identities = append(identities, "x509.subject:"+id)
		}
	}
	sv := trustpolicy.SignatureVerification{VerificationLevel: trustpolicy.LevelStrict.Name}
	if opts.SkipRevocation {
		sv.Override = map[trustpolicy.ValidationType]trustpolicy.ValidationAction{trustpolicy.TypeRevocation: trustpolicy.ActionSkip}
	}
	stores := []string{string(truststore.TypeCA) + ":" + storeName}
	if len(opts.TSACertificates) > 0 {
		stores = append(stores, string(truststore.TypeTSA)+":"+storeName)
	}
	doc := &trustpolicy.Document{
		Version: "1.0",
		TrustPolicies: []trustpolicy.TrustPolicy{{
			Name:                  "signet",
			RegistryScopes:        []string{"*"},
			SignatureVerification: sv,
			TrustStores:           stores,
			TrustedIdentities:     identities,
		}},
	}
	if err := doc.Validate(); err != nil {
		return nil, nil, vErr(ClassTrustPolicy, "invalid trusted identity: %s", oneLine(err))
	}
	return doc, &memoryStore{certs: opts.TrustedCertificates, tsa: opts.TSACertificates}, nil
}

// LoadTrustPolicy reads a notation trustpolicy.json (unknown fields are
// refused, as notation does) and validates it.
func LoadTrustPolicy(path string) (*trustpolicy.Document, error) {
	b, err := bounded.ReadFile(path, signetsig.MaxTrustFileSize)
	if err != nil {
		if errors.Is(err, bounded.ErrTooLarge) {
			return nil, vErr(ClassTrustPolicy, "trust policy %s: larger than %d bytes, more than any trust policy holds; check the path", path, signetsig.MaxTrustFileSize)
		}
		return nil, vErr(ClassTrustPolicy, "trust policy %s: %s", path, oneLine(errdef.UnwrapPath(err)))
	}
	var doc trustpolicy.Document
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return nil, vErr(ClassTrustPolicy, "trust policy %s is not a notation trust policy: %s", path, oneLine(err))
	}
	if err := doc.Validate(); err != nil {
		return nil, vErr(ClassTrustPolicy, "trust policy %s: %s", path, oneLine(err))
	}
	return &doc, nil
}

// trustStoreDir opens a notation trust store directory: either the
// truststore directory itself (x509/<type>/<name>/…) or the notation
// configuration directory that holds it.
func trustStoreDir(path string) (truststore.X509TrustStore, error) {
	root := path
	if _, err := os.Stat(filepath.Join(path, "x509")); err != nil {
		if _, err2 := os.Stat(filepath.Join(path, dir.TrustStoreDir, "x509")); err2 != nil {
			return nil, vErr(ClassTrustPolicy, "trust store %s has no x509 directory; give the notation trust store (…/notation/truststore, holding x509/ca/<name>/)", path)
		}
		root = filepath.Join(path, dir.TrustStoreDir)
	}
	return truststore.NewX509TrustStore(storeFS{SysFS: dir.NewSysFS(root), root: root}), nil
}

// storeFS is a notation SysFS rooted at a trust store directory: notation
// asks for "truststore/x509/…" relative to its configuration directory.
type storeFS struct {
	dir.SysFS
	root string
}

// SysPath maps notation's truststore/… paths into the store directory.
func (s storeFS) SysPath(items ...string) (string, error) {
	p := filepath.ToSlash(filepath.Join(items...))
	p = strings.TrimPrefix(p, dir.TrustStoreDir+"/")
	return filepath.Join(s.root, filepath.FromSlash(p)), nil
}

// memoryStore is an in-memory truststore.X509TrustStore holding the user's
// certificates as the "ca" store named storeName.
type memoryStore struct {
	certs, tsa []*x509.Certificate
}

// GetCertificates returns the usable trust anchors: CA certificates and
// self-signed certificates, as notation's file trust store requires.
func (m *memoryStore) GetCertificates(_ context.Context, storeType truststore.Type, name string) ([]*x509.Certificate, error) {
	certs := m.certs
	if storeType == truststore.TypeTSA && name == storeName && len(m.tsa) > 0 {
		certs = m.tsa
	} else if storeType != truststore.TypeCA || name != storeName {
		return nil, truststore.TrustStoreError{Msg: fmt.Sprintf("the trust store %q of type %q does not exist", name, storeType)}
	}
	var out []*x509.Certificate
	for _, c := range certs {
		if truststore.ValidateCertificates([]*x509.Certificate{c}) == nil {
			out = append(out, c)
		}
	}
	if len(out) == 0 && storeType == truststore.TypeTSA {
		return nil, truststore.CertificateError{Msg: "none of the --tsa-root-cert certificates is a CA or a self-signed certificate; give the TSA's root certificate"}
	}
	if len(out) == 0 {
		return nil, truststore.CertificateError{Msg: "none of the trusted certificates is a CA or a self-signed certificate; give the CA (--ca-cert) or the signer's self-signed certificate"}
	}
	return out, nil
}

// timestamp is a trusted RFC 3161 timestamp.
type timestamp struct {
	at  time.Time
	tsa string
}

// trustedTimestamp returns the timestamp notation-go relied on for a
// signature it accepted: nil when the applicable policy has no "tsa" trust
// store, when it says afterCertExpiry and the chain has not expired (the
// timestamp was then not checked), or when there is no timestamp. The
// token is re-verified against the same TSA trust store to name the TSA;
// a failure there makes the signature invalid.
func trustedTimestamp(ctx context.Context, doc *trustpolicy.Document, store truststore.X509TrustStore, artifactRef string, info *signature.SignerInfo) (*timestamp, error) {
	if len(info.UnsignedAttributes.TimestampSignature) == 0 || info.SignedAttributes.SigningScheme != signature.SigningSchemeX509 {
		return nil, nil
	}
	policy, err := doc.GetApplicableTrustPolicy(artifactRef)
	if err != nil {
		return nil, nil
	}
	var tsaRoots []*x509.Certificate
	for _, s := range policy.TrustStores {
		typ, name, ok := strings.Cut(s, ":")
		if !ok || truststore.Type(typ) != truststore.TypeTSA {
			continue
		}
		certs, err := store.GetCertificates(ctx, truststore.TypeTSA, name)
		if err != nil {
			return nil, vErr(ClassTimestamp, "RFC 3161 timestamp: TSA trust store %q: %s", name, oneLine(err))
		}
		tsaRoots = append(tsaRoots, certs...)
	}
	if len(tsaRoots) == 0 {
		return nil, nil
	}
	if policy.SignatureVerification.VerifyTimestamp == trustpolicy.OptionAfterCertExpiry {
		expired := false
		for _, c := range info.CertificateChain {
			expired = expired || time.Now().After(c.NotAfter)
		}
		if !expired {
			return nil, nil
		}
	}
	token, err := tspclient.ParseSignedToken(info.UnsignedAttributes.TimestampSignature)
	if err != nil {
		return nil, vErr(ClassTimestamp, "RFC 3161 timestamp: %s", oneLine(err))
	}
	tst, err := token.Info()
	if err != nil {
		return nil, vErr(ClassTimestamp, "RFC 3161 timestamp: %s", oneLine(err))
	}
	at, err := tst.Validate(info.Signature)
	if err != nil {
		return nil, vErr(ClassTimestamp, "RFC 3161 timestamp: %s", oneLine(err))
	}
	pool := x509.NewCertPool()
	for _, c := range tsaRoots {
		pool.AddCert(c)
	}
	chain, err := token.Verify(ctx, x509.VerifyOptions{CurrentTime: at.Value, Roots: pool})
	if err != nil || len(chain) == 0 {
		return nil, vErr(ClassTimestamp, "RFC 3161 timestamp: not signed by a trusted TSA")
	}
	return &timestamp{at: at.Value.UTC(), tsa: chain[0].Subject.String()}, nil
}

// timestampHint adds, to a "certificate expired" failure of a signature
// that carries a timestamp nobody asked to trust, what would make it count.
func timestampHint(r *notationgo.ValidationResult) string {
	if !strings.Contains(oneLine(r.Error), "expired") {
		return ""
	}
	return " (if the signature carries an RFC 3161 timestamp made while the certificate was valid, trust its TSA with --tsa-root-cert or a \"tsa\" trust store in the trust policy)"
}
