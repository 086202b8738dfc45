package certgen

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/signet-oci/signet/pkg/signature"
	"github.com/signet-oci/signet/pkg/signature/jwt"
)

func parse(t *testing.T, keyPEM, certPEM []byte) (any, []*x509.Certificate) {
	t.Helper()
	if b, _ := pem.Decode(keyPEM); b == nil || b.Type != "PRIVATE KEY" {
		t.Fatalf("key is not a PKCS #8 PRIVATE KEY block")
	}
	key, err := signature.ParsePrivateKeyPEM(keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	certs, err := signature.ParseCertificatesPEM(certPEM)
	if err != nil {
		t.Fatal(err)
	}
	if !signature.PublicKeysEqual(key.Public(), certs[0].PublicKey) {
		t.Fatal("key does not match certificate")
	}
	return key, certs
}

func TestDefaults(t *testing.T) {
	now := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	keyPEM, certPEM, err := Generate(Options{IPs: []net.IP{net.ParseIP("127.0.0.1")}, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	key, certs := parse(t, keyPEM, certPEM)
	c := certs[0]
	if k, ok := key.(*rsa.PrivateKey); !ok || k.N.BitLen() != 2048 {
		t.Errorf("default key is %T, want RSA-2048", key)
	}
	if len(certs) != 1 {
		t.Errorf("%d certificates", len(certs))
	}
	if !c.BasicConstraintsValid || c.IsCA {
		t.Error("default certificate must carry CA:FALSE")
	}
	if c.KeyUsage != x509.KeyUsageDigitalSignature {
		t.Errorf("key usage %v, want digitalSignature only", c.KeyUsage)
	}
	if len(c.ExtKeyUsage) != 0 || len(c.UnknownExtKeyUsage) != 0 {
		t.Error("default certificate must have no extended key usage")
	}
	if c.SerialNumber.BitLen() != 128 {
		t.Errorf("serial of %d bits", c.SerialNumber.BitLen())
	}
	if len(c.SubjectKeyId) == 0 {
		t.Error("no subject key id")
	}
	if !c.NotBefore.Equal(now.Add(-time.Minute)) || !c.NotAfter.Equal(now.Add(365*24*time.Hour)) {
		t.Errorf("validity %s .. %s", c.NotBefore, c.NotAfter)
	}
	if c.Subject.CommonName != "127.0.0.1" || c.VerifyHostname("127.0.0.1") != nil {
		t.Error("IP SAN / default CN")
	}
}

func TestKeyTypesAndCodeSigning(t *testing.T) {
	for _, tc := range []struct {
		keyType string
		curve   elliptic.Curve
	}{{KeyECP256, elliptic.P256()}, {KeyECP384, elliptic.P384()}, {KeyECP521, elliptic.P521()}} {
		keyPEM, certPEM, err := Generate(Options{KeyType: tc.keyType, CodeSigning: true, DNSNames: []string{"registry.example.com"}, Days: 7})
		if err != nil {
			t.Fatal(err)
		}
		key, certs := parse(t, keyPEM, certPEM)
		if k, ok := key.(*ecdsa.PrivateKey); !ok || k.Curve != tc.curve {
			t.Errorf("%s: key %T", tc.keyType, key)
		}
		c := certs[0]
		if len(c.ExtKeyUsage) != 1 || c.ExtKeyUsage[0] != x509.ExtKeyUsageCodeSigning {
			t.Errorf("%s: EKU %v", tc.keyType, c.ExtKeyUsage)
		}
		if c.Subject.CommonName != "registry.example.com" {
			t.Errorf("CN %q", c.Subject.CommonName)
		}
		if d := c.NotAfter.Sub(c.NotBefore); d != 7*24*time.Hour+time.Minute {
			t.Errorf("validity %s", d)
		}
	}
	if _, _, err := Generate(Options{KeyType: "dsa"}); err == nil || err.Error() != `unknown key type "dsa"; use one of [rsa-2048 rsa-3072 rsa-4096 ec-p256 ec-p384 ec-p521]` {
		t.Errorf("unknown key type: err = %v", err)
	}
	if _, _, err := Generate(Options{KeyType: KeyECP256, Days: -1}); err == nil || err.Error() != "invalid validity of -1 days; give a positive number of days" {
		t.Errorf("negative days: err = %v", err)
	}
}

// TestCASignedChain issues a leaf from a generated CA and verifies a jwt
// signature made with the leaf's chain file, trusting only the CA.
func TestCASignedChain(t *testing.T) {
	caKeyPEM, caCertPEM, err := Generate(Options{CommonName: "signet test CA", KeyType: KeyECP384, IsCA: true})
	if err != nil {
		t.Fatal(err)
	}
	_, caCerts := parse(t, caKeyPEM, caCertPEM)
	ca := caCerts[0]
	if !ca.IsCA || ca.KeyUsage != x509.KeyUsageCertSign|x509.KeyUsageDigitalSignature {
		t.Fatalf("CA: IsCA %v, KU %v", ca.IsCA, ca.KeyUsage)
	}
	caSigner, _ := signature.ParsePrivateKeyPEM(caKeyPEM)

	keyPEM, certPEM, err := Generate(Options{KeyType: KeyECP256, IPs: []net.IP{net.ParseIP("127.0.0.1")}, CAKey: caSigner, CACert: ca})
	if err != nil {
		t.Fatal(err)
	}
	_, certs := parse(t, keyPEM, certPEM)
	if len(certs) != 2 || !certs[1].Equal(ca) || certs[0].IsCA {
		t.Fatalf("chain file: %d certificates", len(certs))
	}
	if string(certs[0].AuthorityKeyId) != string(ca.SubjectKeyId) {
		t.Error("authority key id does not name the CA")
	}
	signer, _ := signature.ParsePrivateKeyPEM(keyPEM)
	manifest := []byte(`{"schemaVersion":2}`)
	desc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromBytes(manifest), Size: int64(len(manifest))}
	token, err := jwt.Sign(desc, jwt.SignOptions{Signer: signer, Certificates: certs, References: []string{"127.0.0.1:5000/busybox:latest"}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := jwt.Verify(token, desc, jwt.VerifyOptions{TrustedCertificates: []*x509.Certificate{ca}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Chain) != 2 {
		t.Errorf("chain of %d", len(res.Chain))
	}

	// A non-CA certificate cannot issue; a mismatched CA key is refused.
	_, leafCerts := parse(t, keyPEM, certPEM)
	want := fmt.Sprintf("CA certificate %q is not a CA (no CA:TRUE basic constraint); make one with signet generate cert --ca", leafCerts[0].Subject.CommonName)
	if _, _, err := Generate(Options{KeyType: KeyECP256, CAKey: signer, CACert: leafCerts[0]}); err == nil || err.Error() != want {
		t.Errorf("non-CA as issuer: err = %v, want %q", err, want)
	}
	want = "key and certificate mismatch: the CA key is not the key of the CA certificate (" + ca.Subject.String() + "); pass the matching --ca-key"
	if _, _, err := Generate(Options{KeyType: KeyECP256, CAKey: signer, CACert: ca}); err == nil || err.Error() != want {
		t.Errorf("mismatched CA key: err = %v, want %q", err, want)
	}
	want = "a CA needs both its key and its certificate (--ca-key and --ca-cert)"
	if _, _, err := Generate(Options{KeyType: KeyECP256, CACert: ca}); err == nil || err.Error() != want {
		t.Errorf("CA certificate without key: err = %v, want %q", err, want)
	}
}

func TestParseSubject(t *testing.T) {
	var o Options
	if err := ParseSubject("/CN=127.0.0.1/O=example inc/C=IN/ST=Haryana/L=Gurgaon", &o); err != nil {
		t.Fatal(err)
	}
	keyPEM, certPEM, err := Generate(o)
	if err != nil {
		t.Fatal(err)
	}
	_, certs := parse(t, keyPEM, certPEM)
	cert := certs[0]
	if got, want := cert.Subject.String(), "CN=127.0.0.1,O=example inc,L=Gurgaon,ST=Haryana,C=IN"; got != want {
		t.Errorf("subject = %q, want %q", got, want)
	}
	for bad, want := range map[string]string{
		"CN=x":  `subject "CN=x": write it as /CN=name/O=org/C=country/ST=state/L=locality`,
		"/CN":   `subject "/CN": "CN" is not KEY=value`,
		"/XX=y": `subject "/XX=y": unknown key "XX" (use CN, O, OU, C, ST, L)`,
		"/CN=":  `subject "/CN=": "CN=" is not KEY=value`,
	} {
		if err := ParseSubject(bad, &Options{}); err == nil || err.Error() != want {
			t.Errorf("ParseSubject(%q): err = %v, want %q", bad, err, want)
		}
	}
}
