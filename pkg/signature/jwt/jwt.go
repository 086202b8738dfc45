// Package jwt makes and checks the 2021 prototype's x509 JWT signature (what
// `nv2 sign --method x509` wrote), byte for byte as described in
// spec/formats.md §2, with the prototype's bugs fixed:
//
//   - the reference check strips the registry's ":port" before matching the
//     certificate (the walkthrough's `127.0.0.1:5000/...` reference with an
//     IP:127.0.0.1 certificate failed in the prototype);
//   - an unusable reference is an error at sign time (the prototype exited 0
//     and wrote an empty signature file);
//   - verification refuses RSA keys under 2048 bits, leaf certificates whose
//     key usage lacks digitalSignature, "none"/HMAC algorithms, duplicate
//     JSON keys and non-canonical base64url.
//
// A token is the compact JWS B64URL(header) "." B64URL(claims) "."
// B64URL(signature), with no padding and no trailing newline.
package jwt

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base32"
	"fmt"
	"net"
	"strings"
	"time"
)

// TokenType is the header's typ: "x509", not "JWT".
const TokenType = "x509"

// Header is the JOSE header. Its JSON keys are written in the order typ,
// alg, then x5c or kid.
type Header struct {
	Type      string   `json:"typ"`           // TokenType, "x509"
	Algorithm string   `json:"alg"`           // RS256/384/512 or ES256/384/512
	X5C       []string `json:"x5c,omitempty"` // standard base64 (padded) DER, leaf first
	KeyID     string   `json:"kid,omitempty"` // libtrust key id, only without x5c
}

// Claims are the flat claims of formats.md §2, written in this key order.
type Claims struct {
	// MediaType, Digest and Size are the signed manifest's descriptor.
	MediaType string `json:"mediaType,omitempty"`
	Digest    string `json:"digest"`
	Size      int64  `json:"size"`
	// References are the registry references the signature is for.
	References []string `json:"references,omitempty"`
	// Expiry, IssuedAt and NotBefore are Unix times (0: absent).
	Expiry    int64 `json:"exp,omitempty"`
	IssuedAt  int64 `json:"iat,omitempty"`
	NotBefore int64 `json:"nbf,omitempty"`
}

// Result is what a successful Verify established.
type Result struct {
	// Header and Claims are the verified token's.
	Header Header
	Claims Claims
	// Chain is the verified chain, leaf first, ending at the trusted
	// certificate. When the leaf itself is trusted (given with -c, or
	// named by a kid-only token), the chain is the leaf followed by the
	// issuers found for it in x5c and the trusted certificates, for the
	// revocation check: the leaf alone when it is self-issued or none is
	// given.
	Chain []*x509.Certificate
	// SignedAt is the iat claim (zero if absent).
	SignedAt time.Time
}

// MinRSABits is the smallest RSA modulus accepted for signing and verifying.
const MinRSABits = 2048

// algorithm describes one supported "alg".
type algorithm struct {
	name  string
	hash  crypto.Hash
	ec    bool
	curve elliptic.Curve // for ES*: the only curve it may be used with
	size  int            // for ES*: byte length of R and of S
}

var (
	algRS256 = &algorithm{name: "RS256", hash: crypto.SHA256}
	algRS384 = &algorithm{name: "RS384", hash: crypto.SHA384}
	algRS512 = &algorithm{name: "RS512", hash: crypto.SHA512}
	algES256 = &algorithm{name: "ES256", hash: crypto.SHA256, ec: true, curve: elliptic.P256(), size: 32}
	algES384 = &algorithm{name: "ES384", hash: crypto.SHA384, ec: true, curve: elliptic.P384(), size: 48}
	algES512 = &algorithm{name: "ES512", hash: crypto.SHA512, ec: true, curve: elliptic.P521(), size: 66}
)

// lookupAlgorithm returns the algorithm called name, or nil.
func lookupAlgorithm(name string) *algorithm {
	switch name {
	case "RS256":
		return algRS256
	case "RS384":
		return algRS384
	case "RS512":
		return algRS512
	case "ES256":
		return algES256
	case "ES384":
		return algES384
	case "ES512":
		return algES512
	}
	return nil
}

// signingAlgorithm picks the algorithm Sign uses for pub: RS256 for RSA,
// ES256/384/512 by curve.
func signingAlgorithm(pub crypto.PublicKey) (*algorithm, error) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if bits := k.N.BitLen(); bits < MinRSABits {
			return nil, fmt.Errorf("RSA key of %d bits is too weak; use at least %d bits (signet generate cert --key-type rsa-2048)", bits, MinRSABits)
		}
		return algRS256, nil
	case *ecdsa.PublicKey:
		for _, a := range []*algorithm{algES256, algES384, algES512} {
			if k.Curve == a.curve {
				return a, nil
			}
		}
		return nil, fmt.Errorf("unsupported EC curve %s; use P-256, P-384 or P-521", k.Curve.Params().Name)
	}
	return nil, fmt.Errorf("unsupported key type %T; use RSA or ECDSA", pub)
}

// fitsKey reports (as a non-nil *Error) why a cannot be used with pub.
func (a *algorithm) fitsKey(pub crypto.PublicKey) *Error {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if a.ec {
			return vErr(AlgorithmKeyMismatch, "alg %s needs an EC key, the certificate has an RSA key", a.name)
		}
		if bits := k.N.BitLen(); bits < MinRSABits {
			return vErr(CertificateInvalid, "the signing certificate's RSA key has %d bits; at least %d are required", bits, MinRSABits)
		}
		return nil
	case *ecdsa.PublicKey:
		if !a.ec {
			return vErr(AlgorithmKeyMismatch, "alg %s needs an RSA key, the certificate has an EC %s key", a.name, k.Curve.Params().Name)
		}
		if k.Curve != a.curve {
			return vErr(AlgorithmKeyMismatch, "alg %s needs a %s key, the certificate has a %s key", a.name, a.curve.Params().Name, k.Curve.Params().Name)
		}
		return nil
	}
	return vErr(AlgorithmKeyMismatch, "alg %s cannot be used with a %T key", a.name, pub)
}

// KeyID returns the libtrust key id of pub: the SHA-256 of its PKIX DER
// encoding, first 240 bits, base32, in twelve groups of four joined by ':'.
func KeyID(pub crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("key id: %w", err)
	}
	return keyIDFromSPKI(der), nil
}

// keyIDFromSPKI computes the libtrust key id from PKIX DER (for a
// certificate, its RawSubjectPublicKeyInfo).
func keyIDFromSPKI(der []byte) string {
	sum := sha256.Sum256(der)
	s := base32.StdEncoding.EncodeToString(sum[:30]) // 240 bits: 48 chars, no padding
	var b strings.Builder
	b.Grow(59)
	for i := 0; i < len(s); i += 4 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(s[i : i+4])
	}
	return b.String()
}

// registryHost returns the host a reference's certificate must be valid
// for: the part before the first '/', with any ":port" removed (and the
// brackets of an IPv6 literal kept, which VerifyHostname understands).
func registryHost(ref string) (string, error) {
	host, repo, ok := strings.Cut(ref, "/")
	if !ok || host == "" || repo == "" {
		return "", fmt.Errorf("reference %q is not of the form host[:port]/repository[:tag|@digest]", ref)
	}
	for _, r := range ref {
		if r <= ' ' || r == 0x7f {
			return "", fmt.Errorf("reference %q contains a space or control character", ref)
		}
	}
	if strings.HasPrefix(host, "[") {
		// [v6] or [v6]:port
		end := strings.IndexByte(host, ']')
		if end < 0 || (end != len(host)-1 && host[end+1] != ':') {
			return "", fmt.Errorf("reference %q has a malformed IPv6 host", ref)
		}
		return host[:end+1], nil
	}
	if i := strings.IndexByte(host, ':'); i >= 0 {
		if strings.Count(host, ":") > 1 {
			return "", fmt.Errorf("reference %q: put an IPv6 host in brackets", ref)
		}
		h, port, err := net.SplitHostPort(host)
		if err != nil || h == "" || port == "" {
			return "", fmt.Errorf("reference %q has a malformed host:port", ref)
		}
		return h, nil
	}
	return host, nil
}

// checkReference reports why leaf may not sign for ref (nil if it may).
func checkReference(leaf *x509.Certificate, ref string) error {
	host, err := registryHost(ref)
	if err != nil {
		return err
	}
	if err := leaf.VerifyHostname(host); err != nil {
		return fmt.Errorf("certificate %q is not valid for registry host %q of reference %q (its SANs: %s)", leaf.Subject.CommonName, host, ref, sanList(leaf))
	}
	return nil
}

func sanList(c *x509.Certificate) string {
	var s []string
	for _, d := range c.DNSNames {
		s = append(s, "DNS:"+d)
	}
	for _, ip := range c.IPAddresses {
		s = append(s, "IP:"+ip.String())
	}
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}
