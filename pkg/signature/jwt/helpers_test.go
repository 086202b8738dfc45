package jwt_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/signet-oci/signet/pkg/signature"
	"github.com/signet-oci/signet/pkg/signature/jwt"
)

// testNow is a fixed signing/verification time inside the validity of the
// testdata certificates (2027-01-01T00:00:00Z).
var testNow = time.Unix(1798761600, 0)

const dockerV2 = "application/vnd.docker.distribution.manifest.v2+json"

// manifestBytes stands in for `docker generate manifest busybox:latest`.
var manifestBytes = []byte(`{
   "schemaVersion": 2,
   "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
   "config": {
      "mediaType": "application/vnd.docker.container.image.v1+json",
      "size": 1456,
      "digest": "sha256:219ee5171f8006d1462fa76c12b9b01ab672dbc8b283f186841bf2c3ca8e3c93"
   },
   "layers": [
      {
         "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
         "size": 772788,
         "digest": "sha256:b71f96345d44b237decc0c2d6c2f9ad0d17fde83dad7579608f1f0764d9686f2"
      }
   ]
}`)

type ocispecDescriptor = ocispec.Descriptor

func base32Std(b []byte) string { return base32.StdEncoding.EncodeToString(b) }

func descriptorOf(b []byte) ocispec.Descriptor {
	return ocispec.Descriptor{MediaType: dockerV2, Digest: digest.FromBytes(b), Size: int64(len(b))}
}

var manifestDesc = descriptorOf(manifestBytes)

// walkthroughKeyPair is the fixture made with the walkthrough's own
// `openssl req -x509 -sha256 -newkey rsa:2048 -subj /CN=127.0.0.1/...
// -addext subjectAltName=IP:127.0.0.1` (self-signed, CA:TRUE, no key usage).
func walkthroughKeyPair(t testing.TB) (crypto.Signer, []*x509.Certificate) {
	t.Helper()
	key, certs, err := signature.LoadKeyPair(filepath.Join("testdata", "walkthrough.key"), filepath.Join("testdata", "walkthrough.crt"))
	if err != nil {
		t.Fatal(err)
	}
	return key, certs
}

func mustEC(t testing.TB, c elliptic.Curve) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// certSpec describes a test certificate.
type certSpec struct {
	cn        string
	ips       []string
	dns       []string
	isCA      bool
	noBC      bool // omit basic constraints
	keyUsage  x509.KeyUsage
	eku       []x509.ExtKeyUsage
	notBefore time.Time
	notAfter  time.Time
}

// makeCert issues a certificate for pub from parent (self-signed when
// parent is nil) with the given spec.
func makeCert(t testing.TB, s certSpec, pub crypto.PublicKey, parent *x509.Certificate, parentKey crypto.Signer) *x509.Certificate {
	t.Helper()
	if s.notBefore.IsZero() {
		s.notBefore = testNow.Add(-24 * time.Hour)
	}
	if s.notAfter.IsZero() {
		s.notAfter = testNow.Add(365 * 24 * time.Hour)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: s.cn},
		NotBefore:             s.notBefore,
		NotAfter:              s.notAfter,
		KeyUsage:              s.keyUsage,
		ExtKeyUsage:           s.eku,
		BasicConstraintsValid: !s.noBC,
		IsCA:                  s.isCA,
		DNSNames:              s.dns,
	}
	for _, ip := range s.ips {
		tmpl.IPAddresses = append(tmpl.IPAddresses, net.ParseIP(ip))
	}
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// handToken builds a token by hand from header and claims JSON text, signed
// with key under alg (RS256/384/512 or ES256/384/512), independently of
// jwt.Sign.
func handToken(t testing.TB, header, claims string, key crypto.Signer, alg string) []byte {
	t.Helper()
	enc := base64.RawURLEncoding
	input := enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(claims))
	var h crypto.Hash
	switch alg[2:] {
	case "256":
		h = crypto.SHA256
	case "384":
		h = crypto.SHA384
	case "512":
		h = crypto.SHA512
	}
	hh := h.New()
	hh.Write([]byte(input))
	var sig []byte
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		r, s, err := ecdsa.Sign(rand.Reader, k, hh.Sum(nil))
		if err != nil {
			t.Fatal(err)
		}
		n := (k.Curve.Params().BitSize + 7) / 8
		sig = make([]byte, 2*n)
		r.FillBytes(sig[:n])
		s.FillBytes(sig[n:])
	default:
		var err error
		sig, err = key.Sign(rand.Reader, hh.Sum(nil), h)
		if err != nil {
			t.Fatal(err)
		}
	}
	return []byte(input + "." + enc.EncodeToString(sig))
}

func x5cJSON(certs ...*x509.Certificate) string {
	s := `[`
	for i, c := range certs {
		if i > 0 {
			s += ","
		}
		s += `"` + base64.StdEncoding.EncodeToString(c.Raw) + `"`
	}
	return s + `]`
}

// wantClass fails unless err is a *jwt.Error of class c.
func wantClass(t testing.TB, err error, c jwt.Class) {
	t.Helper()
	var je *jwt.Error
	if !errors.As(err, &je) {
		t.Fatalf("err = %v (%T), want *jwt.Error of class %v", err, err, c)
	}
	if je.Class != c {
		t.Fatalf("class = %v (%q), want %v", je.Class, je.Msg, c)
	}
}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
