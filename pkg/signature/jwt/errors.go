package jwt

import (
	"fmt"

	"github.com/signet-oci/signet/pkg/errdef"
)

// Class says why a token was refused (or could not be made). The values are
// stable: tests and callers switch on them.
type Class int

// Error classes. Verify reports exactly one; Sign uses the ones that apply
// to what it is given.
const (
	// Malformed: not a compact JWS of three strict base64url segments, bad
	// JSON, duplicate or unknown header keys, missing fields, bad x5c.
	Malformed Class = iota + 1
	// TooLarge: the token exceeds VerifyOptions.MaxTokenSize; refused
	// before any parsing.
	TooLarge
	// UnsupportedType: the header's typ is not "x509".
	UnsupportedType
	// UnsupportedAlgorithm: alg is not one of RS256/384/512, ES256/384/512
	// ("none", HS*, PS* ... are refused).
	UnsupportedAlgorithm
	// AlgorithmKeyMismatch: alg does not fit the signing key (RS* with an
	// EC key, ES* with RSA, ES256 with a P-384 key, ...), or the key type
	// cannot sign this format at all.
	AlgorithmKeyMismatch
	// UntrustedChain: the leaf does not chain to any trusted certificate,
	// or no trusted certificate has the kid of a kid-only token.
	UntrustedChain
	// CertificateInvalid: a certificate of the chain is expired or not yet
	// valid, lacks the digitalSignature key usage or a fitting extended key
	// usage, has an RSA key under 2048 bits, or an intermediate is not a CA.
	CertificateInvalid
	// BadSignature: the signature does not verify with the leaf's key.
	BadSignature
	// ReferenceMismatch: a reference is unusable or names a registry host
	// the leaf certificate is not valid for.
	ReferenceMismatch
	// Expired: the claims' exp is at or before the verification time.
	Expired
	// NotYetValid: the claims' nbf is after the verification time.
	NotYetValid
	// SubjectMismatch: the claims' mediaType, digest or size differ from
	// the manifest being verified.
	SubjectMismatch
	// KeyMismatch: (Sign only) the key is not the first certificate's key.
	KeyMismatch
	// InvalidInput: (Sign only) the descriptor or options are unusable.
	InvalidInput
)

var classNames = map[Class]string{
	Malformed:            "malformed",
	TooLarge:             "too large",
	UnsupportedType:      "unsupported type",
	UnsupportedAlgorithm: "unsupported algorithm",
	AlgorithmKeyMismatch: "algorithm/key mismatch",
	UntrustedChain:       "untrusted chain",
	CertificateInvalid:   "certificate invalid",
	BadSignature:         "bad signature",
	ReferenceMismatch:    "reference mismatch",
	Expired:              "expired",
	NotYetValid:          "not yet valid",
	SubjectMismatch:      "subject mismatch",
	KeyMismatch:          "key and certificate mismatch",
	InvalidInput:         "invalid input",
}

// String returns a short lower-case name for the class.
func (c Class) String() string {
	if s, ok := classNames[c]; ok {
		return s
	}
	return fmt.Sprintf("Class(%d)", int(c))
}

// Error is the error type of this package. Error() is a one-line reason.
// Errors from Verify also match errdef.ErrVerification with errors.Is.
type Error struct {
	// Class says which check failed; switch on it, not on Msg.
	Class Class
	// Msg is the one-line reason, for people.
	Msg string

	verify bool
}

// Error returns the one-line reason.
func (e *Error) Error() string { return e.Msg }

// Unwrap lets errors.Is(err, errdef.ErrVerification) hold for verification
// failures (exit status 3 in the CLI).
func (e *Error) Unwrap() error {
	if e.verify {
		return errdef.ErrVerification
	}
	return nil
}

// vErr builds a verification error.
func vErr(c Class, format string, args ...any) *Error {
	return &Error{Class: c, Msg: "jwt signature: " + fmt.Sprintf(format, args...), verify: true}
}

// sErr builds a signing error.
func sErr(c Class, format string, args ...any) *Error {
	return &Error{Class: c, Msg: "jwt sign: " + fmt.Sprintf(format, args...)}
}
