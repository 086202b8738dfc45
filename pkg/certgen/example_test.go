package certgen_test

import (
	"crypto/x509"
	"fmt"
	"net"
	"time"

	"github.com/signet-oci/signet/pkg/certgen"
	"github.com/signet-oci/signet/pkg/signature"
)

// Generate makes what `signet generate cert` writes: a PKCS #8 key and a
// certificate both signature formats accept (not a CA, digitalSignature),
// here issued by a CA made first, with the subject notation's identities
// need (C, ST, O) and the registry host as an IP SAN for the jwt format.
func ExampleGenerate() {
	now := time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
	caKeyPEM, caCertPEM, err := certgen.Generate(certgen.Options{KeyType: certgen.KeyECP256, CommonName: "Example CA", IsCA: true, Now: now})
	must(err)
	caKey, err := signature.ParsePrivateKeyPEM(caKeyPEM)
	must(err)
	caCerts, err := signature.ParseCertificatesPEM(caCertPEM)
	must(err)

	opts := certgen.Options{KeyType: certgen.KeyECP256, CAKey: caKey, CACert: caCerts[0], Now: now, Days: 30,
		IPs: []net.IP{net.IPv4(127, 0, 0, 1)}}
	must(certgen.ParseSubject("/CN=signer/O=Example/C=US/ST=WA", &opts))
	_, certPEM, err := certgen.Generate(opts)
	must(err)
	chain, err := signature.ParseCertificatesPEM(certPEM)
	must(err)

	leaf := chain[0]
	fmt.Println(len(chain), "certificates:", leaf.Subject, "issued by", leaf.Issuer)
	fmt.Println("CA:", leaf.IsCA, "digitalSignature:", leaf.KeyUsage&x509.KeyUsageDigitalSignature != 0, "IPs:", leaf.IPAddresses)
	fmt.Println("valid until", leaf.NotAfter)
	// Output:
	// 2 certificates: CN=signer,O=Example,ST=WA,C=US issued by CN=Example CA
	// CA: false digitalSignature: true IPs: [127.0.0.1]
	// valid until 2026-02-01 00:00:00 +0000 UTC
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}
