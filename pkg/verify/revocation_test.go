package verify

import (
	"context"
	"crypto/x509"
	"errors"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/signet-oci/signet/internal/testpki"
	"github.com/signet-oci/signet/pkg/errdef"
	"github.com/signet-oci/signet/pkg/signature/jwt"
	"github.com/signet-oci/signet/pkg/signature/notation"
	"github.com/signet-oci/signet/pkg/signature/revocation"
)

// TestRevokedSignerTrustedDirectly: a revoked signer is refused whichever
// way its certificate is trusted. A jwt signer given with -c as its chain
// (leaf, CA: "-c gives the signer's certificate (or its chain)") or as its
// leaf alone was trusted as the leaf itself, a chain of one certificate
// with nothing to check it against: verify said VALID, "no revocation
// information", for a signer its CA had revoked (its jws was refused). The
// leaf's issuer, from the trusted certificates or x5c, now checks it.
func TestRevokedSignerTrustedDirectly(t *testing.T) {
	ca := testpki.NewRevocationCA(t, "signet revocation CA")
	bad := ca.Leaf(t, "revoked signer", true, true)
	good := ca.Leaf(t, "good signer", true, true)
	ca.Revoke(bad.Chain[0])
	subject := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromString("m"), Size: 100}
	sign := func(s *testpki.Signer, format string, certs []*x509.Certificate) []byte {
		t.Helper()
		var env []byte
		var err error
		if format == "jwt" {
			env, err = jwt.Sign(subject, jwt.SignOptions{Signer: s.Key, Certificates: certs})
		} else {
			env, err = notation.Sign(context.Background(), subject, notation.SignOptions{Signer: s.Key, Certificates: certs, Format: format})
		}
		if err != nil {
			t.Fatal(err)
		}
		return env
	}
	for _, tc := range []struct {
		name    string
		format  string
		x5c     func(*testpki.Signer) []*x509.Certificate // what the signature carries
		trusted func(*testpki.Signer) []*x509.Certificate // -c / --ca-cert
	}{
		{"jwt, -c the chain", "jwt", chainOf, chainOf},
		{"jwt, -c the leaf, chain in x5c", "jwt", chainOf, leafOf},
		{"jwt, -c the leaf and the CA, leaf alone in x5c", "jwt", leafOf, chainOf},
		{"jwt, --ca-cert", "jwt", chainOf, caOf},
		{"jws, -c the chain", "jws", chainOf, chainOf},
		{"cose, --ca-cert", "cose", chainOf, caOf},
	} {
		t.Run(tc.name, func(t *testing.T) {
			trust := func(s *testpki.Signer) Trust {
				c, err := revocation.New(revocation.Options{})
				if err != nil {
					t.Fatal(err)
				}
				return Trust{Certificates: tc.trusted(s), Revocation: c}
			}
			v, err := Envelope(tc.format, sign(bad, tc.format, tc.x5c(bad)), subject, trust(bad))
			if !errors.Is(err, errdef.ErrVerification) || v.Valid || v.Class != revocation.ClassRevoked {
				t.Errorf("revoked signer: valid %v, revocation %q, class %q, err %v; want class %q", v.Valid, v.Revocation, v.Class, err, revocation.ClassRevoked)
			}
			v, err = Envelope(tc.format, sign(good, tc.format, tc.x5c(good)), subject, trust(good))
			if err != nil || !v.Valid || v.Revocation != revocation.StatusGood {
				t.Errorf("good signer: valid %v, revocation %q, err %v; want valid, %q", v.Valid, v.Revocation, err, revocation.StatusGood)
			}
		})
	}
}

func chainOf(s *testpki.Signer) []*x509.Certificate { return s.Chain }
func leafOf(s *testpki.Signer) []*x509.Certificate  { return s.Chain[:1] }
func caOf(s *testpki.Signer) []*x509.Certificate    { return []*x509.Certificate{s.CA} }

// TestTrustedLeafWithoutIssuer: a jwt signer trusted itself (-c its leaf)
// whose certificate names an OCSP responder or a CRL, with its issuer
// given nowhere (neither -c/--ca-cert nor x5c): its status cannot be
// checked (OCSP answers and CRLs are verified with the issuer's key). That
// is revocation status unknown (strict: invalid; soft: valid, reported
// unknown), not "no revocation information", which says that no
// certificate names a responder or a CRL and which a revoked signer got.
func TestTrustedLeafWithoutIssuer(t *testing.T) {
	ca := testpki.NewRevocationCA(t, "signet revocation CA")
	bad := ca.Leaf(t, "revoked signer", true, true)
	ca.Revoke(bad.Chain[0])
	subject := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromString("m"), Size: 100}
	tok, err := jwt.Sign(subject, jwt.SignOptions{Signer: bad.Key, Certificates: bad.Chain[:1]})
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range []revocation.Mode{revocation.Strict, revocation.Soft} {
		c, err := revocation.New(revocation.Options{Mode: mode})
		if err != nil {
			t.Fatal(err)
		}
		v, err := Envelope("jwt", tok, subject, Trust{Certificates: bad.Chain[:1], Revocation: c})
		const why = `revocation status of "CN=revoked signer,O=signet tests" could not be checked: its issuer "CN=signet revocation CA,O=signet tests" was given neither with -c/--ca-cert nor in the signature`
		switch {
		case mode == revocation.Strict && (!errors.Is(err, errdef.ErrVerification) || v.Valid || v.Class != revocation.ClassUnknown || !strings.Contains(v.Reason, why)):
			t.Errorf("strict: valid %v, revocation %q, class %q, reason %q; want class %q, %q", v.Valid, v.Revocation, v.Class, v.Reason, revocation.ClassUnknown, why)
		case mode == revocation.Soft && (err != nil || !v.Valid || v.Revocation != revocation.StatusUnknown || !strings.Contains(v.RevocationDetail, why)):
			t.Errorf("soft: valid %v, revocation %q, detail %q, err %v; want valid, %q, %q", v.Valid, v.Revocation, v.RevocationDetail, err, revocation.StatusUnknown, why)
		}
	}
}
