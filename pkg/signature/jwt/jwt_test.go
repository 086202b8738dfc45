package jwt_test

import (
	"bytes"
	"crypto"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/signet-oci/signet/pkg/errdef"
	"github.com/signet-oci/signet/pkg/signature"
	"github.com/signet-oci/signet/pkg/signature/jwt"
)

var update = flag.Bool("update", false, "rewrite testdata/golden-rs256.jwt")

const walkthroughRef = "127.0.0.1:5000/busybox:latest"

// TestGoldenRS256 pins the byte format of spec/formats.md §2 for a fixed
// RSA key, certificate and time: header text {"typ":"x509","alg":"RS256",
// "x5c":[std base64 DER]} in that key order, flat claims in the order
// mediaType, digest, size, references, exp, iat, nbf, nbf = iat and
// exp = iat + expiry, base64url without padding, no trailing newline.
// RSA PKCS #1 v1.5 is deterministic, so the whole token is a golden file.
func TestGoldenRS256(t *testing.T) {
	key, certs := walkthroughKeyPair(t)
	token, err := jwt.Sign(manifestDesc, jwt.SignOptions{
		Signer:       key,
		Certificates: certs,
		References:   []string{walkthroughRef},
		Expiry:       24 * time.Hour,
		Now:          testNow,
	})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.ContainsAny(token, "=\n\r \t+/") {
		t.Fatalf("token has padding, whitespace or non-URL base64: %q", token)
	}
	parts := strings.Split(string(token), ".")
	if len(parts) != 3 {
		t.Fatalf("%d segments", len(parts))
	}
	dec := func(s string) string {
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	wantHeader := `{"typ":"x509","alg":"RS256","x5c":["` + base64.StdEncoding.EncodeToString(certs[0].Raw) + `"]}`
	if got := dec(parts[0]); got != wantHeader {
		t.Errorf("header\n got %s\nwant %s", got, wantHeader)
	}
	iat := testNow.Unix()
	wantClaims := `{"mediaType":"application/vnd.docker.distribution.manifest.v2+json","digest":"` + manifestDesc.Digest.String() +
		`","size":` + strconv.Itoa(len(manifestBytes)) + `,"references":["127.0.0.1:5000/busybox:latest"],"exp":` +
		strconv.FormatInt(iat+86400, 10) + `,"iat":` + strconv.FormatInt(iat, 10) + `,"nbf":` + strconv.FormatInt(iat, 10) + `}`
	if got := dec(parts[1]); got != wantClaims {
		t.Errorf("claims\n got %s\nwant %s", got, wantClaims)
	}
	// The signature is PKCS #1 v1.5 SHA-256 over the ASCII "header.claims".
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(certs[0].PublicKey.(*rsa.PublicKey), crypto.SHA256, sum[:], []byte(dec(parts[2]))); err != nil {
		t.Errorf("signature: %v", err)
	}

	golden := filepath.Join("testdata", "golden-rs256.jwt")
	if *update {
		if err := os.WriteFile(golden, token, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if want := readFile(t, golden); !bytes.Equal(token, want) {
		t.Errorf("token differs from %s (run go test -update if the change is intended)", golden)
	}

	// And it verifies with the walkthrough certificate given as -c.
	res, err := jwt.Verify(token, manifestDesc, jwt.VerifyOptions{TrustedCertificates: certs, Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Chain) != 1 || !res.Chain[0].Equal(certs[0]) || !res.SignedAt.Equal(testNow) || res.Claims.References[0] != walkthroughRef {
		t.Errorf("unexpected result %+v", res)
	}
}

// TestGoldenVerifiesWithoutSigning checks the stored golden token alone,
// so a change that breaks reading old tokens is caught even if Sign changes.
func TestGoldenVerifiesWithoutSigning(t *testing.T) {
	_, certs := walkthroughKeyPair(t)
	token := readFile(t, filepath.Join("testdata", "golden-rs256.jwt"))
	if _, err := jwt.Verify(token, manifestDesc, jwt.VerifyOptions{TrustedCertificates: certs, Now: testNow.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	h, c, err := jwt.Parse(token)
	if err != nil || h.Type != "x509" || h.Algorithm != "RS256" || len(h.X5C) != 1 || c.Size != int64(len(manifestBytes)) {
		t.Fatalf("Parse: %v %+v %+v", err, h, c)
	}
}

// TestWalkthroughCertificateBuiltInTest signs the walkthrough's reference
// (with :5000) using an openssl-style certificate built here: self-signed,
// CA:TRUE, no key usage, IP SAN 127.0.0.1. The prototype failed this
// (port not stripped) and wrote a 0-byte file; signet must succeed.
func TestWalkthroughCertificateBuiltInTest(t *testing.T) {
	key, _ := walkthroughKeyPair(t)
	cert := makeCert(t, certSpec{cn: "127.0.0.1", ips: []string{"127.0.0.1"}, isCA: true}, key.Public(), nil, key)
	if cert.KeyUsage != 0 || !cert.IsCA {
		t.Fatal("fixture is not openssl-like")
	}
	token, err := jwt.Sign(manifestDesc, jwt.SignOptions{Signer: key, Certificates: []*x509.Certificate{cert}, References: []string{walkthroughRef}, Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := jwt.Verify(token, manifestDesc, jwt.VerifyOptions{TrustedCertificates: []*x509.Certificate{cert}, Now: testNow}); err != nil {
		t.Fatal(err)
	}
}

func TestReferenceHosts(t *testing.T) {
	key := mustEC(t, elliptic.P256())
	cert := makeCert(t, certSpec{cn: "reg", ips: []string{"127.0.0.1", "::1"}, dns: []string{"registry.example.com"}}, key.Public(), nil, key)
	opts := func(refs ...string) jwt.SignOptions {
		return jwt.SignOptions{Signer: key, Certificates: []*x509.Certificate{cert}, References: refs, Now: testNow}
	}
	for _, ref := range []string{
		"127.0.0.1/busybox", "127.0.0.1:5000/busybox:latest", "[::1]:5000/busybox", "[::1]/busybox",
		"registry.example.com/library/busybox@sha256:" + strings.Repeat("a", 64), "registry.example.com:443/busybox",
	} {
		if _, err := jwt.Sign(manifestDesc, opts(ref)); err != nil {
			t.Errorf("%s: %v", ref, err)
		}
	}
	for _, ref := range []string{
		"127.0.0.2:5000/busybox", "other.example.com/busybox", "busybox:latest", "127.0.0.1:5000", "/busybox",
		"127.0.0.1:/busybox", "::1:5000/busybox", "127.0.0.1:5000/busy box", "[::1/busybox",
	} {
		token, err := jwt.Sign(manifestDesc, opts(walkthroughRef, ref))
		if token != nil {
			t.Errorf("%s: Sign returned %d bytes along with an error", ref, len(token))
		}
		wantClass(t, err, jwt.ReferenceMismatch)
		if errors.Is(err, errdef.ErrVerification) {
			t.Errorf("a sign error claims to be a verification failure")
		}
	}

	// A token (built by hand, validly signed) naming another host fails
	// verification with ReferenceMismatch.
	header := `{"typ":"x509","alg":"ES256","x5c":` + x5cJSON(cert) + `}`
	claims := `{"digest":"` + manifestDesc.Digest.String() + `","size":` + strconv.FormatInt(manifestDesc.Size, 10) + `,"references":["127.0.0.1:5000/x","evil.example.com/busybox"]}`
	_, err := jwt.Verify(handToken(t, header, claims, key, "ES256"), manifestDesc, jwt.VerifyOptions{TrustedCertificates: []*x509.Certificate{cert}, Now: testNow})
	wantClass(t, err, jwt.ReferenceMismatch)
	if !errors.Is(err, errdef.ErrVerification) {
		t.Error("verification error does not match errdef.ErrVerification")
	}
}

func TestECRoundTrips(t *testing.T) {
	for _, tc := range []struct {
		curve  elliptic.Curve
		alg    string
		sigLen int
	}{{elliptic.P256(), "ES256", 64}, {elliptic.P384(), "ES384", 96}, {elliptic.P521(), "ES512", 132}} {
		t.Run(tc.alg, func(t *testing.T) {
			key := mustEC(t, tc.curve)
			cert := makeCert(t, certSpec{cn: "ec", ips: []string{"127.0.0.1"}}, key.Public(), nil, key)
			// Several rounds so that R or S with leading zero bytes occur
			// (and must still be padded to the fixed length).
			for i := 0; i < 8; i++ {
				token, err := jwt.Sign(manifestDesc, jwt.SignOptions{Signer: key, Certificates: []*x509.Certificate{cert}, References: []string{walkthroughRef}, Now: testNow})
				if err != nil {
					t.Fatal(err)
				}
				parts := strings.Split(string(token), ".")
				sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
				if len(sig) != tc.sigLen {
					t.Fatalf("signature length %d, want %d", len(sig), tc.sigLen)
				}
				res, err := jwt.Verify(token, manifestDesc, jwt.VerifyOptions{TrustedCertificates: []*x509.Certificate{cert}, Now: testNow})
				if err != nil {
					t.Fatal(err)
				}
				if res.Header.Algorithm != tc.alg {
					t.Fatalf("alg %s", res.Header.Algorithm)
				}
			}
		})
	}
}

// TestRSAVariants: the prototype accepted RS384 and RS512 for RSA keys on
// verify (formats.md §2); tokens are built by hand.
func TestRSAVariants(t *testing.T) {
	key, certs := walkthroughKeyPair(t)
	claims := `{"mediaType":"` + dockerV2 + `","digest":"` + manifestDesc.Digest.String() + `","size":` + strconv.FormatInt(manifestDesc.Size, 10) + `,"references":["` + walkthroughRef + `"],"iat":1798761600}`
	trust := jwt.VerifyOptions{TrustedCertificates: certs, Now: testNow}
	for _, alg := range []string{"RS256", "RS384", "RS512"} {
		header := `{"typ":"x509","alg":"` + alg + `","x5c":` + x5cJSON(certs[0]) + `}`
		if _, err := jwt.Verify(handToken(t, header, claims, key, alg), manifestDesc, trust); err != nil {
			t.Errorf("%s: %v", alg, err)
		}
	}
	// Declared alg differs from the one used to sign: the signature fails.
	header := `{"typ":"x509","alg":"RS512","x5c":` + x5cJSON(certs[0]) + `}`
	_, err := jwt.Verify(handToken(t, header, claims, key, "RS256"), manifestDesc, trust)
	wantClass(t, err, jwt.BadSignature)
}

func TestAlgorithms(t *testing.T) {
	rsaKey, rsaCerts := walkthroughKeyPair(t)
	p256 := mustEC(t, elliptic.P256())
	p256Cert := makeCert(t, certSpec{cn: "p256"}, p256.Public(), nil, p256)
	claims := `{"digest":"` + manifestDesc.Digest.String() + `","size":` + strconv.FormatInt(manifestDesc.Size, 10) + `}`
	hdr := func(alg string, c *x509.Certificate) string {
		return `{"typ":"x509","alg":"` + alg + `","x5c":` + x5cJSON(c) + `}`
	}
	verify := func(tok []byte, trusted *x509.Certificate) error {
		_, err := jwt.Verify(tok, manifestDesc, jwt.VerifyOptions{TrustedCertificates: []*x509.Certificate{trusted}, Now: testNow})
		return err
	}
	// Declared ES256 over an RSA certificate (signed with RS256 bytes).
	wantClass(t, verify(reheader(t, handToken(t, hdr("RS256", rsaCerts[0]), claims, rsaKey, "RS256"), hdr("ES256", rsaCerts[0])), rsaCerts[0]), jwt.AlgorithmKeyMismatch)
	// RS256 declared for an EC key.
	wantClass(t, verify(reheader(t, handToken(t, hdr("ES256", p256Cert), claims, p256, "ES256"), hdr("RS256", p256Cert)), p256Cert), jwt.AlgorithmKeyMismatch)
	// ES384 with a P-256 key (alg must match the curve).
	wantClass(t, verify(reheader(t, handToken(t, hdr("ES256", p256Cert), claims, p256, "ES256"), hdr("ES384", p256Cert)), p256Cert), jwt.AlgorithmKeyMismatch)
	for _, alg := range []string{"none", "HS256", "PS256", "EdDSA", "", "rs256"} {
		tok := reheader(t, handToken(t, hdr("RS256", rsaCerts[0]), claims, rsaKey, "RS256"), hdr(alg, rsaCerts[0]))
		wantClass(t, verify(tok, rsaCerts[0]), jwt.UnsupportedAlgorithm)
	}
	// alg "none" with an empty signature segment is malformed before anything else.
	parts := strings.Split(string(handToken(t, hdr("RS256", rsaCerts[0]), claims, rsaKey, "RS256")), ".")
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"typ":"x509","alg":"none"}`))
	wantClass(t, verify([]byte(none+"."+parts[1]+"."), rsaCerts[0]), jwt.Malformed)
}

// reheader replaces the header segment of tok.
func reheader(t testing.TB, tok []byte, header string) []byte {
	t.Helper()
	parts := strings.SplitN(string(tok), ".", 2)
	return []byte(base64.RawURLEncoding.EncodeToString([]byte(header)) + "." + parts[1])
}

func TestKeyIDToken(t *testing.T) {
	key, certs := walkthroughKeyPair(t)
	token, err := jwt.Sign(manifestDesc, jwt.SignOptions{Signer: key, Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	kid, err := jwt.KeyID(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^([A-Z2-7]{4}:){11}[A-Z2-7]{4}$`).MatchString(kid) {
		t.Fatalf("kid %q is not 12 groups of 4 base32 characters", kid)
	}
	hdr, _ := base64.RawURLEncoding.DecodeString(strings.Split(string(token), ".")[0])
	if want := `{"typ":"x509","alg":"RS256","kid":"` + kid + `"}`; string(hdr) != want {
		t.Fatalf("header %s, want %s", hdr, want)
	}
	other := mustEC(t, elliptic.P256())
	otherCert := makeCert(t, certSpec{cn: "other"}, other.Public(), nil, other)
	res, err := jwt.Verify(token, manifestDesc, jwt.VerifyOptions{TrustedCertificates: []*x509.Certificate{otherCert, certs[0]}, Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Chain) != 1 || !res.Chain[0].Equal(certs[0]) {
		t.Fatal("kid matched the wrong certificate")
	}
	_, err = jwt.Verify(token, manifestDesc, jwt.VerifyOptions{TrustedCertificates: []*x509.Certificate{otherCert}, Now: testNow})
	wantClass(t, err, jwt.UntrustedChain)
	// A kid token with an expired trusted certificate.
	_, err = jwt.Verify(token, manifestDesc, jwt.VerifyOptions{TrustedCertificates: certs, Now: certs[0].NotAfter.Add(time.Hour)})
	wantClass(t, err, jwt.CertificateInvalid)
	// References cannot be checked without a certificate: refused at sign.
	_, err = jwt.Sign(manifestDesc, jwt.SignOptions{Signer: key, References: []string{walkthroughRef}})
	wantClass(t, err, jwt.InvalidInput)
}

// TestKeyIDLibtrust recomputes the libtrust algorithm independently.
func TestKeyIDLibtrust(t *testing.T) {
	_, certs := walkthroughKeyPair(t)
	sum := sha256.Sum256(certs[0].RawSubjectPublicKeyInfo)
	s := strings.TrimRight(base32Std(sum[:30]), "=")
	var groups []string
	for i := 0; i < len(s); i += 4 {
		groups = append(groups, s[i:i+4])
	}
	kid, _ := jwt.KeyID(certs[0].PublicKey)
	if want := strings.Join(groups, ":"); kid != want || len(groups) != 12 {
		t.Fatalf("kid %s, want %s", kid, want)
	}
}

func TestSignErrors(t *testing.T) {
	key, certs := walkthroughKeyPair(t)
	ec := mustEC(t, elliptic.P256())
	ecCert := makeCert(t, certSpec{cn: "ec"}, ec.Public(), nil, ec)

	// Key and certificate mismatch.
	tok, err := jwt.Sign(manifestDesc, jwt.SignOptions{Signer: key, Certificates: []*x509.Certificate{ecCert}, Now: testNow})
	wantClass(t, err, jwt.KeyMismatch)
	if tok != nil || !strings.Contains(err.Error(), "key and certificate mismatch") {
		t.Fatalf("mismatch: %v", err)
	}

	// RSA-1024 refused.
	weak, weakCerts, err := signature.LoadKeyPair(filepath.Join("testdata", "rsa1024.key"), filepath.Join("testdata", "rsa1024.crt"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = jwt.Sign(manifestDesc, jwt.SignOptions{Signer: weak, Certificates: weakCerts, Now: testNow})
	wantClass(t, err, jwt.CertificateInvalid)
	_, err = jwt.Sign(manifestDesc, jwt.SignOptions{Signer: weak, Now: testNow})
	wantClass(t, err, jwt.CertificateInvalid)

	// Expired and not-yet-valid certificates.
	_, err = jwt.Sign(manifestDesc, jwt.SignOptions{Signer: key, Certificates: certs, Now: certs[0].NotAfter.Add(time.Second)})
	wantClass(t, err, jwt.CertificateInvalid)
	_, err = jwt.Sign(manifestDesc, jwt.SignOptions{Signer: key, Certificates: certs, Now: certs[0].NotBefore.Add(-time.Second)})
	wantClass(t, err, jwt.CertificateInvalid)

	// Key usage without digitalSignature.
	kuCert := makeCert(t, certSpec{cn: "ku", keyUsage: x509.KeyUsageKeyEncipherment}, ec.Public(), nil, ec)
	_, err = jwt.Sign(manifestDesc, jwt.SignOptions{Signer: ec, Certificates: []*x509.Certificate{kuCert}, Now: testNow})
	wantClass(t, err, jwt.CertificateInvalid)

	// Bad descriptor, negative expiry, no key.
	bad := manifestDesc
	bad.Digest = "sha256:xyz"
	_, err = jwt.Sign(bad, jwt.SignOptions{Signer: key, Certificates: certs, Now: testNow})
	wantClass(t, err, jwt.InvalidInput)
	_, err = jwt.Sign(manifestDesc, jwt.SignOptions{Signer: key, Certificates: certs, Now: testNow, Expiry: -time.Hour})
	wantClass(t, err, jwt.InvalidInput)
	_, err = jwt.Sign(manifestDesc, jwt.SignOptions{})
	wantClass(t, err, jwt.InvalidInput)

	// Messages are one line.
	if strings.Contains(err.Error(), "\n") {
		t.Fatal("multi-line error")
	}
}

func TestChains(t *testing.T) {
	caKey := mustEC(t, elliptic.P384())
	ca := makeCert(t, certSpec{cn: "root", isCA: true, keyUsage: x509.KeyUsageCertSign}, caKey.Public(), nil, caKey)
	interKey := mustEC(t, elliptic.P256())
	inter := makeCert(t, certSpec{cn: "inter", isCA: true, keyUsage: x509.KeyUsageCertSign}, interKey.Public(), ca, caKey)
	leafKey := mustEC(t, elliptic.P256())
	leaf := makeCert(t, certSpec{cn: "leaf", ips: []string{"127.0.0.1"}, keyUsage: x509.KeyUsageDigitalSignature}, leafKey.Public(), inter, interKey)

	sign := func(certs ...*x509.Certificate) []byte {
		t.Helper()
		tok, err := jwt.Sign(manifestDesc, jwt.SignOptions{Signer: leafKey, Certificates: certs, References: []string{walkthroughRef}, Now: testNow})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	verify := func(tok []byte, trusted ...*x509.Certificate) (*jwt.Result, error) {
		return jwt.Verify(tok, manifestDesc, jwt.VerifyOptions{TrustedCertificates: trusted, Now: testNow})
	}
	full := sign(leaf, inter, ca)
	res, err := verify(full, ca)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Chain) != 3 || !res.Chain[2].Equal(ca) || !res.Chain[0].Equal(leaf) {
		t.Fatalf("chain of %d", len(res.Chain))
	}
	if _, err := verify(full, inter); err != nil {
		t.Fatalf("intermediate as trust anchor: %v", err)
	}
	if _, err := verify(full, leaf); err != nil {
		t.Fatalf("leaf as trust anchor: %v", err)
	}
	_, err = verify(sign(leaf), ca) // intermediate missing
	wantClass(t, err, jwt.UntrustedChain)
	_, err = verify(full) // nothing trusted
	wantClass(t, err, jwt.UntrustedChain)
	other := mustEC(t, elliptic.P256())
	_, err = verify(full, makeCert(t, certSpec{cn: "root", isCA: true}, other.Public(), nil, other)) // wrong cert, same name
	wantClass(t, err, jwt.UntrustedChain)

	// An intermediate that is not a CA.
	notCA := makeCert(t, certSpec{cn: "not-ca"}, interKey.Public(), ca, caKey)
	leaf2 := makeCert(t, certSpec{cn: "leaf2", ips: []string{"127.0.0.1"}}, leafKey.Public(), notCA, interKey)
	_, err = verify(sign(leaf2, notCA), ca)
	wantClass(t, err, jwt.CertificateInvalid)

	// x5c longer than the bound.
	long := make([]*x509.Certificate, 0, 12)
	long = append(long, leaf)
	for len(long) < 11 {
		long = append(long, inter)
	}
	_, err = verify(sign(long...), ca)
	wantClass(t, err, jwt.Malformed)
}

func TestLeafUsages(t *testing.T) {
	key := mustEC(t, elliptic.P256())
	for _, tc := range []struct {
		name string
		spec certSpec
		ok   bool
	}{
		{"no KU no EKU", certSpec{}, true},
		{"KU digitalSignature", certSpec{keyUsage: x509.KeyUsageDigitalSignature}, true},
		{"EKU codeSigning", certSpec{keyUsage: x509.KeyUsageDigitalSignature, eku: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}}, true},
		{"EKU serverAuth", certSpec{eku: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}, true},
		{"KU without digitalSignature", certSpec{keyUsage: x509.KeyUsageCertSign, isCA: true}, false},
		{"EKU emailProtection only", certSpec{eku: []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.spec.cn = tc.name
			cert := makeCert(t, tc.spec, key.Public(), nil, key)
			claims := `{"mediaType":"` + dockerV2 + `","digest":"` + manifestDesc.Digest.String() + `","size":` + strconv.FormatInt(manifestDesc.Size, 10) + `}`
			tok := handToken(t, `{"typ":"x509","alg":"ES256","x5c":`+x5cJSON(cert)+`}`, claims, key, "ES256")
			_, err := jwt.Verify(tok, manifestDesc, jwt.VerifyOptions{TrustedCertificates: []*x509.Certificate{cert}, Now: testNow})
			if tc.ok {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantClass(t, err, jwt.CertificateInvalid)
		})
	}
	// RSA-1024 leaf (hand-built token, since Sign refuses it).
	weak, weakCerts, err := signature.LoadKeyPair(filepath.Join("testdata", "rsa1024.key"), filepath.Join("testdata", "rsa1024.crt"))
	if err != nil {
		t.Fatal(err)
	}
	claims := `{"digest":"` + manifestDesc.Digest.String() + `","size":` + strconv.FormatInt(manifestDesc.Size, 10) + `}`
	tok := handToken(t, `{"typ":"x509","alg":"RS256","x5c":`+x5cJSON(weakCerts[0])+`}`, claims, weak, "RS256")
	_, err = jwt.Verify(tok, manifestDesc, jwt.VerifyOptions{TrustedCertificates: weakCerts, Now: testNow})
	wantClass(t, err, jwt.CertificateInvalid)
}

// TestVerifyFailures covers formats.md §2's verification steps one defect
// at a time, each expecting its precise class.
func TestVerifyFailures(t *testing.T) {
	key, certs := walkthroughKeyPair(t)
	good, err := jwt.Sign(manifestDesc, jwt.SignOptions{Signer: key, Certificates: certs, References: []string{walkthroughRef}, Expiry: time.Hour, Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(string(good), ".")
	x5c := x5cJSON(certs[0])
	size := strconv.FormatInt(manifestDesc.Size, 10)
	dgst := manifestDesc.Digest.String()
	hand := func(header, claims string) []byte { return handToken(t, header, claims, key, "RS256") }
	stdHeader := `{"typ":"x509","alg":"RS256","x5c":` + x5c + `}`
	stdClaims := `{"mediaType":"` + dockerV2 + `","digest":"` + dgst + `","size":` + size + `}`
	flip := func(s string) string { // change one character of a segment
		b := []byte(s)
		if b[3] == 'A' {
			b[3] = 'B'
		} else {
			b[3] = 'A'
		}
		return string(b)
	}
	otherKey := mustEC(t, elliptic.P256())
	otherCert := makeCert(t, certSpec{cn: "127.0.0.1", ips: []string{"127.0.0.1"}}, otherKey.Public(), nil, otherKey)

	newline := append(append([]byte{}, manifestBytes...), '\n')
	cases := []struct {
		name    string
		token   []byte
		subject func() (d ocispecDescriptor)
		now     time.Time
		trusted []*x509.Certificate
		max     int64
		class   jwt.Class
		msg     string // the message starts "jwt signature: " + msg
	}{
		{name: "too large", token: good, max: int64(len(good) - 1), class: jwt.TooLarge, msg: fmt.Sprintf("token of %d bytes exceeds the limit of %d bytes", len(good), len(good)-1)},
		{name: "two segments", token: []byte(parts[0] + "." + parts[1]), class: jwt.Malformed, msg: `not a compact JWS: expected exactly three '.'-separated segments`},
		{name: "four segments", token: []byte(string(good) + ".AAAA"), class: jwt.Malformed, msg: `not a compact JWS: expected exactly three '.'-separated segments`},
		{name: "empty", token: []byte{}, class: jwt.Malformed, msg: `not a compact JWS: expected exactly three '.'-separated segments`},
		{name: "trailing newline", token: append(append([]byte{}, good...), '\n'), class: jwt.Malformed, msg: `signature segment contains a line break`},
		{name: "CRLF inside", token: []byte(parts[0][:10] + "\r\n" + parts[0][10:] + "." + parts[1] + "." + parts[2]), class: jwt.Malformed, msg: `header segment contains a line break`},
		{name: "space", token: []byte(" " + string(good)), class: jwt.Malformed, msg: `header segment is not canonical unpadded base64url`},
		{name: "padding", token: []byte(parts[0] + "." + parts[1] + "." + parts[2] + "=="), class: jwt.Malformed, msg: `signature segment is not canonical unpadded base64url`},
		{name: "std base64 alphabet", token: []byte(strings.NewReplacer("-", "+", "_", "/").Replace(parts[0]) + "+/." + parts[1] + "." + parts[2]), class: jwt.Malformed, msg: `header segment is not canonical unpadded base64url`},
		{name: "non-canonical base64", token: []byte(parts[0] + "." + parts[1] + "." + parts[2][:len(parts[2])-1] + "B"), class: jwt.Malformed, msg: `signature segment is not canonical unpadded base64url`},
		{name: "header not JSON", token: hand(`not json`, stdClaims), class: jwt.Malformed, msg: `header: not a JSON object`},
		{name: "header JSON array", token: hand(`["typ"]`, stdClaims), class: jwt.Malformed, msg: `header: not a JSON object`},
		{name: "header trailing data", token: hand(stdHeader+`{}`, stdClaims), class: jwt.Malformed, msg: `header: data after the JSON object`},
		{name: "duplicate alg", token: hand(`{"typ":"x509","alg":"RS256","alg":"none","x5c":`+x5c+`}`, stdClaims), class: jwt.Malformed, msg: `header: duplicate key "alg"`},
		{name: "duplicate typ", token: hand(`{"typ":"x509","typ":"x509","alg":"RS256","x5c":`+x5c+`}`, stdClaims), class: jwt.Malformed, msg: `header: duplicate key "typ"`},
		{name: "unknown header crit", token: hand(`{"typ":"x509","alg":"RS256","crit":["exp"],"x5c":`+x5c+`}`, stdClaims), class: jwt.Malformed, msg: `header: unsupported header parameter "crit"`},
		{name: "case-variant header key", token: hand(`{"typ":"x509","ALG":"RS256","alg":"RS256","x5c":`+x5c+`}`, stdClaims), class: jwt.Malformed, msg: `header: unsupported header parameter "ALG"`},
		{name: "no x5c no kid", token: hand(`{"typ":"x509","alg":"RS256"}`, stdClaims), class: jwt.Malformed, msg: `header has neither "x5c" nor "kid"`},
		{name: "empty x5c", token: hand(`{"typ":"x509","alg":"RS256","x5c":[]}`, stdClaims), class: jwt.Malformed, msg: `header: "x5c" is empty`},
		{name: "x5c not base64", token: hand(`{"typ":"x509","alg":"RS256","x5c":["!!!!"]}`, stdClaims), class: jwt.Malformed, msg: `x5c[0] is not standard base64`},
		{name: "x5c not DER", token: hand(`{"typ":"x509","alg":"RS256","x5c":["AAAA"]}`, stdClaims), class: jwt.Malformed, msg: `x5c[0] is not a DER certificate: `},
		{name: "x5c wrong type", token: hand(`{"typ":"x509","alg":"RS256","x5c":"`+base64.StdEncoding.EncodeToString(certs[0].Raw)+`"}`, stdClaims), class: jwt.Malformed, msg: `header: "x5c" must be an array of strings`},
		{name: "duplicate digest", token: hand(stdHeader, `{"digest":"`+dgst+`","digest":"sha256:`+strings.Repeat("0", 64)+`","size":`+size+`}`), class: jwt.Malformed, msg: `claims: duplicate key "digest"`},
		{name: "case-variant digest", token: hand(stdHeader, `{"digest":"`+dgst+`","Digest":"sha256:`+strings.Repeat("0", 64)+`","size":`+size+`}`), class: jwt.Malformed, msg: `claims: claim "Digest" differs from "digest" only in case`},
		{name: "nested duplicate", token: hand(stdHeader, `{"digest":"`+dgst+`","size":`+size+`,"x":{"a":1,"a":2}}`), class: jwt.Malformed, msg: `claims: duplicate key "a"`},
		{name: "missing digest", token: hand(stdHeader, `{"size":`+size+`}`), class: jwt.Malformed, msg: `claims: missing claim "digest"`},
		{name: "missing size", token: hand(stdHeader, `{"digest":"`+dgst+`"}`), class: jwt.Malformed, msg: `claims: missing claim "size"`},
		{name: "fractional size", token: hand(stdHeader, `{"digest":"`+dgst+`","size":`+size+`.0}`), class: jwt.Malformed, msg: `claims: "size" must be a non-negative integer, not `},
		{name: "string size", token: hand(stdHeader, `{"digest":"`+dgst+`","size":"`+size+`"}`), class: jwt.Malformed, msg: `claims: "size" must be a number`},
		{name: "wrapped claims", token: hand(stdHeader, `{"manifest":{"digest":"`+dgst+`","size":`+size+`}}`), class: jwt.Malformed, msg: `claims: missing claim "digest"`},
		{name: "typ JWT", token: hand(`{"typ":"JWT","alg":"RS256","x5c":`+x5c+`}`, stdClaims), class: jwt.UnsupportedType, msg: `typ is "JWT", not "x509"`},
		{name: "typ missing", token: hand(`{"alg":"RS256","x5c":`+x5c+`}`, stdClaims), class: jwt.UnsupportedType, msg: `typ is "", not "x509"`},
		{name: "tampered claims", token: []byte(parts[0] + "." + flip(parts[1]) + "." + parts[2]), class: jwt.BadSignature, msg: `signature does not verify with the key of certificate "127.0.0.1"`},
		{name: "tampered signature", token: []byte(parts[0] + "." + parts[1] + "." + flip(parts[2])), class: jwt.BadSignature, msg: `signature does not verify with the key of certificate "127.0.0.1"`},
		{name: "truncated signature", token: []byte(parts[0] + "." + parts[1] + "." + parts[2][:20]), class: jwt.BadSignature, msg: `signature does not verify with the key of certificate "127.0.0.1"`},
		{name: "signature over other claims", token: []byte(parts[0] + "." + parts[1] + "." + strings.Split(string(handToken(t, stdHeader, stdClaims, key, "RS256")), ".")[2]), class: jwt.BadSignature, msg: `signature does not verify with the key of certificate "127.0.0.1"`},
		{name: "wrong trusted cert", token: good, trusted: []*x509.Certificate{otherCert}, class: jwt.UntrustedChain, msg: `certificate "127.0.0.1" (issuer "127.0.0.1") does not chain to a trusted certificate; pass its CA with --ca-cert or the certificate itself with -c`},
		{name: "certificate expired", token: good, now: certs[0].NotAfter.Add(time.Minute), class: jwt.CertificateInvalid, msg: `certificate "127.0.0.1" is expired or not yet valid (valid `},
		{name: "signature expired", token: good, now: testNow.Add(time.Hour), class: jwt.Expired, msg: `signature expired at 2027-01-01T01:00:00Z`},
		{name: "not yet valid", token: good, now: testNow.Add(-time.Second), class: jwt.NotYetValid, msg: `signature not valid before 2027-01-01T00:00:00Z`},
		{name: "other host", token: hand(stdHeader, `{"digest":"`+dgst+`","size":`+size+`,"references":["127.0.0.2:5000/busybox"]}`), class: jwt.ReferenceMismatch, msg: `certificate "127.0.0.1" is not valid for registry host "127.0.0.2" of reference "127.0.0.2:5000/busybox" (its SANs: IP:127.0.0.1)`},
		{name: "unparsable reference", token: hand(stdHeader, `{"digest":"`+dgst+`","size":`+size+`,"references":["busybox"]}`), class: jwt.ReferenceMismatch, msg: `reference "busybox" is not of the form host[:port]/repository[:tag|@digest]`},
		{name: "digest mismatch", token: good, subject: func() ocispecDescriptor { d := manifestDesc; d.Digest = descriptorOf([]byte("x")).Digest; return d }, class: jwt.SubjectMismatch, msg: `signed digest sha256:`},
		{name: "size mismatch", token: good, subject: func() ocispecDescriptor { d := manifestDesc; d.Size++; return d }, class: jwt.SubjectMismatch, msg: `signed size 527 differs from the manifest's 528`},
		{name: "mediaType mismatch", token: good, subject: func() ocispecDescriptor {
			d := manifestDesc
			d.MediaType = "application/vnd.oci.image.manifest.v1+json"
			return d
		}, class: jwt.SubjectMismatch, msg: `signed mediaType "application/vnd.docker.distribution.manifest.v2+json" differs from the manifest's "application/vnd.oci.image.manifest.v1+json"`},
		{name: "manifest with trailing newline", token: good, subject: func() ocispecDescriptor { return descriptorOf(newline) }, class: jwt.SubjectMismatch, msg: `signed digest sha256:`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			subject := manifestDesc
			if tc.subject != nil {
				subject = tc.subject()
			}
			now := tc.now
			if now.IsZero() {
				now = testNow
			}
			trusted := tc.trusted
			if trusted == nil {
				trusted = certs
			}
			res, err := jwt.Verify(tc.token, subject, jwt.VerifyOptions{TrustedCertificates: trusted, Now: now, MaxTokenSize: tc.max})
			if res != nil {
				t.Fatal("result returned with an error")
			}
			wantClass(t, err, tc.class)
			if tc.msg == "" || !strings.HasPrefix(err.Error(), "jwt signature: "+tc.msg) {
				t.Fatalf("error %q, want it to start %q", err, "jwt signature: "+tc.msg)
			}
			if strings.Contains(err.Error(), "\n") || !errors.Is(err, errdef.ErrVerification) {
				t.Fatalf("error %q: multi-line or not a verification error", err)
			}
		})
	}
	// The untouched token verifies in the same settings.
	if _, err := jwt.Verify(good, manifestDesc, jwt.VerifyOptions{TrustedCertificates: certs, Now: testNow}); err != nil {
		t.Fatal(err)
	}
	// The subject without a mediaType is matched on digest and size only.
	noMT := manifestDesc
	noMT.MediaType = ""
	if _, err := jwt.Verify(good, noMT, jwt.VerifyOptions{TrustedCertificates: certs, Now: testNow}); err != nil {
		t.Fatal(err)
	}
	// Parse reports structure only.
	if _, _, err := jwt.Parse([]byte(parts[0] + "." + parts[1])); err == nil || err.Error() != "jwt signature: not a compact JWS: expected exactly three '.'-separated segments" {
		t.Fatalf("Parse of two segments: err = %v", err)
	}
}
