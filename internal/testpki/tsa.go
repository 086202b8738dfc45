// Package testpki is PKI for tests: an RFC 3161 time stamping authority
// (a root CA, a timestamping certificate it issues, and an HTTP endpoint,
// httptest, answering timestamp queries with responses built by
// github.com/digitorus/timestamp); short-lived code signing certificates,
// so that tests can make a signature, let its certificate expire and
// verify it afterwards; and a CA whose certificates name OCSP and CRL
// endpoints it serves (golang.org/x/crypto/ocsp, x509.CreateRevocationList),
// with revocation switched per certificate.
package testpki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/digitorus/timestamp"
)

// TSA is a running time stamping authority.
type TSA struct {
	// URL is the endpoint for timestamp queries.
	URL string
	// Root is the TSA's root certificate (what verifiers trust).
	Root *x509.Certificate
	// Requests counts the queries answered.
	Requests atomic.Int64

	key  crypto.Signer
	cert *x509.Certificate
}

var oidEKU = asn1.ObjectIdentifier{2, 5, 29, 37}
var oidTimeStamping = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 8}

// New starts a TSA named name; it stops when the test ends.
func New(t testing.TB, name string) *TSA {
	t.Helper()
	now := time.Now()
	rootKey, root := Issue(t, &x509.Certificate{
		Subject:               pkix.Name{CommonName: name + " root", Organization: []string{"signet tests"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}, nil, nil)
	eku, err := asn1.Marshal([]asn1.ObjectIdentifier{oidTimeStamping})
	if err != nil {
		t.Fatal(err)
	}
	key, cert := Issue(t, &x509.Certificate{
		Subject:   pkix.Name{CommonName: name, Organization: []string{"signet tests"}},
		NotBefore: now.Add(-time.Hour),
		NotAfter:  now.Add(24 * time.Hour),
		KeyUsage:  x509.KeyUsageDigitalSignature,
		// RFC 3161 §2.3: the timeStamping extended key usage, critical.
		ExtraExtensions: []pkix.Extension{{Id: oidEKU, Critical: true, Value: eku}},
	}, root, rootKey)
	tsa := &TSA{Root: root, key: key, cert: cert}
	srv := httptest.NewServer(http.HandlerFunc(tsa.serve))
	t.Cleanup(srv.Close)
	tsa.URL = srv.URL
	return tsa
}

func (a *TSA) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<16))
	if err != nil || r.Method != http.MethodPost {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	req, err := timestamp.ParseRequest(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	a.Requests.Add(1)
	ts := timestamp.Timestamp{
		HashAlgorithm:     req.HashAlgorithm,
		HashedMessage:     req.HashedMessage,
		Time:              time.Now().UTC(),
		Accuracy:          time.Second,
		Nonce:             req.Nonce,
		Policy:            asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 1},
		AddTSACertificate: true,
	}
	resp, err := ts.CreateResponseWithOpts(a.cert, a.key, crypto.SHA256)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/timestamp-reply")
	_, _ = w.Write(resp)
}

// Issue makes a P-256 key and a certificate from tmpl, issued by parent
// (self-signed when parent is nil).
func Issue(t testing.TB, tmpl, parent *x509.Certificate, parentKey crypto.Signer) (crypto.Signer, *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		t.Fatal(err)
	}
	tmpl.SerialNumber = serial.Add(serial, big.NewInt(1))
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), parentKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return key, cert
}

// Signer is a code signing key whose certificate expires at NotAfter,
// issued by a CA valid for a day.
type Signer struct {
	Key   crypto.Signer
	Chain []*x509.Certificate // leaf, CA
	CA    *x509.Certificate
}

// ShortLived issues a code signing certificate valid until notAfter.
func ShortLived(t testing.TB, name string, notAfter time.Time) *Signer {
	t.Helper()
	now := time.Now()
	caKey, ca := Issue(t, &x509.Certificate{
		Subject:               pkix.Name{CommonName: name + " CA", Organization: []string{"signet tests"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}, nil, nil)
	key, leaf := Issue(t, &x509.Certificate{
		Subject:     pkix.Name{CommonName: name, Organization: []string{"signet tests"}},
		NotBefore:   now.Add(-time.Hour),
		NotAfter:    notAfter,
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
	}, ca, caKey)
	return &Signer{Key: key, Chain: []*x509.Certificate{leaf, ca}, CA: ca}
}

// WriteFiles writes the signer's key (PKCS #8) and chain (PEM, leaf first)
// into dir and returns their paths.
func (s *Signer) WriteFiles(t testing.TB, dir, name string) (keyPath, chainPath, caPath string) {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(s.Key)
	if err != nil {
		t.Fatal(err)
	}
	keyPath = filepath.Join(dir, name+".key")
	chainPath = filepath.Join(dir, name+".crt")
	caPath = filepath.Join(dir, name+"-ca.crt")
	write(t, keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	write(t, chainPath, PEM(s.Chain...))
	write(t, caPath, PEM(s.CA))
	return keyPath, chainPath, caPath
}

// PEM encodes certificates.
func PEM(certs ...*x509.Certificate) []byte {
	var out []byte
	for _, c := range certs {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return out
}

// WriteRoot writes the TSA's root certificate into dir and returns its path.
func (a *TSA) WriteRoot(t testing.TB, dir, name string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	write(t, p, PEM(a.Root))
	return p
}

func write(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
