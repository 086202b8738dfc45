package notation

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	coresig "github.com/notaryproject/notation-core-go/signature"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/signet-oci/signet/pkg/certgen"
	"github.com/signet-oci/signet/pkg/errdef"
	"github.com/signet-oci/signet/pkg/signature"
)

// keyPair is a signing key with its chain (leaf first) and the
// certificate a verifier should trust.
type keyPair struct {
	key     crypto.Signer
	chain   []*x509.Certificate
	trusted *x509.Certificate
}

func generate(t testing.TB, opts certgen.Options) (crypto.Signer, []*x509.Certificate) {
	t.Helper()
	keyPEM, certPEM, err := certgen.Generate(opts)
	if err != nil {
		t.Fatal(err)
	}
	key, err := signature.ParsePrivateKeyPEM(keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	certs, err := signature.ParseCertificatesPEM(certPEM)
	if err != nil {
		t.Fatal(err)
	}
	return key, certs
}

var (
	pairsMu sync.Mutex
	pairs   = map[string]keyPair{}
)

// pair returns a cached key pair: mode "ca" (leaf issued by a CA, the CA
// trusted) or "self" (a self-signed non-CA leaf, itself trusted).
func pair(t testing.TB, keyType, mode string) keyPair {
	t.Helper()
	pairsMu.Lock()
	defer pairsMu.Unlock()
	id := keyType + "/" + mode
	if p, ok := pairs[id]; ok {
		return p
	}
	var p keyPair
	switch mode {
	case "self":
		p.key, p.chain = generate(t, certgen.Options{CommonName: "signet test " + id, KeyType: keyType})
		p.trusted = p.chain[0]
	case "ca":
		caKey, ca := generate(t, certgen.Options{CommonName: "signet test CA " + id, KeyType: keyType, IsCA: true})
		p.key, p.chain = generate(t, certgen.Options{CommonName: "signet test leaf " + id, KeyType: keyType, CAKey: caKey, CACert: ca[0]})
		p.trusted = ca[0]
	}
	pairs[id] = p
	return p
}

var testSubject = ocispec.Descriptor{
	MediaType: ocispec.MediaTypeImageManifest,
	Digest:    digest.FromString("signet test manifest"),
	Size:      527,
}

func sign(t testing.TB, p keyPair, format string, mod func(*SignOptions)) []byte {
	t.Helper()
	opts := SignOptions{Signer: p.key, Certificates: p.chain, Format: format, SigningAgent: "signet/test"}
	if mod != nil {
		mod(&opts)
	}
	env, err := Sign(context.Background(), testSubject, opts)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func TestRoundTrip(t *testing.T) {
	for _, format := range []string{FormatJWS, FormatCOSE} {
		for _, keyType := range []string{certgen.KeyRSA2048, certgen.KeyRSA3072, certgen.KeyECP256, certgen.KeyECP384} {
			for _, mode := range []string{"ca", "self"} {
				t.Run(format+"/"+keyType+"/"+mode, func(t *testing.T) {
					p := pair(t, keyType, mode)
					env := sign(t, p, format, func(o *SignOptions) {
						o.Expiry = time.Hour
						o.UserMetadata = map[string]string{"buildId": "42"}
					})
					switch format {
					case FormatJWS:
						if env[0] != '{' {
							t.Fatalf("JWS envelope is not flattened JSON: %.40q", env)
						}
					case FormatCOSE:
						if env[0] != 0xd2 {
							t.Fatalf("COSE envelope is not a tagged COSE_Sign1: % x", env[:4])
						}
					}
					res, err := Verify(context.Background(), env, format, testSubject, VerifyOptions{
						TrustedCertificates: []*x509.Certificate{p.trusted},
						Scope:               "127.0.0.1:5000/busybox",
					})
					if err != nil {
						t.Fatalf("Verify: %v", err)
					}
					if res.Signer != p.chain[0].Subject.String() {
						t.Errorf("Signer = %q, want %q", res.Signer, p.chain[0].Subject)
					}
					if d := res.Expiry.Sub(res.SignedAt); d < time.Hour-time.Second || d > time.Hour+time.Second {
						t.Errorf("expiry - signing time = %s, want 1h", d)
					}
					if time.Since(res.SignedAt) > time.Minute {
						t.Errorf("SignedAt = %s, not now", res.SignedAt)
					}
					if res.UserMetadata["buildId"] != "42" {
						t.Errorf("UserMetadata = %v", res.UserMetadata)
					}
					if len(res.Chain) != len(p.chain) {
						t.Errorf("chain has %d certificates, want %d", len(res.Chain), len(p.chain))
					}
					got, err := Subject(env, format)
					if err != nil {
						t.Fatal(err)
					}
					if got.Digest != testSubject.Digest || got.Size != testSubject.Size || got.MediaType != testSubject.MediaType {
						t.Errorf("Subject = %+v, want %+v", got, testSubject)
					}
				})
			}
		}
	}
}

func TestThumbprintAnnotation(t *testing.T) {
	p := pair(t, certgen.KeyECP256, "ca")
	for _, format := range []string{FormatJWS, FormatCOSE} {
		env := sign(t, p, format, nil)
		got, err := ThumbprintAnnotation(env, format)
		if err != nil {
			t.Fatal(err)
		}
		var prints []string
		if err := json.Unmarshal([]byte(got), &prints); err != nil {
			t.Fatalf("%s: annotation %q is not a JSON array: %v", format, got, err)
		}
		if len(prints) != 2 {
			t.Fatalf("%s: %d thumbprints, want 2 (leaf, CA)", format, len(prints))
		}
		for i, c := range p.chain {
			if want := digest.FromBytes(c.Raw).Encoded(); prints[i] != want {
				t.Errorf("%s: thumbprint %d = %s, want %s", format, i, prints[i], want)
			}
		}
		a, err := ManifestAnnotations(env, format)
		if err != nil {
			t.Fatal(err)
		}
		if a[AnnotationThumbprints] != got {
			t.Errorf("ManifestAnnotations thumbprints = %q", a[AnnotationThumbprints])
		}
		if ts, err := time.Parse(time.RFC3339, a[ocispec.AnnotationCreated]); err != nil || time.Since(ts) > time.Minute {
			t.Errorf("created annotation = %q (%v)", a[ocispec.AnnotationCreated], err)
		}
	}
}

// tamper changes the digest inside the signed payload, keeping the
// envelope well-formed.
func tamper(t *testing.T, env []byte, format string) []byte {
	t.Helper()
	other := digest.FromString("another manifest")
	switch format {
	case FormatJWS:
		var m map[string]any
		if err := json.Unmarshal(env, &m); err != nil {
			t.Fatal(err)
		}
		p, err := base64.RawURLEncoding.DecodeString(m["payload"].(string))
		if err != nil {
			t.Fatal(err)
		}
		p = bytes.Replace(p, []byte(testSubject.Digest), []byte(other), 1)
		m["payload"] = base64.RawURLEncoding.EncodeToString(p)
		out, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return out
	default:
		out := bytes.Replace(env, []byte(testSubject.Digest), []byte(other), 1)
		if bytes.Equal(out, env) {
			t.Fatal("digest not found in the COSE payload")
		}
		return out
	}
}

// forAnother is the reason a signature of another manifest is refused.
const forAnother = "the signature is for another manifest (media type, digest or size differ)"

func TestVerifyFailures(t *testing.T) {
	p := pair(t, certgen.KeyRSA2048, "ca")
	stranger := pair(t, certgen.KeyECP256, "self")
	ctx := context.Background()
	trustP := VerifyOptions{TrustedCertificates: []*x509.Certificate{p.trusted}}
	for _, format := range []string{FormatJWS, FormatCOSE} {
		env := sign(t, p, format, func(o *SignOptions) { o.Expiry = time.Hour })
		other := func(f func(*ocispec.Descriptor)) ocispec.Descriptor {
			d := testSubject
			f(&d)
			return d
		}
		cases := []struct {
			name    string
			env     []byte
			subject ocispec.Descriptor
			opts    VerifyOptions
			class   string
			reason  string // the message starts "notation signature: " + reason
		}{
			{"tampered payload", tamper(t, env, format), testSubject, trustP, ClassBadSignature, "integrity check failed: signature is invalid"},
			{"other digest", env, other(func(d *ocispec.Descriptor) { d.Digest = digest.FromString("x") }), trustP, ClassSubjectMismatch, forAnother},
			{"other size", env, other(func(d *ocispec.Descriptor) { d.Size++ }), trustP, ClassSubjectMismatch, forAnother},
			{"other media type", env, other(func(d *ocispec.Descriptor) { d.MediaType = ocispec.MediaTypeImageIndex }), trustP, ClassSubjectMismatch, forAnother},
			{"untrusted chain", env, testSubject, VerifyOptions{TrustedCertificates: []*x509.Certificate{stranger.trusted}}, ClassUntrustedChain,
				"the certificate chain does not end at a trusted certificate: the signature's certificate chain does not contain any trusted certificate"},
			{"leaf of a CA chain only", env, testSubject, VerifyOptions{TrustedCertificates: []*x509.Certificate{p.chain[0]}}, ClassUntrustedChain,
				"the certificate chain does not end at a trusted certificate: none of the trusted certificates is a CA or a self-signed certificate; give the CA (--ca-cert) or the signer's self-signed certificate"},
			{"expired at Now", env, testSubject, VerifyOptions{TrustedCertificates: trustP.TrustedCertificates, Now: time.Now().Add(2 * time.Hour)}, ClassExpired, "signature expired at "},
			{"malformed", []byte("{not an envelope"), testSubject, trustP, ClassMalformed, "not a " + format + " envelope: "},
			{"truncated", env[:len(env)/2], testSubject, trustP, ClassMalformed, "not a " + format + " envelope: "},
		}
		for _, c := range cases {
			t.Run(format+"/"+c.name, func(t *testing.T) {
				_, err := Verify(ctx, c.env, format, c.subject, c.opts)
				var ve *Error
				if !errors.As(err, &ve) {
					t.Fatalf("err = %v (%T), want *Error of class %q", err, err, c.class)
				}
				if ve.Class != c.class {
					t.Fatalf("class = %q (%v), want %q", ve.Class, err, c.class)
				}
				if !strings.HasPrefix(err.Error(), "notation signature: "+c.reason) {
					t.Fatalf("err = %q, want the reason %q", err, c.reason)
				}
				if !errors.Is(err, errdef.ErrVerification) {
					t.Error("error does not match errdef.ErrVerification")
				}
				if strings.Contains(err.Error(), "\n") {
					t.Errorf("error is not one line: %q", err)
				}
			})
		}
	}
}

// fullDNPair is a self-signed non-CA signing certificate whose subject has
// the C, ST and O attributes notation requires of a trusted identity.
func fullDNPair(t *testing.T) keyPair {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(7),
		Subject:               pkix.Name{CommonName: "signer", Organization: []string{"Acme"}, Province: []string{"WA"}, Country: []string{"US"}},
		NotBefore:             time.Now().Add(-time.Minute),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return keyPair{key: key, chain: []*x509.Certificate{cert}, trusted: cert}
}

// notTrustedIdentity starts the message of a signer that none of the
// trusted identities matches.
const notTrustedIdentity = "notation signature: the signer is not a trusted identity: signing certificate from the digital signature does not match the X.509 trusted identities"

func TestIdentity(t *testing.T) {
	p := fullDNPair(t)
	ctx := context.Background()
	trusted := []*x509.Certificate{p.trusted}
	for _, format := range []string{FormatJWS, FormatCOSE} {
		env := sign(t, p, format, nil)
		if _, err := Verify(ctx, env, format, testSubject, VerifyOptions{
			TrustedCertificates: trusted,
			Identities:          []string{"C=US, ST=WA, O=Other", "C=US, ST=WA, O=Acme, CN=signer"},
		}); err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		_, err := Verify(ctx, env, format, testSubject, VerifyOptions{TrustedCertificates: trusted, Identities: []string{"C=US, ST=WA, O=Other"}})
		if ve := (*Error)(nil); !errors.As(err, &ve) || ve.Class != ClassIdentity || !strings.HasPrefix(err.Error(), notTrustedIdentity) {
			t.Fatalf("%s: err = %v, want class identity: %q", format, err, notTrustedIdentity)
		}
	}
	// notation refuses identities without C, ST and O.
	env := sign(t, p, FormatJWS, nil)
	_, err := Verify(ctx, env, FormatJWS, testSubject, VerifyOptions{TrustedCertificates: trusted, Identities: []string{"CN=signer"}})
	if ve := (*Error)(nil); !errors.As(err, &ve) || ve.Class != ClassTrustPolicy || !strings.Contains(err.Error(), "CN=signer") {
		t.Fatalf("CN-only identity: err = %v, want class trust policy naming it", err)
	}
}

// TestExpiredByClock checks notation-go's own expiry check (against the
// system clock) rather than VerifyOptions.Now.
func TestExpiredByClock(t *testing.T) {
	if testing.Short() {
		t.Skip("sleeps 2s")
	}
	p := pair(t, certgen.KeyECP256, "self")
	for _, format := range []string{FormatJWS, FormatCOSE} {
		env := sign(t, p, format, func(o *SignOptions) { o.Expiry = time.Second })
		time.Sleep(2100 * time.Millisecond)
		_, err := Verify(context.Background(), env, format, testSubject, VerifyOptions{TrustedCertificates: []*x509.Certificate{p.trusted}})
		var ve *Error
		if !errors.As(err, &ve) || ve.Class != ClassExpired {
			t.Fatalf("%s: err = %v, want class expired", format, err)
		}
	}
}

func TestSignRefusesUnfitCertificates(t *testing.T) {
	caKey, ca := generate(t, certgen.Options{CommonName: "a CA, like openssl req -x509", IsCA: true, KeyType: certgen.KeyECP256})
	_, err := Sign(context.Background(), testSubject, SignOptions{Signer: caKey, Certificates: ca, Format: FormatJWS})
	if err == nil || !strings.Contains(err.Error(), "signet generate cert") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("signing with a CA certificate: err = %v, want one line suggesting 'signet generate cert'", err)
	}

	// codeSigning EKU is accepted; so is no EKU (TestRoundTrip).
	key, chain := generate(t, certgen.Options{CommonName: "code signer", CodeSigning: true, KeyType: certgen.KeyECP256})
	env, err := Sign(context.Background(), testSubject, SignOptions{Signer: key, Certificates: chain, Format: FormatCOSE})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(context.Background(), env, FormatCOSE, testSubject, VerifyOptions{TrustedCertificates: chain}); err != nil {
		t.Fatal(err)
	}

	p := pair(t, certgen.KeyECP256, "self")
	for _, c := range []struct {
		name string
		o    SignOptions
		want string
	}{
		{"unknown format", SignOptions{Signer: p.key, Certificates: p.chain, Format: "jwt"},
			`unknown Notary Project signature format "jwt"; use jws or cose`},
		{"negative expiry", SignOptions{Signer: p.key, Certificates: p.chain, Format: FormatJWS, Expiry: -time.Second},
			"notation sign: expiry -1s is negative"},
		{"reserved metadata", SignOptions{Signer: p.key, Certificates: p.chain, Format: FormatJWS, UserMetadata: map[string]string{"io.cncf.notary.x": "y"}},
			`notation sign: user metadata key "io.cncf.notary.x" uses the reserved prefix io.cncf.notary`},
		{"key of another certificate", SignOptions{Signer: key, Certificates: p.chain, Format: FormatJWS},
			`notation sign: "key and certs" param is invalid. Error: key not matches certificate`},
	} {
		if _, err := Sign(context.Background(), testSubject, c.o); err == nil || err.Error() != c.want {
			t.Errorf("%s: err = %v, want %q", c.name, err, c.want)
		}
	}
}

// TestTrustPolicyFiles verifies with a notation trustpolicy.json and a
// trust store directory laid out as notation keeps them.
func TestTrustPolicyFiles(t *testing.T) {
	p := pair(t, certgen.KeyRSA2048, "ca")
	env := sign(t, p, FormatCOSE, nil)
	root := t.TempDir()
	store := filepath.Join(root, "truststore", "x509", "ca", "acme")
	if err := os.MkdirAll(store, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(store, "ca.pem"), pemCert(p.trusted), 0o644); err != nil {
		t.Fatal(err)
	}
	policy := filepath.Join(root, "trustpolicy.json")
	// A missing policy file: the path once, then the reason alone.
	_, err := LoadTrustPolicy(policy)
	if ve := (*Error)(nil); !errors.As(err, &ve) || ve.Class != ClassTrustPolicy || err.Error() != "notation signature: trust policy "+policy+": no such file or directory" {
		t.Fatalf("missing trust policy: err = %v, want class trust policy naming the path once", err)
	}
	writePolicy := func(scope, identity string) {
		doc := `{"version":"1.0","trustPolicies":[{"name":"acme","registryScopes":["` + scope + `"],
		"signatureVerification":{"level":"strict"},"trustStores":["ca:acme"],"trustedIdentities":["` + identity + `"]}]}`
		if err := os.WriteFile(policy, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	writePolicy("registry.example/app", "*")
	for _, dir := range []string{root, filepath.Join(root, "truststore")} {
		if _, err := Verify(ctx, env, FormatCOSE, testSubject, VerifyOptions{TrustPolicyFile: policy, TrustStoreDir: dir, Scope: "registry.example/app"}); err != nil {
			t.Fatalf("store %s: %v", dir, err)
		}
	}
	_, err = Verify(ctx, env, FormatCOSE, testSubject, VerifyOptions{TrustPolicyFile: policy, TrustStoreDir: root, Scope: "registry.example/other"})
	want := `notation signature: artifact "registry.example/other@` + testSubject.Digest.String() + `" has no applicable trust policy statement`
	if ve := (*Error)(nil); !errors.As(err, &ve) || ve.Class != ClassTrustPolicy || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("out of scope: err = %v, want class trust policy: %q", err, want)
	}
	// A signer whose subject lacks C, ST and O cannot match an identity.
	writePolicy("*", "x509.subject: C=US, ST=WA, O=Someone Else")
	_, err = Verify(ctx, env, FormatCOSE, testSubject, VerifyOptions{TrustPolicyFile: policy, TrustStoreDir: root})
	want = `notation signature: the signer is not a trusted identity: error while parsing the certificate subject from the digital signature. error : "distinguished name (DN) \"` + p.chain[0].Subject.String() + `\" has no mandatory RDN attribute for \"C\"`
	if ve := (*Error)(nil); !errors.As(err, &ve) || ve.Class != ClassIdentity || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("identity of a CN-only signer: err = %v, want class identity: %q", err, want)
	}
	// A signer with a full subject that is not the policy's identity.
	full := fullDNPair(t)
	fullStore := filepath.Join(root, "truststore", "x509", "ca", "acme-signer")
	if err := os.MkdirAll(fullStore, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(fullStore, "signer.pem"), pemCert(full.trusted), 0o644); err != nil {
		t.Fatal(err)
	}
	doc := `{"version":"1.0","trustPolicies":[{"name":"acme","registryScopes":["*"],
		"signatureVerification":{"level":"strict"},"trustStores":["ca:acme-signer"],"trustedIdentities":["x509.subject: C=US, ST=WA, O=Someone Else"]}]}`
	if err := os.WriteFile(policy, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Verify(ctx, sign(t, full, FormatCOSE, nil), FormatCOSE, testSubject, VerifyOptions{TrustPolicyFile: policy, TrustStoreDir: root})
	if ve := (*Error)(nil); !errors.As(err, &ve) || ve.Class != ClassIdentity || !strings.HasPrefix(err.Error(), notTrustedIdentity) {
		t.Fatalf("identity: err = %v, want class identity: %q", err, notTrustedIdentity)
	}
	empty := t.TempDir()
	_, err = Verify(ctx, env, FormatCOSE, testSubject, VerifyOptions{TrustPolicyFile: policy, TrustStoreDir: empty})
	want = "notation signature: trust store " + empty + " has no x509 directory; give the notation trust store (…/notation/truststore, holding x509/ca/<name>/)"
	if err == nil || err.Error() != want {
		t.Fatalf("empty trust store directory: err = %v, want %q", err, want)
	}
}

func pemCert(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

// TestLoggedFailuresInvalid: a trust policy at level audit or permissive
// makes notation-go only log some failed checks (notation verify then
// reports success with a warning); signet still rejects the signature,
// naming the check and the level. Checks that pass keep the signature
// valid at those levels.
func TestLoggedFailuresInvalid(t *testing.T) {
	if testing.Short() {
		t.Skip("sleeps 2s")
	}
	p := pair(t, certgen.KeyECP256, "ca")
	stranger := pair(t, certgen.KeyRSA2048, "self")
	root := t.TempDir()
	for name, c := range map[string]*x509.Certificate{"signer": p.trusted, "stranger": stranger.trusted} {
		store := filepath.Join(root, "truststore", "x509", "ca", name)
		if err := os.MkdirAll(store, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(store, "cert.pem"), pemCert(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	policy := func(level, store string) string {
		f := filepath.Join(t.TempDir(), "trustpolicy.json")
		doc := `{"version":"1.0","trustPolicies":[{"name":"p","registryScopes":["*"],
		"signatureVerification":{"level":"` + level + `"},"trustStores":["ca:` + store + `"],"trustedIdentities":["*"]}]}`
		if err := os.WriteFile(f, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		return f
	}
	ctx := context.Background()
	for _, format := range []string{FormatJWS, FormatCOSE} {
		env := sign(t, p, format, nil)
		expiring := sign(t, p, format, func(o *SignOptions) { o.Expiry = time.Second })
		for _, level := range []string{"strict", "permissive", "audit"} {
			if _, err := Verify(ctx, env, format, testSubject, VerifyOptions{TrustPolicyFile: policy(level, "signer"), TrustStoreDir: root}); err != nil {
				t.Fatalf("%s, level %s, trusted signer: %v", format, level, err)
			}
		}
		// audit only logs authenticity: a signer outside the trust store.
		_, err := Verify(ctx, env, format, testSubject, VerifyOptions{TrustPolicyFile: policy("audit", "stranger"), TrustStoreDir: root})
		if ve := (*Error)(nil); !errors.As(err, &ve) || ve.Class != ClassUntrustedChain || !strings.Contains(err.Error(), `level "audit" only logs the authenticity check`) {
			t.Fatalf("%s, audit, untrusted signer: err = %v, want class untrusted chain naming the level", format, err)
		}
		time.Sleep(1100 * time.Millisecond)
		for _, level := range []string{"permissive", "audit"} {
			_, err := Verify(ctx, expiring, format, testSubject, VerifyOptions{TrustPolicyFile: policy(level, "signer"), TrustStoreDir: root})
			if ve := (*Error)(nil); !errors.As(err, &ve) || ve.Class != ClassExpired || !strings.Contains(err.Error(), `level "`+level+`" only logs the expiry check`) {
				t.Fatalf("%s, %s, expired: err = %v, want class expired naming the level", format, level, err)
			}
		}
	}
}

// TestVerifyRefusesOversizedEnvelope: an envelope over the 1 MiB bound
// (signature.MaxEnvelopeSize) is refused before it is parsed, as jwt.Verify
// refuses a token, whoever calls: the bound held only where the CLI reads a
// file and discovery fetches a blob, and a genuine JWS padded with 1 MiB of
// JSON whitespace verified through the library.
func TestVerifyRefusesOversizedEnvelope(t *testing.T) {
	p := pair(t, certgen.KeyECP256, "self")
	opts := VerifyOptions{TrustedCertificates: []*x509.Certificate{p.trusted}}
	for _, format := range []string{FormatJWS, FormatCOSE} {
		env := sign(t, p, format, nil)
		if _, err := Verify(context.Background(), env, format, testSubject, opts); err != nil {
			t.Fatalf("%s control: %v", format, err)
		}
		padded := append(append([]byte{}, env...), bytes.Repeat([]byte(" "), 1<<20)...)
		_, err := Verify(context.Background(), padded, format, testSubject, opts)
		var ne *Error
		if !errors.As(err, &ne) || ne.Class != ClassTooLarge || !errors.Is(err, errdef.ErrVerification) {
			t.Fatalf("%s padded to %d bytes: err = %v; want class %q", format, len(padded), err, ClassTooLarge)
		}
		if want := fmt.Sprintf("notation signature: %s envelope of %d bytes exceeds the limit of %d bytes; refused unread", format, len(padded), 1<<20); ne.Msg != want {
			t.Fatalf("%s: %q, want %q", format, ne.Msg, want)
		}
	}
}

// TestVerifyRefusesLongChain: a JWS or COSE envelope carrying more than
// signature.MaxCertificateChain certificates is refused before notation-go
// validates the chain (two signature checks per certificate, trusted or
// not): a forged envelope of 1,100 P-521 certificates (828 KB, under the
// 1 MiB bound) cost 7.2 s of CPU to reject, and a registry may list 100 of
// them. A chain of exactly the bound still verifies.
func TestVerifyRefusesLongChain(t *testing.T) {
	chainOf := func(n int) (crypto.Signer, []*x509.Certificate) {
		t.Helper()
		var certs []*x509.Certificate
		var parent *x509.Certificate
		var parentKey crypto.Signer
		for i := range n {
			leaf := i == n-1
			key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			tmpl := &x509.Certificate{
				SerialNumber:          big.NewInt(int64(i + 1)),
				Subject:               pkix.Name{CommonName: fmt.Sprintf("cert %d", i), Organization: []string{"Acme"}, Province: []string{"WA"}, Country: []string{"US"}},
				NotBefore:             time.Now().Add(-time.Hour),
				NotAfter:              time.Now().Add(time.Hour),
				BasicConstraintsValid: true,
				IsCA:                  !leaf,
				KeyUsage:              x509.KeyUsageCertSign,
			}
			if leaf {
				tmpl.KeyUsage, tmpl.ExtKeyUsage = x509.KeyUsageDigitalSignature, []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}
			}
			if parent == nil {
				parent, parentKey = tmpl, key
			}
			der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), parentKey)
			if err != nil {
				t.Fatal(err)
			}
			c, err := x509.ParseCertificate(der)
			if err != nil {
				t.Fatal(err)
			}
			certs = append([]*x509.Certificate{c}, certs...) // leaf first
			parent, parentKey = c, key
		}
		return parentKey, certs
	}
	for _, format := range []string{FormatJWS, FormatCOSE} {
		for _, n := range []int{signature.MaxCertificateChain, signature.MaxCertificateChain + 1} {
			key, chain := chainOf(n)
			env, err := Sign(context.Background(), testSubject, SignOptions{Signer: key, Certificates: chain, Format: format})
			if err != nil {
				t.Fatal(err)
			}
			root := chain[len(chain)-1]
			_, err = Verify(context.Background(), env, format, testSubject, VerifyOptions{TrustedCertificates: []*x509.Certificate{root}})
			if n <= signature.MaxCertificateChain {
				if err != nil {
					t.Errorf("%s, %d certificates: %v; want valid", format, n, err)
				}
				continue
			}
			want := fmt.Sprintf("notation signature: the certificate chain holds %d certificates; at most %d are accepted", n, signature.MaxCertificateChain)
			var ne *Error
			if !errors.As(err, &ne) || ne.Class != ClassMalformed || ne.Msg != want {
				t.Errorf("%s, %d certificates: err = %v; want class %q, %q", format, n, err, ClassMalformed, want)
			}
		}
	}
}

// TestVerifyRefusesUnknownCriticalAttribute: a signature carrying a signed
// extended attribute marked critical that signet does not understand is
// refused ("unknown critical attributes MUST cause signature verification
// to fail", Notary Project signature specification). notation-go checks
// them only when a verification plugin takes part: without one, a JWS or
// COSE signature whose signer restricted it with, say, a critical
// "io.example.environment": "staging" verified as valid anywhere. The same
// attribute not marked critical is ignored, as the specification allows.
func TestVerifyRefusesUnknownCriticalAttribute(t *testing.T) {
	p := pair(t, certgen.KeyECP256, "self")
	signer, err := coresig.NewLocalSigner(p.chain, p.key)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := json.Marshal(map[string]any{"targetArtifact": testSubject})
	if err != nil {
		t.Fatal(err)
	}
	opts := VerifyOptions{TrustedCertificates: []*x509.Certificate{p.trusted}}
	for _, format := range []string{FormatJWS, FormatCOSE} {
		for _, critical := range []bool{false, true} {
			mediaType, _ := MediaType(format)
			env, err := coresig.NewEnvelope(mediaType)
			if err != nil {
				t.Fatal(err)
			}
			sig, err := env.Sign(&coresig.SignRequest{
				Payload:                  coresig.Payload{ContentType: MediaTypePayload, Content: payload},
				Signer:                   signer,
				SigningTime:              time.Now().Add(-time.Minute),
				SigningScheme:            coresig.SigningSchemeX509,
				SigningAgent:             "signet/test",
				ExtendedSignedAttributes: []coresig.Attribute{{Key: "io.example.environment", Critical: critical, Value: "staging"}},
			})
			if err != nil {
				t.Fatal(err)
			}
			_, err = Verify(context.Background(), sig, format, testSubject, opts)
			if !critical {
				if err != nil {
					t.Errorf("%s, attribute not critical: %v; want valid", format, err)
				}
				continue
			}
			want := `notation signature: the signed attribute "io.example.environment" is marked critical and signet does not understand it`
			var ne *Error
			if !errors.As(err, &ne) || ne.Class != ClassMalformed || ne.Msg != want {
				t.Errorf("%s, critical attribute: err = %v; want class %q, %q", format, err, ClassMalformed, want)
			}
		}
	}
}
