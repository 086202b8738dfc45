package verify

import (
	"context"
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
	keyPEM, certPEM, err := certgen.Generate(certgen.Options{CommonName: "signer", KeyType: certgen.KeyECP256})
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
	subject := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromString("m"), Size: 100}
	envelopes := map[string][]byte{}
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
}
