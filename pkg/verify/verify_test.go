package verify

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/signet-oci/signet/pkg/certgen"
	"github.com/signet-oci/signet/pkg/errdef"
	"github.com/signet-oci/signet/pkg/signature"
	"github.com/signet-oci/signet/pkg/signature/jwt"
	"github.com/signet-oci/signet/pkg/signature/notation"
)

// TestEnvelopeFormatsAndIdentities checks that every format goes through
// its verifier and that --identity narrows JWT trust as well.
func TestEnvelopeFormatsAndIdentities(t *testing.T) {
	key, certs := newSigner(t, certgen.Options{CommonName: "signer"})
	subject := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromString("m"), Size: 100}
	envelopes := map[string][]byte{}
	var err error
	if envelopes["jwt"], err = jwt.Sign(subject, jwt.SignOptions{Signer: key, Certificates: certs}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"jws", "cose"} {
		if envelopes[f], err = notation.Sign(context.Background(), subject, notation.SignOptions{Signer: key, Certificates: certs, Format: f, UserMetadata: map[string]string{"k": "v"}}); err != nil {
			t.Fatal(err)
		}
	}
	for format, env := range envelopes {
		v, err := Envelope(format, env, subject, Trust{Certificates: certs, Scope: "127.0.0.1:5000/busybox"})
		if err != nil || !v.Valid || v.Signer != "CN=signer" {
			t.Fatalf("%s: verdict %+v, err %v", format, v, err)
		}
		if format != "jwt" && v.UserMetadata["k"] != "v" {
			t.Errorf("%s: user metadata %v", format, v.UserMetadata)
		}
		v, err = Envelope(format, env, subject, Trust{Certificates: certs, Identities: []string{"C=US, ST=WA, O=Other"}})
		if !errors.Is(err, errdef.ErrVerification) || v.Class != notation.ClassIdentity {
			t.Errorf("%s with another identity: class %q, err %v; want identity", format, v.Class, err)
		}
	}
	if v, err := Envelope("pgp", []byte("x"), subject, Trust{Certificates: certs}); err == nil || err.Error() != "pgp signatures are not supported" || v.Valid || v.Class != "unsupported format" {
		t.Errorf("unknown format: err = %v, verdict %+v; want class unsupported format", err, v)
	}
	if v, err := Envelope("", []byte("x"), subject, Trust{Certificates: certs}); err == nil || err.Error() != "no signature format given: jwt, jws or cose" || v.Valid || v.Class != "unsupported format" {
		t.Errorf("no format: err = %v, verdict %+v; want class unsupported format, naming the formats", err, v)
	}
}

// TestIdentitiesAgreeAcrossFormats: --identity means the same for every
// format. A jwt signature used to be matched by comparing the identity
// with Go's rendering of the leaf's subject ("CN=signer,O=Acme,ST=WA,C=US"),
// so the help's own example, "C=US, ST=WA, O=Acme, CN=signer", refused a
// jwt signature by exactly that signer while accepting its jws and cose
// signatures. Every format now follows notation's x509.subject rules: the
// identity (with at least C, ST and O) must be a subset of the leaf's
// subject attributes.
func TestIdentitiesAgreeAcrossFormats(t *testing.T) {
	subject := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromString("m"), Size: 100}
	sign := func(opts certgen.Options) (map[string][]byte, []*x509.Certificate) {
		t.Helper()
		key, certs := newSigner(t, opts)
		envs := map[string][]byte{}
		var err error
		if envs["jwt"], err = jwt.Sign(subject, jwt.SignOptions{Signer: key, Certificates: certs}); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"jws", "cose"} {
			if envs[f], err = notation.Sign(context.Background(), subject, notation.SignOptions{Signer: key, Certificates: certs, Format: f}); err != nil {
				t.Fatal(err)
			}
		}
		return envs, certs
	}
	full, fullCerts := sign(certgen.Options{CommonName: "signer", Organization: []string{"Acme"}, Province: []string{"WA"}, Country: []string{"US"}})
	cnOnly, cnCerts := sign(certgen.Options{CommonName: "signer"})
	for _, tc := range []struct {
		name       string
		envs       map[string][]byte
		certs      []*x509.Certificate
		identities []string
		class      string // "" valid
	}{
		{"help example, the signer's full subject", full, fullCerts, []string{"C=US, ST=WA, O=Acme, CN=signer"}, ""},
		{"Go's rendering of the subject", full, fullCerts, []string{"CN=signer,O=Acme,ST=WA,C=US"}, ""},
		{"a subset of the subject", full, fullCerts, []string{"C=US, S=WA, O=Acme"}, ""},
		{"second identity matches", full, fullCerts, []string{"C=US, ST=WA, O=Other", "C=US, ST=WA, O=Acme"}, ""},
		{"another organisation", full, fullCerts, []string{"C=US, ST=WA, O=Other"}, notation.ClassIdentity},
		{"another common name", full, fullCerts, []string{"C=US, ST=WA, O=Acme, CN=someone"}, notation.ClassIdentity},
		{"an attribute the subject lacks", full, fullCerts, []string{"C=US, ST=WA, O=Acme, OU=Build"}, notation.ClassIdentity},
		{"value differing in case", full, fullCerts, []string{"C=US, ST=WA, O=acme"}, notation.ClassIdentity},
		{"identity without C, ST and O", full, fullCerts, []string{"CN=signer"}, notation.ClassTrustPolicy},
		{"identity not a DN", full, fullCerts, []string{"signer"}, notation.ClassTrustPolicy},
		{"signer's subject is a CN only", cnOnly, cnCerts, []string{"C=US, ST=WA, O=Acme"}, notation.ClassIdentity},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, format := range []string{"jwt", "jws", "cose"} {
				v, err := Envelope(format, tc.envs[format], subject, Trust{Certificates: tc.certs, Identities: tc.identities})
				if tc.class == "" {
					if err != nil || !v.Valid {
						t.Errorf("%s: identities %q: not valid (%s: %v); want valid", format, tc.identities, v.Class, err)
					}
					continue
				}
				if !errors.Is(err, errdef.ErrVerification) || v.Valid || v.Class != tc.class {
					t.Errorf("%s: identities %q: valid %v, class %q, err %v; want class %q", format, tc.identities, v.Valid, v.Class, err, tc.class)
				}
			}
		})
	}
}

// newSigner generates an ECDSA P-256 key and a self-signed certificate for
// it with opts (its KeyType is set here).
func newSigner(t *testing.T, opts certgen.Options) (crypto.Signer, []*x509.Certificate) {
	t.Helper()
	opts.KeyType = certgen.KeyECP256
	keyPEM, certPEM, err := certgen.Generate(opts)
	if err != nil {
		t.Fatal(err)
	}
	key, err := signature.ParsePrivateKeyPEM(keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	certs, err := signature.ParseCertificatesPEM(certPEM)
	if err != nil {
		t.Fatal(err)
	}
	return key, certs
}
