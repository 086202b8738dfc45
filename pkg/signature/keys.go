// Package signature holds what every signature format shares: loading the
// signing key and the certificates from PEM files. The formats themselves
// live in sub-packages (jwt for the prototype's x509 JWT).
//
// Every error returned here is a single line that names the file involved
// and says what to do about it.
package signature

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/signet-oci/signet/pkg/bounded"
)

// Supported PEM block types for private keys.
const (
	pemPKCS8   = "PRIVATE KEY"
	pemPKCS1   = "RSA PRIVATE KEY"
	pemSEC1    = "EC PRIVATE KEY"
	pemCert    = "CERTIFICATE"
	keyFormats = `a PEM "PRIVATE KEY" (PKCS #8), "RSA PRIVATE KEY" or "EC PRIVATE KEY" block`
)

// ParsePrivateKeyPEM parses the first private key in data. It accepts the
// PEM block types "PRIVATE KEY" (PKCS #8, what openssl and signet generate
// cert write), "RSA PRIVATE KEY" (PKCS #1) and "EC PRIVATE KEY" (SEC 1).
// Only RSA keys and ECDSA keys on P-256, P-384 and P-521 are supported.
// Encrypted keys are refused with a hint to decrypt them first. Other PEM
// blocks (certificates, EC PARAMETERS) before the key are skipped.
func ParsePrivateKeyPEM(data []byte) (crypto.Signer, error) {
	rest := data
	sawPEM := false
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		sawPEM = true
		switch block.Type {
		case pemPKCS8, pemPKCS1, pemSEC1:
		case "ENCRYPTED PRIVATE KEY":
			return nil, errors.New("the private key is encrypted; decrypt it first (e.g. openssl pkcs8 -in KEY -out PLAIN.key)")
		default:
			continue
		}
		if _, encrypted := block.Headers["Proc-Type"]; encrypted {
			return nil, errors.New("the private key is encrypted; decrypt it first (e.g. openssl pkey -in KEY -out PLAIN.key)")
		}
		key, err := parseKeyBlock(block)
		if err != nil {
			return nil, err
		}
		return checkKey(key)
	}
	if !sawPEM {
		return nil, fmt.Errorf("no PEM data found; expected %s", keyFormats)
	}
	return nil, fmt.Errorf("no private key found; expected %s", keyFormats)
}

func parseKeyBlock(block *pem.Block) (any, error) {
	var (
		key any
		err error
	)
	switch block.Type {
	case pemPKCS8:
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case pemPKCS1:
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case pemSEC1:
		key, err = x509.ParseECPrivateKey(block.Bytes)
	}
	if err != nil {
		return nil, fmt.Errorf("malformed %q block: %s; regenerate the key or convert it with openssl pkey", block.Type, oneLine(err))
	}
	return key, nil
}

// checkKey accepts RSA and ECDSA P-256/P-384/P-521 keys.
func checkKey(key any) (crypto.Signer, error) {
	switch k := key.(type) {
	case *rsa.PrivateKey:
		return k, nil
	case *ecdsa.PrivateKey:
		switch k.Curve {
		case elliptic.P256(), elliptic.P384(), elliptic.P521():
			return k, nil
		}
		return nil, fmt.Errorf("unsupported EC curve %s; use P-256, P-384 or P-521", k.Curve.Params().Name)
	default:
		return nil, fmt.Errorf("unsupported key type %T; use an RSA (2048 bits or more) or ECDSA P-256/P-384/P-521 key", key)
	}
}

// ParseCertificatesPEM parses every CERTIFICATE block in data, in file order.
// Blocks of other types (a private key in the same file, say) are skipped.
// It is an error if there is no certificate at all.
func ParseCertificatesPEM(data []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	rest := data
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != pemCert {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate #%d is malformed: %s; regenerate it or check the file", len(certs)+1, oneLine(err))
		}
		certs = append(certs, cert)
	}
	if len(certs) == 0 {
		if len(bytes.TrimSpace(data)) > 0 && !bytes.Contains(data, []byte("-----BEGIN")) {
			return nil, errors.New(`no PEM "CERTIFICATE" block found (is it DER? convert with openssl x509 -inform der -out CERT.pem)`)
		}
		return nil, errors.New(`no PEM "CERTIFICATE" block found; pass a PEM certificate file`)
	}
	return certs, nil
}

// LoadKeyPair reads the private key in keyFile and, unless certFile is "",
// the certificates in certFile (file order: leaf first, then
// intermediates). The key's public key must equal the first certificate's,
// or the error says "key and certificate mismatch" and names both files.
func LoadKeyPair(keyFile, certFile string) (crypto.Signer, []*x509.Certificate, error) {
	data, err := bounded.ReadFile(keyFile, MaxTrustFileSize)
	if err != nil {
		return nil, nil, &FileError{Msg: fmt.Sprintf("read key file %q: %s", keyFile, fileErr(err)), Err: err}
	}
	key, err := ParsePrivateKeyPEM(data)
	if err != nil {
		return nil, nil, fmt.Errorf("key file %q: %s", keyFile, err)
	}
	if certFile == "" {
		return key, nil, nil
	}
	certs, err := LoadCertificates(certFile)
	if err != nil {
		return nil, nil, err
	}
	if !PublicKeysEqual(key.Public(), certs[0].PublicKey) {
		return nil, nil, fmt.Errorf("key and certificate mismatch: the key in %q is not the key of the first certificate in %q (%s); put the certificate issued for this key first", keyFile, certFile, certs[0].Subject)
	}
	return key, certs, nil
}

// LoadCertificates reads the certificates of every file, in argument order
// and file order within each file. Each file must hold at least one.
func LoadCertificates(files ...string) ([]*x509.Certificate, error) {
	var all []*x509.Certificate
	for _, f := range files {
		data, err := bounded.ReadFile(f, MaxTrustFileSize)
		if err != nil {
			return nil, &FileError{Msg: fmt.Sprintf("read certificate file %q: %s", f, fileErr(err)), Err: err}
		}
		certs, err := ParseCertificatesPEM(data)
		if err != nil {
			return nil, fmt.Errorf("certificate file %q: %s", f, err)
		}
		all = append(all, certs...)
	}
	return all, nil
}

// PublicKeysEqual reports whether a and b are the same public key.
func PublicKeysEqual(a, b crypto.PublicKey) bool {
	k, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && k.Equal(b)
}

// fileErr turns an os error into a short reason with a hint.
// FileError is a key or certificate file that could not be read; it
// unwraps to the file system's error (fs.ErrNotExist for a missing file).
type FileError struct {
	Msg string
	Err error
}

func (e *FileError) Error() string { return e.Msg }
func (e *FileError) Unwrap() error { return e.Err }

func fileErr(err error) string {
	switch {
	case errors.Is(err, os.ErrNotExist):
		return "no such file; check the path"
	case errors.Is(err, os.ErrPermission):
		return "permission denied; check the file's permissions"
	case errors.Is(err, bounded.ErrTooLarge):
		return fmt.Sprintf("larger than %d bytes, more than any key or certificate file holds; check the path", MaxTrustFileSize)
	}
	var pe *os.PathError
	if errors.As(err, &pe) {
		return oneLine(pe.Err)
	}
	return oneLine(err)
}

// oneLine flattens an error message onto a single line.
func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}
