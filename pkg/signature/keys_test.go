package signature

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParsePrivateKeyPEM(t *testing.T) {
	for _, tc := range []struct {
		file    string
		wantErr string // substring; "" means success
		rsa     bool
	}{
		{file: "rsa-pkcs8.key", rsa: true},
		{file: "rsa-pkcs1.key", rsa: true},
		{file: "ec-sec1-params.key"}, // EC PARAMETERS block first, as openssl ecparam -genkey writes
		{file: "ed25519.key", wantErr: "unsupported key type"},
		{file: "ec-p224.key", wantErr: "unsupported EC curve P-224"},
		{file: "rsa-encrypted.key", wantErr: "encrypted; decrypt it first"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			k, err := ParsePrivateKeyPEM(readTestdata(t, tc.file))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, isRSA := k.(*rsa.PrivateKey); isRSA != tc.rsa {
				t.Fatalf("key type %T", k)
			}
		})
	}
	const expected = `; expected a PEM "PRIVATE KEY" (PKCS #8), "RSA PRIVATE KEY" or "EC PRIVATE KEY" block`
	for bad, want := range map[string]string{
		"":        "no PEM data found" + expected,
		"not pem": "no PEM data found" + expected,
		"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n": "no private key found" + expected,
		"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n": `malformed "PRIVATE KEY" block: `,
	} {
		if _, err := ParsePrivateKeyPEM([]byte(bad)); err == nil || !strings.HasPrefix(err.Error(), want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("ParsePrivateKeyPEM(%q) err = %v, want a one-line error starting %q", bad, err, want)
		}
	}
}

func selfSigned(t *testing.T, key *ecdsa.PrivateKey, cn string) []byte {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func TestParseCertificatesPEMOrder(t *testing.T) {
	k1, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	k2, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	data := append(selfSigned(t, k1, "first"), []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")...)
	data = append(data, selfSigned(t, k2, "second")...)
	certs, err := ParseCertificatesPEM(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(certs) != 2 || certs[0].Subject.CommonName != "first" || certs[1].Subject.CommonName != "second" {
		t.Fatalf("got %d certs in wrong order", len(certs))
	}
	if _, err := ParseCertificatesPEM(readTestdata(t, "rsa-pkcs8.key")); err == nil || err.Error() != `no PEM "CERTIFICATE" block found; pass a PEM certificate file` {
		t.Fatalf("a file without certificates: err = %v", err)
	}
}

func TestLoadKeyPair(t *testing.T) {
	dir := t.TempDir()
	k1, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	k2, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(k1)
	keyFile := filepath.Join(dir, "a.key")
	goodCert := filepath.Join(dir, "a.crt")
	otherCert := filepath.Join(dir, "b.crt")
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
	os.WriteFile(goodCert, selfSigned(t, k1, "a"), 0o644)
	os.WriteFile(otherCert, selfSigned(t, k2, "b"), 0o644)

	key, certs, err := LoadKeyPair(keyFile, goodCert)
	if err != nil || key == nil || len(certs) != 1 {
		t.Fatalf("LoadKeyPair: %v", err)
	}
	if _, certs, err = LoadKeyPair(keyFile, ""); err != nil || certs != nil {
		t.Fatalf("LoadKeyPair without certificate: %v, %d certs", err, len(certs))
	}
	_, _, err = LoadKeyPair(keyFile, otherCert)
	if err == nil {
		t.Fatal("mismatch not detected")
	}
	msg := err.Error()
	for _, want := range []string{"key and certificate mismatch", keyFile, otherCert} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not contain %q", msg, want)
		}
	}
	_, _, err = LoadKeyPair(filepath.Join(dir, "missing.key"), goodCert)
	if err == nil || !strings.Contains(err.Error(), "missing.key") || !strings.Contains(err.Error(), "check the path") {
		t.Errorf("missing key file: %v", err)
	}
	_, err = LoadCertificates(goodCert, keyFile)
	if err == nil || !strings.Contains(err.Error(), keyFile) {
		t.Errorf("certificate file without certificates: %v", err)
	}
	certs, err = LoadCertificates(goodCert, otherCert)
	if err != nil || len(certs) != 2 || certs[1].Subject.CommonName != "b" {
		t.Errorf("LoadCertificates: %v", err)
	}
}
