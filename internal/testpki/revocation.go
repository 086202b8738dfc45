package testpki

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"
)

// RevocationCA is a CA serving OCSP at OCSPURL and a CRL at CRLURL for the
// certificates it issues.
type RevocationCA struct {
	Cert    *x509.Certificate
	OCSPURL string
	CRLURL  string
	// OCSPRequests and CRLRequests count the queries answered.
	OCSPRequests, CRLRequests atomic.Int64

	key     crypto.Signer
	mu      sync.Mutex
	revoked map[string]time.Time // serial (decimal) → revocation time
	down    atomic.Bool
}

// NewRevocationCA starts a CA with OCSP and CRL endpoints; they stop when
// the test ends.
func NewRevocationCA(t testing.TB, name string) *RevocationCA {
	t.Helper()
	now := time.Now()
	key, cert := Issue(t, &x509.Certificate{
		Subject:               pkix.Name{CommonName: name, Organization: []string{"signet tests"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}, nil, nil)
	ca := &RevocationCA{Cert: cert, key: key, revoked: map[string]time.Time{}}
	ocspSrv := httptest.NewServer(http.HandlerFunc(ca.serveOCSP))
	crlSrv := httptest.NewServer(http.HandlerFunc(ca.serveCRL))
	t.Cleanup(ocspSrv.Close)
	t.Cleanup(crlSrv.Close)
	ca.OCSPURL, ca.CRLURL = ocspSrv.URL, crlSrv.URL+"/ca.crl"
	return ca
}

// Leaf issues a code signing certificate naming the OCSP responder (ocsp)
// and/or the CRL distribution point (crl); its chain is leaf, CA.
func (ca *RevocationCA) Leaf(t testing.TB, name string, withOCSP, withCRL bool) *Signer {
	t.Helper()
	now := time.Now()
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: name, Organization: []string{"signet tests"}},
		NotBefore:   now.Add(-time.Hour),
		NotAfter:    now.Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
	}
	if withOCSP {
		tmpl.OCSPServer = []string{ca.OCSPURL}
	}
	if withCRL {
		tmpl.CRLDistributionPoints = []string{ca.CRLURL}
	}
	key, leaf := Issue(t, tmpl, ca.Cert, ca.key)
	return &Signer{Key: key, Chain: []*x509.Certificate{leaf, ca.Cert}, CA: ca.Cert}
}

// Revoke marks cert revoked (from an hour ago) in both OCSP and the CRL.
func (ca *RevocationCA) Revoke(cert *x509.Certificate) {
	ca.mu.Lock()
	defer ca.mu.Unlock()
	ca.revoked[cert.SerialNumber.String()] = time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
}

// SetDown makes both endpoints answer 503 (an unreachable responder).
func (ca *RevocationCA) SetDown(down bool) { ca.down.Store(down) }

func (ca *RevocationCA) serveOCSP(w http.ResponseWriter, r *http.Request) {
	if ca.down.Load() {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	var der []byte
	switch r.Method {
	case http.MethodPost:
		der, _ = io.ReadAll(io.LimitReader(r.Body, 1<<16))
	case http.MethodGet:
		// GET /base64(request)
		der, _ = decodeB64Path(r.URL.Path)
	}
	req, err := ocsp.ParseRequest(der)
	if err != nil {
		_, _ = w.Write(ocsp.MalformedRequestErrorResponse)
		return
	}
	ca.OCSPRequests.Add(1)
	now := time.Now().UTC().Truncate(time.Minute)
	tmpl := ocsp.Response{
		Status:       ocsp.Good,
		SerialNumber: req.SerialNumber,
		ThisUpdate:   now.Add(-time.Minute),
		NextUpdate:   now.Add(time.Hour),
	}
	ca.mu.Lock()
	if at, ok := ca.revoked[req.SerialNumber.String()]; ok {
		tmpl.Status, tmpl.RevokedAt, tmpl.RevocationReason = ocsp.Revoked, at, ocsp.KeyCompromise
	}
	ca.mu.Unlock()
	resp, err := ocsp.CreateResponse(ca.Cert, ca.Cert, tmpl, ca.key)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/ocsp-response")
	_, _ = w.Write(resp)
}

func (ca *RevocationCA) serveCRL(w http.ResponseWriter, _ *http.Request) {
	if ca.down.Load() {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	ca.CRLRequests.Add(1)
	der, err := ca.CRL(time.Now().Add(time.Hour))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	_, _ = w.Write(der)
}

// CRL returns a DER CRL listing the revoked certificates, valid until
// nextUpdate.
func (ca *RevocationCA) CRL(nextUpdate time.Time) ([]byte, error) {
	ca.mu.Lock()
	var entries []x509.RevocationListEntry
	for s, at := range ca.revoked {
		n, _ := new(big.Int).SetString(s, 10)
		entries = append(entries, x509.RevocationListEntry{SerialNumber: n, RevocationTime: at})
	}
	ca.mu.Unlock()
	num, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		return nil, err
	}
	return x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number:                    num,
		ThisUpdate:                nextUpdate.Add(-2 * time.Hour),
		NextUpdate:                nextUpdate,
		RevokedCertificateEntries: entries,
	}, ca.Cert, ca.key)
}

// WriteCRL writes the CRL (PEM) into dir and returns its path.
func (ca *RevocationCA) WriteCRL(t testing.TB, dir, name string, nextUpdate time.Time) string {
	t.Helper()
	der, err := ca.CRL(nextUpdate)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	write(t, p, pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der}))
	return p
}

func decodeB64Path(p string) ([]byte, error) {
	s, err := url.PathUnescape(strings.TrimPrefix(p, "/"))
	if err != nil {
		return nil, err
	}
	return base64.StdEncoding.DecodeString(s)
}
