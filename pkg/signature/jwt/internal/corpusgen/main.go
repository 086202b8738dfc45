// Command corpusgen writes the adversarial corpus for the x509 JWT verifier
// (formats.md §2) to testdata/jwt-corpus: one directory per case holding
//
//	case.json      name, description, expected outcome and error class,
//	               the fixed verification time, the subject descriptor, the
//	               trusted certificate files (given to `signet verify` with -c)
//	               and the CLI's expected exit status
//	token.jwt      the signature file (exact bytes; no trailing newline
//	               unless the case is about one)
//	manifest.json  the subject manifest (the descriptor is computed from it)
//	trusted-N.pem  the trusted certificates
//
// Keys are random, so every run writes different bytes: the output is
// committed as fixtures. Certificates are valid over a fixed window
// (2025-01-01 to 2035-01-01 unless the case is about validity) and every
// case carries its verification time, so nothing depends on the clock.
//
// Run from the repository root:
//
//	go run ./pkg/signature/jwt/internal/corpusgen -out testdata/jwt-corpus
package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	_ "crypto/sha512" // SHA-384 for ES384
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base32"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"log"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
)

// Case is case.json.
type Case struct {
	Name        string     `json:"name"`
	Description string     `json:"description"`
	Expect      string     `json:"expect"`          // "valid" or "reject"
	Class       string     `json:"class,omitempty"` // jwt.Class.String() for rejects
	Now         time.Time  `json:"now"`
	Subject     Descriptor `json:"subject"`
	Trusted     []string   `json:"trusted"`
	CLIExit     int        `json:"cliExit"`
	CLINote     string     `json:"cliNote,omitempty"`
}

// Descriptor is the subject manifest's descriptor.
type Descriptor struct {
	MediaType string `json:"mediaType"`
	Digest    string `json:"digest"`
	Size      int64  `json:"size"`
}

const dockerV2 = "application/vnd.docker.distribution.manifest.v2+json"

var (
	windowStart = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	windowEnd   = time.Date(2035, 1, 1, 0, 0, 0, 0, time.UTC)
	verifyAt    = time.Date(2030, 6, 1, 0, 0, 0, 0, time.UTC)
	signedAt    = time.Date(2030, 5, 1, 0, 0, 0, 0, time.UTC)
	defaultRef  = "127.0.0.1:5000/busybox:latest"
)

type pki struct {
	cert *x509.Certificate
	key  crypto.Signer
}

var serial int64

func must[T any](v T, err error) T {
	if err != nil {
		log.Fatal(err)
	}
	return v
}

type certSpec struct {
	cn        string
	key       crypto.Signer
	parent    *pki // nil: self-signed
	ca        bool
	bcValid   bool
	ku        x509.KeyUsage
	notBefore time.Time
	notAfter  time.Time
	ipSAN     bool
}

func makeCert(s certSpec) *pki {
	serial++
	nb, na := s.notBefore, s.notAfter
	if nb.IsZero() {
		nb = windowStart
	}
	if na.IsZero() {
		na = windowEnd
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(serial),
		Subject:               pkix.Name{CommonName: s.cn},
		NotBefore:             nb,
		NotAfter:              na,
		IsCA:                  s.ca,
		BasicConstraintsValid: s.bcValid,
		KeyUsage:              s.ku,
	}
	if s.ipSAN {
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
	}
	parent, signer := tmpl, s.key
	if s.parent != nil {
		parent, signer = s.parent.cert, s.parent.key
	}
	der := must(x509.CreateCertificate(rand.Reader, tmpl, parent, s.key.Public(), signer))
	return &pki{cert: must(x509.ParseCertificate(der)), key: s.key}
}

func rsaKey(bits int) crypto.Signer { return must(rsa.GenerateKey(rand.Reader, bits)) }
func ecKey(c elliptic.Curve) crypto.Signer {
	return must(ecdsa.GenerateKey(c, rand.Reader))
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func x5c(certs ...*x509.Certificate) string {
	var s []string
	for _, c := range certs {
		s = append(s, `"`+base64.StdEncoding.EncodeToString(c.Raw)+`"`)
	}
	return "[" + strings.Join(s, ",") + "]"
}

func header(alg string, certs ...*x509.Certificate) string {
	return `{"typ":"x509","alg":"` + alg + `","x5c":` + x5c(certs...) + `}`
}

type claimSpec struct {
	mediaType, digest string
	size              int64
	refs              []string
	exp, nbf          int64
	extra             string // raw JSON members appended
}

func claims(c claimSpec) string {
	var b strings.Builder
	b.WriteString("{")
	if c.mediaType != "" {
		fmt.Fprintf(&b, `"mediaType":%q,`, c.mediaType)
	}
	fmt.Fprintf(&b, `"digest":%q,"size":%d`, c.digest, c.size)
	if len(c.refs) > 0 {
		b.WriteString(`,"references":` + string(must(json.Marshal(c.refs))))
	}
	if c.exp != 0 {
		fmt.Fprintf(&b, `,"exp":%d`, c.exp)
	}
	fmt.Fprintf(&b, `,"iat":%d`, signedAt.Unix())
	if c.nbf != 0 {
		fmt.Fprintf(&b, `,"nbf":%d`, c.nbf)
	}
	b.WriteString(c.extra)
	b.WriteString("}")
	return b.String()
}

// sign returns the signature segment's bytes over input for alg with key
// (for HS256, key is the HMAC secret as []byte).
func sign(alg string, key any, input string) []byte {
	h := func(ch crypto.Hash) []byte {
		hh := ch.New()
		hh.Write([]byte(input))
		return hh.Sum(nil)
	}
	switch alg {
	case "RS256":
		return must(rsa.SignPKCS1v15(rand.Reader, key.(*rsa.PrivateKey), crypto.SHA256, h(crypto.SHA256)))
	case "ES256", "ES384", "ES512":
		k := key.(*ecdsa.PrivateKey)
		ch := map[string]crypto.Hash{"ES256": crypto.SHA256, "ES384": crypto.SHA384, "ES512": crypto.SHA512}[alg]
		size := (k.Curve.Params().BitSize + 7) / 8
		r, s := must2(ecdsa.Sign(rand.Reader, k, h(ch)))
		out := make([]byte, 2*size)
		r.FillBytes(out[:size])
		s.FillBytes(out[size:])
		return out
	case "HS256":
		m := hmac.New(sha256.New, key.([]byte))
		m.Write([]byte(input))
		return m.Sum(nil)
	}
	log.Fatalf("sign: unknown alg %s", alg)
	return nil
}

func must2(a, b *big.Int, err error) (*big.Int, *big.Int) {
	if err != nil {
		log.Fatal(err)
	}
	return a, b
}

// tok assembles a compact token signed with key under signAlg.
func tok(hdr, cl, signAlg string, key any) string {
	input := b64([]byte(hdr)) + "." + b64([]byte(cl))
	return input + "." + b64(sign(signAlg, key, input))
}

func keyID(pub crypto.PublicKey) string {
	der := must(x509.MarshalPKIXPublicKey(pub))
	sum := sha256.Sum256(der)
	s := base32.StdEncoding.EncodeToString(sum[:30])
	var parts []string
	for i := 0; i < len(s); i += 4 {
		parts = append(parts, s[i:i+4])
	}
	return strings.Join(parts, ":")
}

type writer struct {
	out      string
	manifest []byte
	subject  Descriptor
	n        int
	cases    []Case
}

func (w *writer) write(c Case, token string, trusted ...*x509.Certificate) {
	w.writeManifest(c, token, w.manifest, trusted...)
}

func (w *writer) writeManifest(c Case, token string, manifest []byte, trusted ...*x509.Certificate) {
	dir := filepath.Join(w.out, c.Name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		log.Fatal(err)
	}
	if c.Now.IsZero() {
		c.Now = verifyAt
	}
	c.Subject = Descriptor{MediaType: dockerV2, Digest: digest.FromBytes(manifest).String(), Size: int64(len(manifest))}
	if c.Expect == "valid" {
		c.CLIExit = 0
	} else if c.CLIExit == 0 {
		c.CLIExit = 3
	}
	c.Trusted = nil
	for i, t := range trusted {
		name := fmt.Sprintf("trusted-%d.pem", i)
		c.Trusted = append(c.Trusted, name)
		writeFile(filepath.Join(dir, name), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: t.Raw}))
	}
	writeFile(filepath.Join(dir, "token.jwt"), []byte(token))
	writeFile(filepath.Join(dir, "manifest.json"), manifest)
	writeFile(filepath.Join(dir, "case.json"), append(must(json.MarshalIndent(c, "", "  ")), '\n'))
	w.n++
	w.cases = append(w.cases, c)
}

func writeFile(p string, b []byte) {
	if err := os.WriteFile(p, b, 0o644); err != nil {
		log.Fatal(err)
	}
}

func main() {
	out := flag.String("out", "testdata/jwt-corpus", "output directory (its case directories are replaced)")
	manifestPath := flag.String("manifest", "testdata/docker-generate/legacy-manifest.json", "subject manifest")
	flag.Parse()
	manifest := must(os.ReadFile(*manifestPath))
	if err := os.RemoveAll(*out); err != nil {
		log.Fatal(err)
	}
	w := &writer{out: *out, manifest: manifest}
	subj := Descriptor{MediaType: dockerV2, Digest: digest.FromBytes(manifest).String(), Size: int64(len(manifest))}
	cs := func() claimSpec {
		return claimSpec{mediaType: subj.MediaType, digest: subj.Digest, size: subj.Size, refs: []string{defaultRef}}
	}
	reject := func(name, class, desc string) Case {
		return Case{Name: name, Expect: "reject", Class: class, Description: desc}
	}
	valid := func(name, desc string) Case { return Case{Name: name, Expect: "valid", Description: desc} }

	// The walkthrough's `openssl req -x509 -newkey rsa:2048 ... -addext
	// subjectAltName=IP:127.0.0.1`: self-signed, CA:TRUE, no key usage.
	walk := makeCert(certSpec{cn: "127.0.0.1", key: rsaKey(2048), ca: true, bcValid: true, ipSAN: true})
	wk := walk.key.(*rsa.PrivateKey)
	ecLeaf := makeCert(certSpec{cn: "ec-p256-signer", key: ecKey(elliptic.P256()), ku: x509.KeyUsageDigitalSignature, ipSAN: true})
	ek := ecLeaf.key.(*ecdsa.PrivateKey)
	ec384 := makeCert(certSpec{cn: "ec-p384-signer", key: ecKey(elliptic.P384()), ku: x509.KeyUsageDigitalSignature, ipSAN: true})
	root := makeCert(certSpec{cn: "corpus root CA", key: ecKey(elliptic.P256()), ca: true, bcValid: true, ku: x509.KeyUsageCertSign | x509.KeyUsageCRLSign})
	inter := makeCert(certSpec{cn: "corpus intermediate CA", key: ecKey(elliptic.P256()), parent: root, ca: true, bcValid: true, ku: x509.KeyUsageCertSign | x509.KeyUsageCRLSign})
	chained := makeCert(certSpec{cn: "chained signer", key: rsaKey(2048), parent: inter, bcValid: true, ku: x509.KeyUsageDigitalSignature, ipSAN: true})
	direct := makeCert(certSpec{cn: "root-issued signer", key: ecKey(elliptic.P256()), parent: root, bcValid: true, ku: x509.KeyUsageDigitalSignature, ipSAN: true})
	other := makeCert(certSpec{cn: "untrusted root CA", key: ecKey(elliptic.P256()), ca: true, bcValid: true, ku: x509.KeyUsageCertSign})
	otherLeaf := makeCert(certSpec{cn: "signer under untrusted root", key: ecKey(elliptic.P256()), parent: other, bcValid: true, ku: x509.KeyUsageDigitalSignature, ipSAN: true})
	notCA := makeCert(certSpec{cn: "intermediate without CA", key: ecKey(elliptic.P256()), parent: root, bcValid: true, ca: false, ku: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign})
	underNotCA := makeCert(certSpec{cn: "signer under non-CA", key: ecKey(elliptic.P256()), parent: notCA, bcValid: true, ku: x509.KeyUsageDigitalSignature, ipSAN: true})
	expired := makeCert(certSpec{cn: "expired signer", key: ecKey(elliptic.P256()), parent: root, bcValid: true, ku: x509.KeyUsageDigitalSignature, ipSAN: true, notAfter: time.Date(2029, 1, 1, 0, 0, 0, 0, time.UTC)})
	future := makeCert(certSpec{cn: "not yet valid signer", key: ecKey(elliptic.P256()), parent: root, bcValid: true, ku: x509.KeyUsageDigitalSignature, ipSAN: true, notBefore: time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)})
	expiredSelf := makeCert(certSpec{cn: "expired self-signed", key: ecKey(elliptic.P256()), ku: x509.KeyUsageDigitalSignature, ipSAN: true, notAfter: time.Date(2029, 1, 1, 0, 0, 0, 0, time.UTC)})
	futureSelf := makeCert(certSpec{cn: "not yet valid self-signed", key: ecKey(elliptic.P256()), ku: x509.KeyUsageDigitalSignature, ipSAN: true, notBefore: time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)})
	rsa1024 := makeCert(certSpec{cn: "127.0.0.1", key: rsaKey(1024), ca: true, bcValid: true, ipSAN: true})
	noDS := makeCert(certSpec{cn: "key-usage without digitalSignature", key: ecKey(elliptic.P256()), bcValid: true, ku: x509.KeyUsageKeyAgreement, ipSAN: true})
	noDSChained := makeCert(certSpec{cn: "chained key-usage without digitalSignature", key: ecKey(elliptic.P256()), parent: root, bcValid: true, ku: x509.KeyUsageKeyEncipherment | x509.KeyUsageKeyAgreement, ipSAN: true})
	attacker := ecKey(elliptic.P256()).(*ecdsa.PrivateKey)

	rs := func(c claimSpec) string { return tok(header("RS256", walk.cert), claims(c), "RS256", wk) }
	es := func(leaf *pki, rest []*x509.Certificate, c claimSpec) string {
		return tok(header("ES256", append([]*x509.Certificate{leaf.cert}, rest...)...), claims(c), "ES256", leaf.key)
	}

	// --- valid controls ---
	w.write(valid("valid-walkthrough-openssl-cert", "RS256 with the walkthrough's openssl-style certificate (self-signed, CA:TRUE, no key usage) given with -c; reference 127.0.0.1:5000 against IP SAN 127.0.0.1 (port stripped)"), rs(cs()), walk.cert)
	w.write(valid("valid-ec-p256", "ES256 by a self-signed EC P-256 signer given with -c"), es(ecLeaf, nil, cs()), ecLeaf.cert)
	w.write(valid("valid-ec-p384", "ES384 by a self-signed EC P-384 signer given with -c"),
		tok(header("ES384", ec384.cert), claims(cs()), "ES384", ec384.key), ec384.cert)
	w.write(valid("valid-chain-intermediate-to-root", "RSA leaf with x5c [leaf, intermediate], chaining to the root given with -c"),
		tok(header("RS256", chained.cert, inter.cert), claims(cs()), "RS256", chained.key), root.cert)
	w.write(valid("valid-leaf-chained-to-root", "EC leaf issued by the root given with -c; x5c holds the leaf alone"), es(direct, nil, cs()), root.cert)
	{
		c := cs()
		c.exp, c.nbf = verifyAt.Add(24*time.Hour).Unix(), signedAt.Unix()
		w.write(valid("valid-with-exp-nbf", "exp one day after and nbf before the verification time"), rs(c), walk.cert)
	}
	w.write(valid("valid-kid-only", "kid-only token (no x5c) whose kid and key are those of the certificate given with -c"),
		tok(`{"typ":"x509","alg":"ES256","kid":"`+keyID(ek.Public())+`"}`, claims(cs()), "ES256", ek), ecLeaf.cert)

	// --- structure ---
	good := rs(cs())
	parts := strings.Split(good, ".")
	w.write(reject("alg-none", "malformed", `alg "none" with an empty signature segment (the classic unsigned JWT)`),
		b64([]byte(`{"typ":"x509","alg":"none","x5c":`+x5c(walk.cert)+`}`))+"."+parts[1]+".", walk.cert)
	w.write(reject("alg-none-with-signature", "unsupported algorithm", `alg "none" with a non-empty signature segment`),
		b64([]byte(`{"typ":"x509","alg":"none","x5c":`+x5c(walk.cert)+`}`))+"."+parts[1]+"."+parts[2], walk.cert)
	{
		pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: must(x509.MarshalPKIXPublicKey(wk.Public()))})
		w.write(reject("hs256-keyed-with-cert-public-key", "unsupported algorithm", "HS256 whose HMAC secret is the trusted certificate's public key (PEM), the key-confusion attack"),
			tok(header("HS256", walk.cert), claims(cs()), "HS256", pubPEM), walk.cert)
		w.write(reject("hs256-keyed-with-cert-der", "unsupported algorithm", "HS256 whose HMAC secret is the trusted certificate's DER"),
			tok(header("HS256", walk.cert), claims(cs()), "HS256", walk.cert.Raw), walk.cert)
	}
	w.write(reject("rs256-with-ec-key", "algorithm/key mismatch", "alg RS256 but the leaf has an EC P-256 key"),
		tok(header("RS256", ecLeaf.cert), claims(cs()), "ES256", ek), ecLeaf.cert)
	w.write(reject("es256-with-p384-key", "algorithm/key mismatch", "alg ES256 but the leaf has an EC P-384 key"),
		tok(header("ES256", ec384.cert), claims(cs()), "ES384", ec384.key), ec384.cert)
	w.write(reject("es256-with-rsa-key", "algorithm/key mismatch", "alg ES256 but the leaf has an RSA key"),
		tok(header("ES256", walk.cert), claims(cs()), "RS256", wk), walk.cert)
	w.write(reject("typ-missing", "unsupported type", "header without typ"),
		tok(`{"alg":"RS256","x5c":`+x5c(walk.cert)+`}`, claims(cs()), "RS256", wk), walk.cert)
	w.write(reject("typ-jwt", "unsupported type", `typ "JWT" instead of "x509"`),
		tok(`{"typ":"JWT","alg":"RS256","x5c":`+x5c(walk.cert)+`}`, claims(cs()), "RS256", wk), walk.cert)
	w.write(reject("two-segments", "malformed", "header.claims without a signature segment"), parts[0]+"."+parts[1], walk.cert)
	w.write(reject("four-segments", "malformed", "a valid token with a fourth segment appended"), good+"."+parts[2], walk.cert)
	w.write(reject("padding-in-signature", "malformed", "signature segment with base64 '=' padding"), good+"==", walk.cert)
	{
		// a header whose encoding needs padding
		h := `{"typ":"x509","alg":"RS256","x5c":` + x5c(walk.cert) + `} `
		for len(h)%3 == 0 {
			h += " "
		}
		input := base64.URLEncoding.EncodeToString([]byte(h)) + "." + parts[1]
		w.write(reject("padding-in-header", "malformed", "header segment in padded base64url (signature over the padded input)"),
			input+"."+b64(sign("RS256", wk, input)), walk.cert)
	}
	w.write(reject("trailing-newline", "malformed", "a valid token followed by a newline (the token file has none)"), good+"\n", walk.cert)
	w.write(reject("newline-inside-segment", "malformed", "a line break inside the claims segment"), parts[0]+"."+parts[1][:10]+"\n"+parts[1][10:]+"."+parts[2], walk.cert)
	w.write(reject("std-base64-alphabet", "malformed", "claims segment in standard base64 ('+' and '/') rather than base64url"),
		func() string {
			// find claims whose std encoding differs from the url one
			c := cs()
			for i := 0; ; i++ {
				c.extra = fmt.Sprintf(`,"x":"%s"`, strings.Repeat("?", i%7)+"~~~>>>")
				enc := base64.RawStdEncoding.EncodeToString([]byte(claims(c)))
				if strings.ContainsAny(enc, "+/") {
					input := parts[0] + "." + enc
					return input + "." + b64(sign("RS256", wk, input))
				}
			}
		}(), walk.cert)
	{
		c := cs()
		c.extra = `,"pad":"` + strings.Repeat("A", 1<<20) + `"`
		cc := Case{Name: "token-over-1mib", Expect: "reject", Class: "too large",
			Description: "a validly signed token over 1 MiB (a huge unknown claim); refused before parsing",
			CLIExit:     1, CLINote: "the CLI refuses a signature file over 1 MiB before reading it (internal/cli readSignatureFile), an ordinary error (exit 1)"}
		w.write(cc, rs(c), walk.cert)
	}
	w.write(reject("duplicate-header-alg", "malformed", `header with two "alg" keys (RS256 then none)`),
		tok(`{"typ":"x509","alg":"RS256","alg":"none","x5c":`+x5c(walk.cert)+`}`, claims(cs()), "RS256", wk), walk.cert)
	{
		c := cs()
		c.extra = `,"digest":"sha256:` + strings.Repeat("0", 64) + `"`
		w.write(reject("duplicate-claims-digest", "malformed", `claims with two "digest" fields (the subject's, then another)`), rs(c), walk.cert)
		c = cs()
		c.extra = `,"Digest":"sha256:` + strings.Repeat("0", 64) + `"`
		w.write(reject("case-variant-claims-digest", "malformed", `claims with "digest" and "Digest" (case-insensitive readers take the second)`), rs(c), walk.cert)
	}
	w.write(reject("claims-not-object", "malformed", "claims segment is a JSON array"),
		tok(header("RS256", walk.cert), `["digest"]`, "RS256", wk), walk.cert)

	// --- subject binding ---
	{
		c := cs()
		c.digest = digest.FromString("another manifest").String()
		w.write(reject("claims-other-digest", "subject mismatch", "signed digest is another manifest's"), rs(c), walk.cert)
		c = cs()
		c.size++
		w.write(reject("claims-other-size", "subject mismatch", "signed size is one more than the manifest's"), rs(c), walk.cert)
		c = cs()
		c.mediaType = "application/vnd.oci.image.manifest.v1+json"
		w.write(reject("claims-other-media-type", "subject mismatch", "signed mediaType is the OCI manifest type, the manifest is Docker schema 2"), rs(c), walk.cert)
		w.writeManifest(reject("manifest-extra-trailing-newline", "subject mismatch", "the signature is for the manifest; the manifest verified has one extra trailing newline"),
			rs(cs()), append(append([]byte{}, manifest...), '\n'), walk.cert)
		c = cs()
		c.refs = []string{"registry.example.com/busybox:latest"}
		w.write(reject("reference-other-host", "reference mismatch", "reference names registry.example.com; the certificate is only valid for IP 127.0.0.1"), rs(c), walk.cert)
		c = cs()
		c.refs = []string{defaultRef, "127.0.0.2:5000/busybox:latest"}
		w.write(reject("second-reference-other-host", "reference mismatch", "the second of two references names 127.0.0.2"), rs(c), walk.cert)
	}

	// --- time ---
	{
		c := cs()
		c.exp, c.nbf = verifyAt.Add(-time.Hour).Unix(), signedAt.Unix()
		w.write(reject("exp-in-past", "expired", "exp one hour before the verification time"), rs(c), walk.cert)
		c.exp = verifyAt.Unix()
		w.write(reject("exp-equals-now", "expired", "exp exactly at the verification time (no skew)"), rs(c), walk.cert)
		c = cs()
		c.nbf, c.exp = verifyAt.Add(time.Hour).Unix(), verifyAt.Add(48*time.Hour).Unix()
		w.write(reject("nbf-in-future", "not yet valid", "nbf one hour after the verification time"), rs(c), walk.cert)
	}

	// --- certificates ---
	w.write(reject("leaf-expired", "certificate invalid", "leaf issued by the trusted root expired before the verification time"), es(expired, nil, cs()), root.cert)
	w.write(reject("leaf-not-yet-valid", "certificate invalid", "leaf issued by the trusted root becomes valid after the verification time"), es(future, nil, cs()), root.cert)
	w.write(reject("leaf-expired-trusted-directly", "certificate invalid", "expired self-signed leaf given itself with -c"), es(expiredSelf, nil, cs()), expiredSelf.cert)
	w.write(reject("leaf-not-yet-valid-trusted-directly", "certificate invalid", "not-yet-valid self-signed leaf given itself with -c"), es(futureSelf, nil, cs()), futureSelf.cert)
	w.write(reject("chain-to-untrusted-root", "untrusted chain", "leaf and its root are valid, but the trusted certificate is another root"), es(otherLeaf, []*x509.Certificate{other.cert}, cs()), root.cert)
	w.write(reject("no-trusted-match", "untrusted chain", "self-signed EC signer; the trusted certificate is the walkthrough's, not the signer's"), es(ecLeaf, nil, cs()), walk.cert)
	w.write(reject("intermediate-not-ca", "certificate invalid", "x5c [leaf, intermediate] where the intermediate has CA:FALSE"), es(underNotCA, []*x509.Certificate{notCA.cert}, cs()), root.cert)
	w.write(reject("rsa-1024", "certificate invalid", "RS256 by a self-signed RSA-1024 certificate given with -c"),
		tok(header("RS256", rsa1024.cert), claims(cs()), "RS256", rsa1024.key), rsa1024.cert)
	w.write(reject("key-usage-without-digital-signature", "certificate invalid", "self-signed leaf whose key usage is keyAgreement only, given with -c"), es(noDS, nil, cs()), noDS.cert)
	w.write(reject("chained-key-usage-without-digital-signature", "certificate invalid", "root-issued leaf whose key usage lacks digitalSignature"), es(noDSChained, nil, cs()), root.cert)
	{
		many := []*x509.Certificate{}
		for range 299 {
			many = append(many, inter.cert)
		}
		w.write(reject("x5c-hundreds-of-certificates", "malformed", "x5c with 300 certificates (leaf + the intermediate 299 times)"), es(direct, many, cs()), root.cert)
	}
	{
		c := cs()
		t := rs(c)
		p := strings.Split(t, ".")
		c.digest = digest.FromString("swapped").String()
		w.write(reject("tampered-claims", "bad signature", "claims replaced after signing (signature from the original claims)"),
			p[0]+"."+b64([]byte(claims(c)))+"."+p[2], walk.cert)
		w.write(reject("signature-by-other-key", "bad signature", "x5c names the trusted walkthrough certificate, the signature is by another RSA key"),
			tok(header("RS256", walk.cert), claims(cs()), "RS256", rsaKey(2048)), walk.cert)
	}

	// --- kid ---
	w.write(reject("kid-only-unknown-key", "untrusted chain", "kid-only token signed by an attacker's key, kid of that key; the trusted certificate has another key"),
		tok(`{"typ":"x509","alg":"ES256","kid":"`+keyID(attacker.Public())+`"}`, claims(cs()), "ES256", attacker), ecLeaf.cert)
	w.write(reject("kid-only-forged-kid", "bad signature", "kid-only token carrying the trusted certificate's kid but signed by an attacker's key"),
		tok(`{"typ":"x509","alg":"ES256","kid":"`+keyID(ek.Public())+`"}`, claims(cs()), "ES256", attacker), ecLeaf.cert)
	w.write(reject("kid-and-no-trusted-certificate-match-alg", "algorithm/key mismatch", "kid-only token whose kid matches the trusted P-256 certificate but alg is RS256"),
		tok(`{"typ":"x509","alg":"RS256","kid":"`+keyID(ek.Public())+`"}`, claims(cs()), "ES256", ek), ecLeaf.cert)
	w.write(reject("no-x5c-no-kid", "malformed", "header with neither x5c nor kid"),
		tok(`{"typ":"x509","alg":"RS256"}`, claims(cs()), "RS256", wk), walk.cert)

	w.readme()
	fmt.Printf("wrote %d cases to %s\n", w.n, *out)
}

// readme writes README.md: the layout and a table of the cases.
func (w *writer) readme() {
	var b strings.Builder
	b.WriteString(`# Adversarial corpus for the x509 JWT verifier

Generated by ` + "`go run ./pkg/signature/jwt/internal/corpusgen -out testdata/jwt-corpus`" + ` (keys are
random, so regenerating rewrites every file: these are committed fixtures).
Run by TestCorpus (pkg/signature/jwt/corpus_test.go, jwt.Verify) and
TestVerifyCorpus (internal/cli/corpus_test.go, ` + "`signet verify -f`" + ` in process),
each at the case's fixed verification time. See docs/security.md.

Each directory: ` + "`case.json`" + ` (expected outcome, error class, verification
time, subject descriptor, trusted certificate files, CLI exit status),
` + "`token.jwt`" + `, ` + "`manifest.json`" + ` (the subject), ` + "`trusted-N.pem`" + `.

| case | expect | class | CLI exit | what |
|---|---|---|---|---|
`)
	for _, c := range w.cases {
		fmt.Fprintf(&b, "| `%s` | %s | %s | %d | %s |\n", c.Name, c.Expect, c.Class, c.CLIExit, strings.ReplaceAll(c.Description, "|", "\\|"))
	}
	writeFile(filepath.Join(w.out, "README.md"), []byte(b.String()))
}
