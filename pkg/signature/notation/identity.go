package notation

import (
	"crypto/x509"
	"fmt"
	"strings"

	ldap "github.com/go-ldap/ldap/v3"
)

// MatchIdentity checks a signer's leaf certificate against identities
// (signet's --identity: x509 subject DNs) with the rules notation-go
// applies to a trust policy's "x509.subject:" trusted identities, so that
// --identity means the same for a jwt signature as for jws and cose: each
// identity and the leaf's subject are read as RFC 4514 distinguished
// names with single-valued RDNs, unique attributes (S is ST), no
// hex-encoded values and at least C, ST and O; the leaf matches an
// identity when it has every attribute of it with the same value. It
// returns nil when the leaf matches one identity, or an *Error of class
// ClassTrustPolicy (an identity is not such a DN) or ClassIdentity.
func MatchIdentity(identities []string, leaf *x509.Certificate) *Error {
	var want []map[string]string
	for _, id := range identities {
		attrs, err := subjectAttributes(id)
		if err != nil {
			return vErr(ClassTrustPolicy, "invalid trusted identity: %v", err)
		}
		want = append(want, attrs)
	}
	subject := leaf.Subject.String()
	have, err := subjectAttributes(subject)
	if err != nil {
		return vErr(ClassIdentity, "the signer is not a trusted identity: its certificate subject cannot be compared: %v", err)
	}
	for _, w := range want {
		if isSubset(w, have) {
			return nil
		}
	}
	return vErr(ClassIdentity, "the signer is not a trusted identity: certificate subject %q matches none of %q", subject, identities)
}

// CheckIdentity returns an error saying why id is not an identity
// MatchIdentity can match (not an RFC 4514 DN, a multi-valued or repeated
// attribute, a hex value, no C, ST or O), so that a caller refuses it
// before anything is fetched; nil when it is one.
func CheckIdentity(id string) error {
	_, err := subjectAttributes(id)
	return err
}

// subjectAttributes reads dn as notation reads an x509.subject identity.
func subjectAttributes(dn string) (map[string]string, error) {
	if strings.Contains(dn, "=#") {
		return nil, fmt.Errorf("distinguished name %q: hex-encoded values (=#) are not supported", dn)
	}
	parsed, err := ldap.ParseDN(dn)
	if err != nil {
		return nil, fmt.Errorf("%q is not a distinguished name (RFC 4514): %v", dn, err)
	}
	attrs := map[string]string{}
	for _, rdn := range parsed.RDNs {
		if len(rdn.Attributes) != 1 {
			return nil, fmt.Errorf("distinguished name %q has a multi-valued RDN", dn)
		}
		typ, value := rdn.Attributes[0].Type, rdn.Attributes[0].Value
		if typ == "S" {
			typ = "ST"
		}
		if _, dup := attrs[typ]; dup {
			return nil, fmt.Errorf("distinguished name %q has %s more than once", dn, typ)
		}
		attrs[typ] = value
	}
	for _, m := range []string{"C", "ST", "O"} {
		if attrs[m] == "" {
			return nil, fmt.Errorf("distinguished name %q has no %s attribute; at least C, ST and O are needed", dn, m)
		}
	}
	return attrs, nil
}

// isSubset reports whether every attribute of sub is in super with the
// same value.
func isSubset(sub, super map[string]string) bool {
	for k, v := range sub {
		if sv, ok := super[k]; !ok || sv != v {
			return false
		}
	}
	return true
}
