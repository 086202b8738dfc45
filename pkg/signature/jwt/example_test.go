package jwt_test

import (
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/signet-oci/signet/pkg/certgen"
	"github.com/signet-oci/signet/pkg/errdef"
	"github.com/signet-oci/signet/pkg/signature"
	"github.com/signet-oci/signet/pkg/signature/jwt"
)

// Sign a manifest with a key and certificate made by pkg/certgen, verify
// the signature against that certificate, and see a tampered manifest
// refused. The manifest's exact bytes are what is signed: its descriptor
// (media type, digest, size) goes into the claims.
func Example() {
	// A key and a self-signed certificate valid for the registry host the
	// signature names (the jwt format checks the host against the SANs).
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	keyPEM, certPEM, err := certgen.Generate(certgen.Options{
		KeyType: certgen.KeyECP256, IPs: []net.IP{net.IPv4(127, 0, 0, 1)}, Now: now,
	})
	if err != nil {
		panic(err)
	}
	key, err := signature.ParsePrivateKeyPEM(keyPEM)
	if err != nil {
		panic(err)
	}
	certs, err := signature.ParseCertificatesPEM(certPEM)
	if err != nil {
		panic(err)
	}

	manifest := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}`)
	subject := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromBytes(manifest), Size: int64(len(manifest))}

	token, err := jwt.Sign(subject, jwt.SignOptions{
		Signer:       key,
		Certificates: certs,
		References:   []string{"127.0.0.1:5000/hello:v1"},
		Expiry:       24 * time.Hour,
		Now:          now,
	})
	if err != nil {
		panic(err)
	}

	trust := jwt.VerifyOptions{TrustedCertificates: certs, Now: now.Add(time.Hour)}
	res, err := jwt.Verify(token, subject, trust)
	if err != nil {
		panic(err)
	}
	fmt.Println("valid:", res.Claims.Digest == subject.Digest.String(), res.Claims.References, "expires", time.Unix(res.Claims.Expiry, 0).UTC())

	// One byte changed: another digest, so the signature does not sign it.
	tampered := append([]byte{}, manifest...)
	tampered[len(tampered)-2] = ' '
	_, err = jwt.Verify(token, ocispec.Descriptor{MediaType: subject.MediaType, Digest: digest.FromBytes(tampered), Size: int64(len(tampered))}, trust)
	var jerr *jwt.Error
	if errors.As(err, &jerr) {
		fmt.Println("tampered:", jerr.Class, errors.Is(err, errdef.ErrVerification))
		fmt.Println(err)
	}

	// After the expiry, the signature is refused too.
	_, err = jwt.Verify(token, subject, jwt.VerifyOptions{TrustedCertificates: certs, Now: now.Add(48 * time.Hour)})
	if errors.As(err, &jerr) {
		fmt.Println("expired:", jerr.Class)
	}
	// Output:
	// valid: true [127.0.0.1:5000/hello:v1] expires 2026-01-03 03:04:05 +0000 UTC
	// tampered: subject mismatch true
	// jwt signature: signed digest sha256:1ccb399e44f3e0ec86bb1a95031c6b9f81ac77860556a81a90acb79bab8005d9 differs from the manifest's sha256:8ebee588d06eb43c3517959bf95ed9375d911c777be63c36364329d196a82499
	// expired: expired
}

// Parse reads a token's header and claims without checking anything: what
// the signature says it signs, before deciding whether to trust it.
func ExampleParse() {
	keyPEM, certPEM, err := certgen.Generate(certgen.Options{KeyType: certgen.KeyECP256, CommonName: "signer"})
	if err != nil {
		panic(err)
	}
	key, _ := signature.ParsePrivateKeyPEM(keyPEM)
	certs, _ := signature.ParseCertificatesPEM(certPEM)
	manifest := []byte(`{"schemaVersion":2}`)
	token, err := jwt.Sign(ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromBytes(manifest), Size: int64(len(manifest))},
		jwt.SignOptions{Signer: key, Certificates: certs})
	if err != nil {
		panic(err)
	}
	header, claims, err := jwt.Parse(token)
	if err != nil {
		panic(err)
	}
	fmt.Println(header.Type, header.Algorithm, len(header.X5C))
	fmt.Println(claims.MediaType, claims.Digest, claims.Size)
	// Output:
	// x509 ES256 1
	// application/vnd.oci.image.manifest.v1+json sha256:bafebd36189ad3688b7b3915ea55d461e0bfcfbdde11e54b0a123999fb6be50f 19
}
