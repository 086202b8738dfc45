package jwt_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"sync"
	"testing"

	"github.com/signet-oci/signet/pkg/signature/jwt"
)

// Benchmarks put the envelope (BenchmarkSignJWT, BenchmarkVerifyJWT) beside
// the bare crypto operation on a precomputed digest (BenchmarkRaw*), so the
// overhead of the JWT format is visible. The certificate is self-signed and
// trusted directly (the walkthrough's setup), with one reference.

type benchKey struct {
	name   string
	signer crypto.Signer
	cert   *x509.Certificate
	hash   crypto.Hash
}

var (
	benchOnce sync.Once
	benchKeys []benchKey
)

func loadBenchKeys(b *testing.B) []benchKey {
	benchOnce.Do(func() {
		rsa2048, _ := walkthroughKeyPair(b)
		rsa3072, err := rsa.GenerateKey(rand.Reader, 3072)
		if err != nil {
			b.Fatal(err)
		}
		p256 := mustEC(b, elliptic.P256())
		p384 := mustEC(b, elliptic.P384())
		for _, k := range []struct {
			name   string
			signer crypto.Signer
			hash   crypto.Hash
		}{{"RSA-2048", rsa2048, crypto.SHA256}, {"RSA-3072", rsa3072, crypto.SHA256}, {"EC-P256", p256, crypto.SHA256}, {"EC-P384", p384, crypto.SHA384}} {
			cert := makeCert(b, certSpec{cn: "127.0.0.1", ips: []string{"127.0.0.1"}}, k.signer.Public(), nil, k.signer)
			benchKeys = append(benchKeys, benchKey{k.name, k.signer, cert, k.hash})
		}
	})
	return benchKeys
}

func benchSignOpts(k benchKey) jwt.SignOptions {
	return jwt.SignOptions{Signer: k.signer, Certificates: []*x509.Certificate{k.cert}, References: []string{walkthroughRef}, Now: testNow}
}

func BenchmarkSignJWT(b *testing.B) {
	for _, k := range loadBenchKeys(b) {
		b.Run(k.name, func(b *testing.B) {
			opts := benchSignOpts(k)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := jwt.Sign(manifestDesc, opts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkVerifyJWT(b *testing.B) {
	for _, k := range loadBenchKeys(b) {
		b.Run(k.name, func(b *testing.B) {
			token, err := jwt.Sign(manifestDesc, benchSignOpts(k))
			if err != nil {
				b.Fatal(err)
			}
			opts := jwt.VerifyOptions{TrustedCertificates: []*x509.Certificate{k.cert}, Now: testNow}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := jwt.Verify(token, manifestDesc, opts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func digestFor(h crypto.Hash) []byte {
	if h == crypto.SHA384 {
		s := sha512.Sum384([]byte("x"))
		return s[:]
	}
	s := sha256.Sum256([]byte("x"))
	return s[:]
}

// BenchmarkRawRSASign is the bare PKCS #1 v1.5 signature of a digest.
func BenchmarkRawRSASign(b *testing.B) {
	for _, k := range loadBenchKeys(b) {
		key, ok := k.signer.(*rsa.PrivateKey)
		if !ok {
			continue
		}
		b.Run(k.name, func(b *testing.B) {
			d := digestFor(k.hash)
			for b.Loop() {
				if _, err := rsa.SignPKCS1v15(rand.Reader, key, k.hash, d); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRawRSAVerify is the bare PKCS #1 v1.5 verification of a digest.
func BenchmarkRawRSAVerify(b *testing.B) {
	for _, k := range loadBenchKeys(b) {
		key, ok := k.signer.(*rsa.PrivateKey)
		if !ok {
			continue
		}
		b.Run(k.name, func(b *testing.B) {
			d := digestFor(k.hash)
			sig, _ := rsa.SignPKCS1v15(rand.Reader, key, k.hash, d)
			for b.Loop() {
				if err := rsa.VerifyPKCS1v15(&key.PublicKey, k.hash, d, sig); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRawECDSASign is the bare ECDSA signature of a digest.
func BenchmarkRawECDSASign(b *testing.B) {
	for _, k := range loadBenchKeys(b) {
		key, ok := k.signer.(*ecdsa.PrivateKey)
		if !ok {
			continue
		}
		b.Run(k.name, func(b *testing.B) {
			d := digestFor(k.hash)
			for b.Loop() {
				if _, err := ecdsa.SignASN1(rand.Reader, key, d); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRawECDSAVerify is the bare ECDSA verification of a digest.
func BenchmarkRawECDSAVerify(b *testing.B) {
	for _, k := range loadBenchKeys(b) {
		key, ok := k.signer.(*ecdsa.PrivateKey)
		if !ok {
			continue
		}
		b.Run(k.name, func(b *testing.B) {
			d := digestFor(k.hash)
			sig, _ := ecdsa.SignASN1(rand.Reader, key, d)
			for b.Loop() {
				if !ecdsa.VerifyASN1(&key.PublicKey, d, sig) {
					b.Fatal("verify failed")
				}
			}
		})
	}
}

// signingInputLen is the length of the JWT signing input ("header.claims")
// that BenchmarkSignJWT signs for k.
func signingInputLen(b *testing.B, k benchKey) int {
	token, err := jwt.Sign(manifestDesc, benchSignOpts(k))
	if err != nil {
		b.Fatal(err)
	}
	return bytes.LastIndexByte(token, '.')
}

// BenchmarkRawSignMessage is the bare signature of a message as long as the
// JWT's signing input: hashing it, then RSA PKCS #1 v1.5 or ECDSA. Any
// signature format pays this; BenchmarkSignJWT minus this is the JWT's own
// cost (JSON, base64, certificate and reference checks).
func BenchmarkRawSignMessage(b *testing.B) {
	for _, k := range loadBenchKeys(b) {
		b.Run(k.name, func(b *testing.B) {
			msg := bytes.Repeat([]byte{'a'}, signingInputLen(b, k))
			for b.Loop() {
				h := k.hash.New()
				h.Write(msg)
				if _, err := k.signer.Sign(rand.Reader, h.Sum(nil), k.hash); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRawVerifyMessage is the bare verification of a signature over a
// message as long as the JWT's signing input, hashing included.
func BenchmarkRawVerifyMessage(b *testing.B) {
	for _, k := range loadBenchKeys(b) {
		b.Run(k.name, func(b *testing.B) {
			msg := bytes.Repeat([]byte{'a'}, signingInputLen(b, k))
			h := k.hash.New()
			h.Write(msg)
			sig, err := k.signer.Sign(rand.Reader, h.Sum(nil), k.hash)
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				h := k.hash.New()
				h.Write(msg)
				d := h.Sum(nil)
				switch pub := k.signer.Public().(type) {
				case *rsa.PublicKey:
					if err := rsa.VerifyPKCS1v15(pub, k.hash, d, sig); err != nil {
						b.Fatal(err)
					}
				case *ecdsa.PublicKey:
					if !ecdsa.VerifyASN1(pub, d, sig) {
						b.Fatal("verify failed")
					}
				}
			}
		})
	}
}
