// Package certgen makes keys and certificates for `signet generate cert`,
// replacing the walkthrough's `openssl req -x509`.
//
// By default it makes a certificate that both signature formats accept
// (spec/formats.md §6): not a CA, key usage digitalSignature only, no
// extended key usage (codeSigning on request). Files are written by the
// caller.
package certgen

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"strings"
	"time"

	"github.com/signet-oci/signet/pkg/signature"
)

// Key types accepted in Options.KeyType.
const (
	KeyRSA2048 = "rsa-2048"
	KeyRSA3072 = "rsa-3072"
	KeyRSA4096 = "rsa-4096"
	KeyECP256  = "ec-p256"
	KeyECP384  = "ec-p384"
	KeyECP521  = "ec-p521"
)

// KeyTypes lists the accepted key types, default first.
var KeyTypes = []string{KeyRSA2048, KeyRSA3072, KeyRSA4096, KeyECP256, KeyECP384, KeyECP521}

// DefaultDays is the validity used when Options.Days is 0.
const DefaultDays = 365

// Options describe the certificate to make.
type Options struct {
	// CommonName of the subject; default: the first DNS name, else the
	// first IP, else "signet".
	CommonName   string
	Organization []string
	// Country, Province, Locality and OrganizationalUnit complete the
	// subject (notation's --identity needs at least C, ST and O).
	Country            []string
	Province           []string
	Locality           []string
	OrganizationalUnit []string
	// IPs and DNSNames become subject alternative names; the jwt format
	// checks a signature's registry host against them.
	IPs      []net.IP
	DNSNames []string
	// Days of validity; 0 means DefaultDays.
	Days int
	// KeyType is one of KeyTypes; "" means rsa-2048.
	KeyType string
	// IsCA makes a CA certificate (CA:TRUE, keyCertSign|digitalSignature).
	IsCA bool
	// CodeSigning adds the codeSigning extended key usage.
	CodeSigning bool
	// CAKey and CACert, when both set, issue the certificate from this CA
	// instead of self-signing it.
	CAKey  crypto.Signer
	CACert *x509.Certificate
	// Now is the issuing time; zero means time.Now(). NotBefore is one
	// minute earlier to absorb clock skew.
	Now time.Time
}

// Generate makes a new key and certificate. keyPEM is a PKCS #8 "PRIVATE
// KEY" block. certPEM is the certificate; when issued by a CA it is
// followed by the CA certificate, so the file works directly as the chain
// given to `signet sign -c`.
func Generate(opts Options) (keyPEM, certPEM []byte, err error) {
	if opts.Days < 0 {
		return nil, nil, fmt.Errorf("invalid validity of %d days; give a positive number of days", opts.Days)
	}
	if opts.Days == 0 {
		opts.Days = DefaultDays
	}
	if (opts.CAKey == nil) != (opts.CACert == nil) {
		return nil, nil, errors.New("a CA needs both its key and its certificate (--ca-key and --ca-cert)")
	}
	if opts.CACert != nil {
		if err := checkCA(opts.CAKey, opts.CACert); err != nil {
			return nil, nil, err
		}
	}
	key, err := newKey(opts.KeyType)
	if err != nil {
		return nil, nil, err
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, nil, fmt.Errorf("generate serial number: %w", err)
	}
	serial.SetBit(serial, 127, 1) // keep it 128 bits long and never zero
	skid, err := subjectKeyID(key.Public())
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject: pkix.Name{
			CommonName:         commonName(opts),
			Organization:       opts.Organization,
			OrganizationalUnit: opts.OrganizationalUnit,
			Country:            opts.Country,
			Province:           opts.Province,
			Locality:           opts.Locality,
		},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.Add(time.Duration(opts.Days) * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  opts.IsCA,
		SubjectKeyId:          skid,
		IPAddresses:           opts.IPs,
		DNSNames:              opts.DNSNames,
	}
	if opts.IsCA {
		tmpl.KeyUsage |= x509.KeyUsageCertSign
	}
	if opts.CodeSigning {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}
	}
	parent, signer := tmpl, crypto.Signer(key)
	if opts.CACert != nil {
		parent, signer = opts.CACert, opts.CAKey
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), signer)
	if err != nil {
		return nil, nil, fmt.Errorf("create certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("encode private key: %w", err)
	}
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if opts.CACert != nil {
		certPEM = append(certPEM, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: opts.CACert.Raw})...)
	}
	return keyPEM, certPEM, nil
}

func commonName(opts Options) string {
	switch {
	case opts.CommonName != "":
		return opts.CommonName
	case len(opts.DNSNames) > 0:
		return opts.DNSNames[0]
	case len(opts.IPs) > 0:
		return opts.IPs[0].String()
	}
	return "signet"
}

// newKey generates a key of the given type.
func newKey(keyType string) (crypto.Signer, error) {
	switch keyType {
	case "", KeyRSA2048:
		return rsa.GenerateKey(rand.Reader, 2048)
	case KeyRSA3072:
		return rsa.GenerateKey(rand.Reader, 3072)
	case KeyRSA4096:
		return rsa.GenerateKey(rand.Reader, 4096)
	case KeyECP256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case KeyECP384:
		return ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case KeyECP521:
		return ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	}
	return nil, fmt.Errorf("unknown key type %q; use one of %v", keyType, KeyTypes)
}

// checkCA makes sure the CA can issue: its key matches, it is a CA, and a
// key usage, if present, allows certificate signing.
func checkCA(key crypto.Signer, cert *x509.Certificate) error {
	if !signature.PublicKeysEqual(key.Public(), cert.PublicKey) {
		return fmt.Errorf("key and certificate mismatch: the CA key is not the key of the CA certificate (%s); pass the matching --ca-key", cert.Subject)
	}
	if !cert.BasicConstraintsValid || !cert.IsCA {
		return fmt.Errorf("CA certificate %q is not a CA (no CA:TRUE basic constraint); make one with signet generate cert --ca", cert.Subject.CommonName)
	}
	if cert.KeyUsage != 0 && cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		return fmt.Errorf("CA certificate %q lacks the keyCertSign key usage; make one with signet generate cert --ca", cert.Subject.CommonName)
	}
	return nil
}

// subjectKeyID is the truncated SHA-256 of the subject public key bits
// (RFC 7093 method 1).
func subjectKeyID(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("encode public key: %w", err)
	}
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(der, &spki); err != nil {
		return nil, fmt.Errorf("encode public key: %w", err)
	}
	sum := sha256.Sum256(spki.PublicKey.Bytes)
	return sum[:20], nil
}

// ParseSubject parses an openssl -subj style subject, as the walkthrough's
// "/CN=127.0.0.1/O=example inc/C=IN/ST=Haryana/L=Gurgaon", into opts'
// subject fields. Keys: CN, O, OU, C, ST, L.
func ParseSubject(subject string, opts *Options) error {
	if !strings.HasPrefix(subject, "/") {
		return fmt.Errorf("subject %q: write it as /CN=name/O=org/C=country/ST=state/L=locality", subject)
	}
	for _, part := range strings.Split(subject[1:], "/") {
		k, v, ok := strings.Cut(part, "=")
		if !ok || v == "" {
			return fmt.Errorf("subject %q: %q is not KEY=value", subject, part)
		}
		switch strings.ToUpper(strings.TrimSpace(k)) {
		case "CN":
			opts.CommonName = v
		case "O":
			opts.Organization = append(opts.Organization, v)
		case "OU":
			opts.OrganizationalUnit = append(opts.OrganizationalUnit, v)
		case "C":
			opts.Country = append(opts.Country, v)
		case "ST":
			opts.Province = append(opts.Province, v)
		case "L":
			opts.Locality = append(opts.Locality, v)
		default:
			return fmt.Errorf("subject %q: unknown key %q (use CN, O, OU, C, ST, L)", subject, k)
		}
	}
	return nil
}
