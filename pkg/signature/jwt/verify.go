package jwt

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"math/big"
	"slices"
	"strings"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/signet-oci/signet/pkg/signature"
)

// DefaultMaxTokenSize is the token size limit when VerifyOptions leaves it 0.
const DefaultMaxTokenSize = signature.MaxEnvelopeSize

// MaxChainCertificates bounds the number of certificates in x5c.
const MaxChainCertificates = signature.MaxCertificateChain

// VerifyOptions configure Verify.
type VerifyOptions struct {
	// TrustedCertificates are the anchors (the -c and --ca-cert files): the
	// chain must end at one of them. A trusted certificate may be the leaf
	// itself. System roots are never used.
	TrustedCertificates []*x509.Certificate
	// Now is the verification time; zero means time.Now(). No clock skew
	// is allowed for exp and nbf.
	Now time.Time
	// MaxTokenSize bounds the token; 0 means DefaultMaxTokenSize. Larger
	// tokens are refused before any parsing.
	MaxTokenSize int64
}

// Verify checks token as a signature over subject, in the order of
// formats.md §2: size bound; three strict base64url segments; JSON without
// duplicate keys; a supported alg; typ "x509"; alg fitting the leaf's key;
// leaf chaining (through x5c[1:]) to a trusted certificate and valid at
// Now, with digitalSignature where a key usage is present and an extended
// key usage (if any) of serverAuth or codeSigning; the signature; every
// reference's host (port stripped) against the leaf; exp and nbf; and the
// claims' mediaType (when subject has one), digest and size against
// subject. Any failure is an *Error whose Class says which check failed.
func Verify(token []byte, subject ocispec.Descriptor, opts VerifyOptions) (*Result, error) {
	limit := opts.MaxTokenSize
	if limit <= 0 {
		limit = DefaultMaxTokenSize
	}
	if int64(len(token)) > limit {
		return nil, vErr(TooLarge, "token of %d bytes exceeds the limit of %d bytes", len(token), limit)
	}
	p, err := parse(token)
	if err != nil {
		return nil, err
	}
	alg := lookupAlgorithm(p.header.Algorithm)
	if alg == nil {
		return nil, vErr(UnsupportedAlgorithm, "unsupported alg %q; only RS256, RS384, RS512, ES256, ES384 and ES512 are accepted", p.header.Algorithm)
	}
	if p.header.Type != TokenType {
		return nil, vErr(UnsupportedType, "typ is %q, not %q", p.header.Type, TokenType)
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}

	var chain, inters []*x509.Certificate
	switch {
	case len(p.header.X5C) > 0:
		var leaf *x509.Certificate
		var err error
		leaf, inters, err = decodeX5C(p.header.X5C, opts.TrustedCertificates)
		if err != nil {
			return nil, err
		}
		if err := alg.fitsKey(leaf.PublicKey); err != nil {
			return nil, err
		}
		if chain, err = verifyChain(leaf, inters, opts.TrustedCertificates, now); err != nil {
			return nil, err
		}
	case p.header.KeyID != "":
		cert := trustedByKeyID(p.header.KeyID, opts.TrustedCertificates)
		if cert == nil {
			return nil, vErr(UntrustedChain, "no trusted certificate has key id %s; pass the signer's certificate with -c", p.header.KeyID)
		}
		if err := alg.fitsKey(cert.PublicKey); err != nil {
			return nil, err
		}
		if err := checkValidity(cert, now); err != nil {
			return nil, err
		}
		chain = []*x509.Certificate{cert}
	default:
		return nil, vErr(Malformed, `header has neither "x5c" nor "kid"`)
	}
	if len(chain) == 1 {
		// The signer's certificate is trusted itself: its issuers, when
		// given, follow it, for the revocation check (which checks each
		// certificate against its issuer).
		chain = withIssuers(chain[0], inters, opts.TrustedCertificates)
	}
	leaf := chain[0]
	if msg := leafUsageProblem(leaf); msg != "" {
		return nil, vErr(CertificateInvalid, "signing certificate %q %s", leaf.Subject.CommonName, msg)
	}

	if !verifySignature(alg, leaf.PublicKey, p.signingInput, p.signature) {
		return nil, vErr(BadSignature, "signature does not verify with the key of certificate %q", leaf.Subject.CommonName)
	}

	c := p.claims
	for _, ref := range c.References {
		if err := checkReference(leaf, ref); err != nil {
			return nil, vErr(ReferenceMismatch, "%v", err)
		}
	}
	unix := now.Unix()
	if c.Expiry != 0 && c.Expiry <= unix {
		return nil, vErr(Expired, "signature expired at %s", time.Unix(c.Expiry, 0).UTC().Format(time.RFC3339))
	}
	if c.NotBefore > unix {
		return nil, vErr(NotYetValid, "signature not valid before %s", time.Unix(c.NotBefore, 0).UTC().Format(time.RFC3339))
	}
	if subject.MediaType != "" && c.MediaType != subject.MediaType {
		return nil, vErr(SubjectMismatch, "signed mediaType %q differs from the manifest's %q", c.MediaType, subject.MediaType)
	}
	if c.Digest != subject.Digest.String() {
		return nil, vErr(SubjectMismatch, "signed digest %s differs from the manifest's %s", c.Digest, subject.Digest)
	}
	if c.Size != subject.Size {
		return nil, vErr(SubjectMismatch, "signed size %d differs from the manifest's %d", c.Size, subject.Size)
	}

	res := &Result{Header: p.header.clone(), Claims: *c, Chain: chain}
	if c.IssuedAt != 0 {
		res.SignedAt = time.Unix(c.IssuedAt, 0)
	}
	return res, nil
}

// Parse reads the token's structure (three strict base64url segments,
// header and claims JSON without duplicate keys) without any trust
// decision, for display. Errors are *Error of class Malformed.
func Parse(token []byte) (*Header, *Claims, error) {
	p, err := parse(token)
	if err != nil {
		return nil, nil, err
	}
	h := p.header.clone()
	return &h, p.claims, nil
}

type parsed struct {
	header       *Header
	claims       *Claims
	signingInput []byte
	signature    []byte
}

func parse(token []byte) (*parsed, error) {
	first := bytes.IndexByte(token, '.')
	second := -1
	if first >= 0 {
		if i := bytes.IndexByte(token[first+1:], '.'); i >= 0 {
			second = first + 1 + i
		}
	}
	if first < 0 || second < 0 || bytes.IndexByte(token[second+1:], '.') >= 0 {
		return nil, vErr(Malformed, "not a compact JWS: expected exactly three '.'-separated segments")
	}
	h, err := cache.header(token[:first])
	if err != nil {
		return nil, err
	}
	claimsJSON, err := decodeSegment(token[first+1:second], "claims")
	if err != nil {
		return nil, err
	}
	sig, err := decodeSegment(token[second+1:], "signature")
	if err != nil {
		return nil, err
	}
	c, err := decodeClaims(claimsJSON)
	if err != nil {
		return nil, vErr(Malformed, "claims: %v", err)
	}
	return &parsed{header: h, claims: c, signingInput: token[:second], signature: sig}, nil
}

// decodeSegment decodes strict, unpadded base64url. The decoder refuses
// '=' and any byte outside the alphabet except '\r' and '\n', which Go
// silently skips, so those are refused first.
func decodeSegment(seg []byte, what string) ([]byte, error) {
	if len(seg) == 0 {
		return nil, vErr(Malformed, "empty %s segment", what)
	}
	if bytes.IndexByte(seg, '\n') >= 0 || bytes.IndexByte(seg, '\r') >= 0 {
		return nil, vErr(Malformed, "%s segment contains a line break", what)
	}
	enc := base64.RawURLEncoding.Strict()
	out := make([]byte, enc.DecodedLen(len(seg)))
	n, err := enc.Decode(out, seg)
	if err != nil {
		return nil, vErr(Malformed, "%s segment is not canonical unpadded base64url", what)
	}
	return out[:n], nil
}

// decodeX5C decodes and parses the x5c certificates. A certificate whose
// DER equals a trusted certificate's is taken from the trusted list rather
// than parsed again.
func decodeX5C(x5c []string, trusted []*x509.Certificate) (*x509.Certificate, []*x509.Certificate, error) {
	if len(x5c) > MaxChainCertificates {
		return nil, nil, vErr(Malformed, "x5c holds %d certificates; at most %d are accepted", len(x5c), MaxChainCertificates)
	}
	certs := make([]*x509.Certificate, len(x5c))
	for i, s := range x5c {
		c, err := cache.cert(s, func() (*x509.Certificate, error) {
			if strings.ContainsAny(s, "\r\n") {
				return nil, vErr(Malformed, "x5c[%d] is not standard base64", i)
			}
			der, err := base64.StdEncoding.Strict().DecodeString(s)
			if err != nil {
				return nil, vErr(Malformed, "x5c[%d] is not standard base64", i)
			}
			c, err := x509.ParseCertificate(der)
			if err != nil {
				return nil, vErr(Malformed, "x5c[%d] is not a DER certificate: %v", i, err)
			}
			return c, nil
		})
		if err != nil {
			return nil, nil, err
		}
		certs[i] = c
		// Prefer the trusted certificate's own value, so that the trust
		// check below is a pointer comparison.
		for _, t := range trusted {
			if bytes.Equal(t.Raw, c.Raw) {
				certs[i] = t
				break
			}
		}
	}
	return certs[0], certs[1:], nil
}

// verifyChain chains leaf through inters to one of trusted, at now, with
// serverAuth or codeSigning (or no) extended key usage, and refuses weak
// RSA keys anywhere in the chain.
func verifyChain(leaf *x509.Certificate, inters, trusted []*x509.Certificate, now time.Time) ([]*x509.Certificate, error) {
	if len(trusted) == 0 {
		return nil, vErr(UntrustedChain, "no trusted certificate given; pass the signer's certificate or its CA with -c or --ca-cert")
	}
	if len(inters) == 0 && isTrusted(leaf, trusted) {
		// The walkthrough's case: the leaf itself is trusted. x509's Verify
		// would check exactly this (validity, critical extensions; the
		// extended key usage is checked by leafUsageProblem) without
		// building a chain; doing it here saves building two pools.
		if err := checkValidity(leaf, now); err != nil {
			return nil, err
		}
		if weak := weakKeyIn([]*x509.Certificate{leaf}); weak != nil {
			return nil, weak
		}
		return []*x509.Certificate{leaf}, nil
	}
	roots := x509.NewCertPool()
	for _, t := range trusted {
		roots.AddCert(t)
	}
	var ipool *x509.CertPool
	if len(inters) > 0 {
		ipool = x509.NewCertPool()
		for _, c := range inters {
			ipool.AddCert(c)
		}
	}
	chains, err := leaf.Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: ipool,
		CurrentTime:   now,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageCodeSigning},
	})
	if err != nil {
		if e := notCAIssuer(leaf, inters, trusted); e != nil {
			return nil, e
		}
		return nil, chainError(leaf, err)
	}
	var weak *Error
	for _, ch := range chains {
		if weak = weakKeyIn(ch); weak == nil {
			return ch, nil
		}
	}
	return nil, weak
}

// withIssuers returns leaf, a certificate trusted itself, followed by its
// issuers found in pools: each one a CA that signed the certificate before
// it, up to a self-issued one, at most MaxChainCertificates in all. They
// add nothing to the trust in leaf (the chain is not verified further);
// they let the revocation check find each certificate's issuer. A
// self-issued leaf (the walkthrough's certificate) is returned alone
// without any signature check.
func withIssuers(leaf *x509.Certificate, pools ...[]*x509.Certificate) []*x509.Certificate {
	chain := []*x509.Certificate{leaf}
	for cur := leaf; len(chain) < MaxChainCertificates && !bytes.Equal(cur.RawIssuer, cur.RawSubject); {
		var next *x509.Certificate
	search:
		for _, pool := range pools {
			for _, c := range pool {
				if bytes.Equal(c.RawSubject, cur.RawIssuer) && !slices.ContainsFunc(chain, c.Equal) && cur.CheckSignatureFrom(c) == nil {
					next = c
					break search
				}
			}
		}
		if next == nil {
			break
		}
		chain = append(chain, next)
		cur = next
	}
	return chain
}

// isTrusted reports whether c is (pointer-identical to, as decodeX5C
// arranges, or byte-identical to) one of trusted.
func isTrusted(c *x509.Certificate, trusted []*x509.Certificate) bool {
	for _, t := range trusted {
		if t == c || bytes.Equal(t.Raw, c.Raw) {
			return true
		}
	}
	return false
}

// chainError maps an x509 verification error to a class.
func chainError(leaf *x509.Certificate, err error) *Error {
	var ua x509.UnknownAuthorityError
	var ci x509.CertificateInvalidError
	var uc x509.UnhandledCriticalExtension
	switch {
	case errors.As(err, &ua):
		return vErr(UntrustedChain, "certificate %q (issuer %q) does not chain to a trusted certificate; pass its CA with --ca-cert or the certificate itself with -c", leaf.Subject.CommonName, leaf.Issuer.CommonName)
	case errors.As(err, &ci):
		name := leaf.Subject.CommonName
		if ci.Cert != nil {
			name = ci.Cert.Subject.CommonName
		}
		switch ci.Reason {
		case x509.Expired:
			return vErr(CertificateInvalid, "certificate %q is expired or not yet valid (valid %s to %s)", name, ci.Cert.NotBefore.UTC().Format(time.RFC3339), ci.Cert.NotAfter.UTC().Format(time.RFC3339))
		case x509.NotAuthorizedToSign:
			return vErr(CertificateInvalid, "certificate %q signs other certificates but is not a CA", name)
		case x509.IncompatibleUsage:
			return vErr(CertificateInvalid, "certificate %q has an extended key usage other than serverAuth or codeSigning", name)
		}
		return vErr(CertificateInvalid, "certificate %q is invalid: %v", name, err)
	case errors.As(err, &uc):
		return vErr(CertificateInvalid, "certificate %q has an unhandled critical extension", leaf.Subject.CommonName)
	}
	return vErr(UntrustedChain, "certificate %q: chain verification failed: %v", leaf.Subject.CommonName, err)
}

// notCAIssuer explains a failed chain whose issuer (among inters and
// trusted) signed the certificate below it but is not a CA: Go reports that
// only as an unknown authority. It runs on the error path only.
func notCAIssuer(leaf *x509.Certificate, inters, trusted []*x509.Certificate) *Error {
	cur := leaf
	for range MaxChainCertificates {
		var next *x509.Certificate
		for _, cands := range [][]*x509.Certificate{inters, trusted} {
			for _, p := range cands {
				if p == cur || !bytes.Equal(p.RawSubject, cur.RawIssuer) ||
					p.CheckSignature(cur.SignatureAlgorithm, cur.RawTBSCertificate, cur.Signature) != nil {
					continue
				}
				if (p.Version == 3 && !p.BasicConstraintsValid) || (p.BasicConstraintsValid && !p.IsCA) {
					return vErr(CertificateInvalid, "certificate %q signed %q but is not a CA", p.Subject.CommonName, cur.Subject.CommonName)
				}
				next = p
			}
		}
		if next == nil || next.Equal(cur) {
			return nil
		}
		cur = next
	}
	return nil
}

// weakKeyIn reports an RSA key under MinRSABits in chain.
func weakKeyIn(chain []*x509.Certificate) *Error {
	for _, c := range chain {
		if k, ok := c.PublicKey.(*rsa.PublicKey); ok && k.N.BitLen() < MinRSABits {
			return vErr(CertificateInvalid, "certificate %q has an RSA key of %d bits; at least %d are required", c.Subject.CommonName, k.N.BitLen(), MinRSABits)
		}
	}
	return nil
}

// checkValidity checks a kid-selected certificate's validity period.
func checkValidity(c *x509.Certificate, now time.Time) error {
	if now.Before(c.NotBefore) || now.After(c.NotAfter) {
		return vErr(CertificateInvalid, "certificate %q is expired or not yet valid (valid %s to %s)", c.Subject.CommonName, c.NotBefore.UTC().Format(time.RFC3339), c.NotAfter.UTC().Format(time.RFC3339))
	}
	if len(c.UnhandledCriticalExtensions) > 0 {
		return vErr(CertificateInvalid, "certificate %q has an unhandled critical extension", c.Subject.CommonName)
	}
	return nil
}

// trustedByKeyID returns the trusted certificate whose key has libtrust
// key id kid.
func trustedByKeyID(kid string, trusted []*x509.Certificate) *x509.Certificate {
	for _, t := range trusted {
		if keyIDFromSPKI(t.RawSubjectPublicKeyInfo) == kid {
			return t
		}
	}
	return nil
}

// verifySignature checks sig over input with pub under alg (whose fit to
// pub was checked before).
func verifySignature(alg *algorithm, pub crypto.PublicKey, input, sig []byte) bool {
	digest := hashInput(alg.hash, input)
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return rsa.VerifyPKCS1v15(k, alg.hash, digest, sig) == nil
	case *ecdsa.PublicKey:
		if len(sig) != 2*alg.size {
			return false
		}
		r := new(big.Int).SetBytes(sig[:alg.size])
		s := new(big.Int).SetBytes(sig[alg.size:])
		return ecdsa.Verify(k, digest, r, s)
	}
	return false
}
