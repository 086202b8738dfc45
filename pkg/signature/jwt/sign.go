package jwt

import (
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"

	"github.com/signet-oci/signet/pkg/manifest"
	"github.com/signet-oci/signet/pkg/signature"
)

// SignOptions configure Sign.
type SignOptions struct {
	// Signer is the private key (RSA of at least 2048 bits, or ECDSA on
	// P-256, P-384 or P-521).
	Signer crypto.Signer
	// Certificates are the certificates of the -c file in file order, leaf
	// first; they go into the x5c header. Empty: the header carries the
	// key's libtrust kid instead.
	Certificates []*x509.Certificate
	// References are registry references (host[:port]/repo[:tag]) the
	// signature is for; the leaf must be valid for each one's host.
	References []string
	// Expiry, when positive, sets nbf = iat and exp = iat + Expiry.
	Expiry time.Duration
	// Now is the signing time; zero means time.Now().
	Now time.Time
}

// Sign returns the compact x509 JWT (no trailing newline) over desc, whose
// mediaType, digest and size become the claims. It fails, and returns no
// bytes, when the key does not match the first certificate, the key is too
// weak, the leaf is not currently valid or lacks digitalSignature, or any
// reference is unusable or names a host the leaf is not valid for.
func Sign(desc ocispec.Descriptor, opts SignOptions) ([]byte, error) {
	if opts.Signer == nil {
		return nil, sErr(InvalidInput, "no signing key given")
	}
	if !manifest.ValidDigest(desc.Digest) {
		return nil, sErr(InvalidInput, "invalid manifest digest %q: want sha256:<64 hex> or sha512:<128 hex>", desc.Digest)
	}
	if desc.Size < 0 {
		return nil, sErr(InvalidInput, "invalid manifest size %d", desc.Size)
	}
	if opts.Expiry < 0 {
		return nil, sErr(InvalidInput, "negative expiry %s", opts.Expiry)
	}
	pub := opts.Signer.Public()
	alg, err := signingAlgorithm(pub)
	if err != nil {
		c := InvalidInput
		if alg == nil && isRSA(pub) {
			c = CertificateInvalid
		}
		return nil, sErr(c, "%v", err)
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}

	var kid string
	if len(opts.Certificates) > 0 {
		leaf := opts.Certificates[0]
		if !signature.PublicKeysEqual(pub, leaf.PublicKey) {
			return nil, sErr(KeyMismatch, "key and certificate mismatch: the key is not the key of the first certificate (%s); put the certificate issued for this key first", leaf.Subject)
		}
		if err := checkLeafForSigning(leaf, now); err != nil {
			return nil, err
		}
		for _, ref := range opts.References {
			if err := checkReference(leaf, ref); err != nil {
				return nil, sErr(ReferenceMismatch, "%v; sign for a host the certificate names, or issue a certificate for it", err)
			}
		}
	} else {
		if len(opts.References) > 0 {
			return nil, sErr(InvalidInput, "references need a certificate to be checked against; pass the certificate (-c) along with the key")
		}
		der, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			return nil, sErr(InvalidInput, "encode public key: %v", err)
		}
		kid = keyIDFromSPKI(der)
	}

	iat := now.Unix()
	claims := Claims{
		MediaType:  desc.MediaType,
		Digest:     desc.Digest.String(),
		Size:       desc.Size,
		References: opts.References,
		IssuedAt:   iat,
	}
	if opts.Expiry > 0 {
		claims.NotBefore = iat
		claims.Expiry = now.Add(opts.Expiry).Unix()
	}

	claimsJSON := appendClaims(make([]byte, 0, 256), &claims)

	// Encode header and claims into the token, then sign "header.claims".
	enc := base64.RawURLEncoding
	header := headers.encoded(alg.name, opts.Certificates, kid)
	token := make([]byte, 0, len(header)+1+enc.EncodedLen(len(claimsJSON))+1+enc.EncodedLen(2*132+16))
	token = append(token, header...)
	token = append(token, '.')
	token = enc.AppendEncode(token, claimsJSON)

	sig, err := signInput(opts.Signer, alg, token)
	if err != nil {
		return nil, err
	}
	token = append(token, '.')
	token = enc.AppendEncode(token, sig)
	return token, nil
}

func isRSA(pub crypto.PublicKey) bool {
	_, ok := pub.(interface{ Size() int })
	return ok
}

// checkLeafForSigning refuses a leaf that no verifier would accept, so a
// user learns it now rather than at verification.
func checkLeafForSigning(leaf *x509.Certificate, now time.Time) error {
	if now.Before(leaf.NotBefore) {
		return sErr(CertificateInvalid, "certificate %q is not valid before %s; fix the clock or the certificate", leaf.Subject.CommonName, leaf.NotBefore.UTC().Format(time.RFC3339))
	}
	if now.After(leaf.NotAfter) {
		return sErr(CertificateInvalid, "certificate %q expired on %s; issue a new one (signet generate cert)", leaf.Subject.CommonName, leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	if msg := leafUsageProblem(leaf); msg != "" {
		return sErr(CertificateInvalid, "certificate %q %s; issue one with it (signet generate cert)", leaf.Subject.CommonName, msg)
	}
	return nil
}

// leafUsageProblem says what is wrong with the leaf's (extended) key usage
// for this format, or "" if nothing is: a key-usage extension, when present,
// must include digitalSignature; extended key usages, when present, must
// include serverAuth, codeSigning or any.
func leafUsageProblem(leaf *x509.Certificate) string {
	if hasKeyUsageExtension(leaf) && leaf.KeyUsage&x509.KeyUsageDigitalSignature == 0 {
		return "has a key usage without digitalSignature"
	}
	if len(leaf.ExtKeyUsage) == 0 && len(leaf.UnknownExtKeyUsage) == 0 {
		return ""
	}
	for _, u := range leaf.ExtKeyUsage {
		switch u {
		case x509.ExtKeyUsageAny, x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageCodeSigning:
			return ""
		}
	}
	return "has extended key usages but neither codeSigning nor serverAuth"
}

var oidKeyUsage = []int{2, 5, 29, 15}

func hasKeyUsageExtension(c *x509.Certificate) bool {
	for _, e := range c.Extensions {
		if e.Id.Equal(oidKeyUsage) {
			return true
		}
	}
	return false
}

// appendHeader appends {"typ":"x509","alg":…,"x5c":[…]} or, without
// certificates, {"typ":"x509","alg":…,"kid":…}.
func appendHeader(b []byte, alg string, certs []*x509.Certificate, kid string) []byte {
	b = append(b, `{"typ":"x509","alg":`...)
	b = appendString(b, alg)
	if len(certs) > 0 {
		b = append(b, `,"x5c":[`...)
		for i, c := range certs {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '"')
			b = base64.StdEncoding.AppendEncode(b, c.Raw)
			b = append(b, '"')
		}
		b = append(b, ']')
	} else {
		b = append(b, `,"kid":`...)
		b = appendString(b, kid)
	}
	return append(b, '}')
}

// appendClaims appends the claims exactly as encoding/json would marshal
// Claims: keys in §2 order, empty optional claims omitted.
func appendClaims(b []byte, c *Claims) []byte {
	b = append(b, '{')
	if c.MediaType != "" {
		b = append(b, `"mediaType":`...)
		b = appendString(b, c.MediaType)
		b = append(b, ',')
	}
	b = append(b, `"digest":`...)
	b = appendString(b, c.Digest)
	b = append(b, `,"size":`...)
	b = strconv.AppendInt(b, c.Size, 10)
	if len(c.References) > 0 {
		b = append(b, `,"references":[`...)
		for i, r := range c.References {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, r)
		}
		b = append(b, ']')
	}
	for _, f := range [...]struct {
		key string
		v   int64
	}{{`,"exp":`, c.Expiry}, {`,"iat":`, c.IssuedAt}, {`,"nbf":`, c.NotBefore}} {
		if f.v != 0 {
			b = append(b, f.key...)
			b = strconv.AppendInt(b, f.v, 10)
		}
	}
	return append(b, '}')
}

// appendString appends s as a JSON string, byte-identical to
// encoding/json (which escapes <, >, & and control characters). Plain
// printable ASCII, the common case, is copied directly.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // cannot fail for a string
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// signInput signs the signing input with alg and returns the JWS signature
// bytes (PKCS #1 v1.5 for RS*, fixed-length R‖S for ES*).
func signInput(signer crypto.Signer, alg *algorithm, input []byte) ([]byte, error) {
	sig, err := signer.Sign(rand.Reader, hashInput(alg.hash, input), alg.hash)
	if err != nil {
		return nil, sErr(InvalidInput, "signing failed: %v", err)
	}
	if !alg.ec {
		return sig, nil
	}
	out, ok := asn1ToRS(sig, alg.size)
	if !ok {
		return nil, sErr(InvalidInput, "signing failed: the key returned a malformed ECDSA signature")
	}
	return out, nil
}

// hashInput hashes the signing input (SHA-256 without an allocation of
// the hash state, the common case).
func hashInput(h crypto.Hash, input []byte) []byte {
	if h == crypto.SHA256 {
		sum := sha256.Sum256(input)
		return sum[:]
	}
	hh := h.New()
	hh.Write(input)
	return hh.Sum(nil)
}

// asn1ToRS converts an ASN.1 ECDSA-Sig-Value into fixed-length R‖S.
func asn1ToRS(der []byte, size int) ([]byte, bool) {
	var r, s []byte
	in := cryptobyte.String(der)
	var seq cryptobyte.String
	if !in.ReadASN1(&seq, asn1.SEQUENCE) || !in.Empty() ||
		!seq.ReadASN1Integer(&r) || !seq.ReadASN1Integer(&s) || !seq.Empty() {
		return nil, false
	}
	out := make([]byte, 2*size)
	if !putFixed(out[:size], r) || !putFixed(out[size:], s) {
		return nil, false
	}
	return out, true
}

// putFixed writes the big-endian unsigned integer v right-aligned into dst.
func putFixed(dst, v []byte) bool {
	for len(v) > 0 && v[0] == 0 {
		v = v[1:]
	}
	if len(v) > len(dst) {
		return false
	}
	copy(dst[len(dst)-len(v):], v)
	return true
}
