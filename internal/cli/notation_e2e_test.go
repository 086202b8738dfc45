package cli_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	notationgo "github.com/notaryproject/notation-go"
	notationdir "github.com/notaryproject/notation-go/dir"
	notationregistry "github.com/notaryproject/notation-go/registry"
	"github.com/notaryproject/notation-go/signer"
	"github.com/notaryproject/notation-go/verifier"
	"github.com/notaryproject/notation-go/verifier/trustpolicy"
	"github.com/notaryproject/notation-go/verifier/truststore"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"
	orasremote "oras.land/oras-go/v2/registry/remote"

	"github.com/signet-oci/signet/internal/testregistry"
	"github.com/signet-oci/signet/pkg/artifact"
	"github.com/signet-oci/signet/pkg/signature"
)

// env is an embedded registry with busybox copied in, and a work directory.
type env struct {
	t    *testing.T
	host string
	dir  string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, host: testregistry.Start(t).Host, dir: t.TempDir()}
	layout, err := filepath.Abs("../../testdata/oci-layout")
	if err != nil {
		t.Fatal(err)
	}
	e.ok("copy", "oci-layout:"+layout+":latest", e.ref(":latest"))
	return e
}

func (e *env) ref(suffix string) string { return e.host + "/busybox" + suffix }
func (e *env) path(name string) string  { return filepath.Join(e.dir, name) }

// run runs signet in-process and returns its exit status and streams.
func (e *env) run(args ...string) (int, string, string) {
	e.t.Helper()
	return signetRun("", args...)
}

func (e *env) ok(args ...string) string {
	e.t.Helper()
	code, out, errOut := e.run(args...)
	if code != 0 {
		e.t.Fatalf("signet %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// cert makes a key and certificate with 'signet generate cert'.
func (e *env) cert(name string) (key, crt string) {
	key, crt = e.path(name+".key"), e.path(name+".crt")
	e.ok("generate", "cert", "--key-out", key, "--cert-out", crt, "--cn", name, "--key-type", "ec-p256")
	return key, crt
}

// orasRepo is an oras-go client for busybox on the embedded registry.
func (e *env) orasRepo() *orasremote.Repository {
	repo, err := orasremote.NewRepository(e.ref(""))
	if err != nil {
		e.t.Fatal(err)
	}
	repo.PlainHTTP = true
	return repo
}

func (e *env) subject() ocispec.Descriptor {
	desc, err := e.orasRepo().Resolve(context.Background(), "latest")
	if err != nil {
		e.t.Fatal(err)
	}
	return desc
}

// notationVerify verifies busybox's signatures as the notation CLI does:
// a trustpolicy.json and a file trust store on disk, notation.Verify over
// the registry (discovery through referrers, then the verifier). It
// returns the first successful outcome, or notation.Verify's error: a
// rejection is a notation.VerificationFailedError, anything else (the
// registry unreachable, no signature) is not.
func (e *env) notationVerify(crt string) (*notationgo.VerificationOutcome, error) {
	e.t.Helper()
	cfg := e.path("notation-" + filepath.Base(crt))
	store := filepath.Join(cfg, "truststore", "x509", "ca", "signet")
	if err := os.MkdirAll(store, 0o755); err != nil {
		e.t.Fatal(err)
	}
	b, err := os.ReadFile(crt)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(store, "signet.crt"), b, 0o644); err != nil {
		e.t.Fatal(err)
	}
	// What 'notation policy import' takes for this setup.
	policy := `{"version":"1.0","trustPolicies":[{"name":"busybox","registryScopes":["` + e.ref("") + `"],
	  "signatureVerification":{"level":"strict"},"trustStores":["ca:signet"],"trustedIdentities":["*"]}]}`
	var doc trustpolicy.Document
	if err := json.Unmarshal([]byte(policy), &doc); err != nil {
		e.t.Fatal(err)
	}
	v, err := verifier.New(&doc, truststore.NewX509TrustStore(notationdir.NewSysFS(cfg)), nil)
	if err != nil {
		e.t.Fatal(err)
	}
	subject := e.subject()
	_, outcomes, err := notationgo.Verify(context.Background(), v, notationregistry.NewRepository(e.orasRepo()), notationgo.VerifyOptions{
		ArtifactReference:    e.ref("@" + subject.Digest.String()),
		MaxSignatureAttempts: 10,
	})
	if err != nil {
		return nil, err
	}
	for _, o := range outcomes {
		if o.Error == nil {
			return o, nil
		}
	}
	e.t.Fatalf("notation.Verify returned no error and no successful outcome: %+v", outcomes)
	return nil, nil
}

// notationRejected fails unless err is notation's verification failure
// for every signature, with reason.
func notationRejected(t *testing.T, err error, reason string) {
	t.Helper()
	var vf notationgo.VerificationFailedError
	if !errors.As(err, &vf) {
		t.Fatalf("notation verify: %v (%T), want a verification failure, not another error", err, err)
	}
	if !strings.Contains(err.Error(), reason) {
		t.Fatalf("notation verify: %v, want the reason %q", err, reason)
	}
}

// wantRejected requires a signet verify run to exit 3 with every one of
// the n signatures INVALID for reason, and the one-line error saying none
// is valid.
func wantRejected(t *testing.T, what string, n int, code int, out, errOut, reason string) {
	t.Helper()
	if code != 3 {
		t.Fatalf("%s: exit %d, want 3\n%s%s", what, code, out, errOut)
	}
	if got := strings.Count(out, "INVALID  "); got != n || strings.Count(out, "signature: notation signature: "+reason) != n {
		t.Fatalf("%s: want %d signatures INVALID with the reason %q:\n%s", what, n, reason, out)
	}
	if !strings.HasSuffix(strings.TrimSpace(errOut), fmt.Sprintf("%d signature(s) found, none valid", n)) {
		t.Fatalf("%s: stderr does not end with the error %q:\n%s", what, fmt.Sprintf("%d signature(s) found, none valid", n), errOut)
	}
}

// TestNotationSignatures runs sign → push-signature → discover → verify
// for jws and cose against the embedded registry, and checks the result
// with notation-go's own registry client and verifier.
func TestNotationSignatures(t *testing.T) {
	e := newEnv(t)
	key, crt := e.cert("signer")
	_, wrongCrt := e.cert("stranger")
	subject := e.subject()

	for _, format := range []string{"jws", "cose"} {
		t.Run(format, func(t *testing.T) {
			e.t = t
			sig := e.path("sig." + format)
			e.ok("sign", "-k", key, "-c", crt, "--signature-format", format, "--expiry", "24h", "-m", "build=42", "-o", sig, e.ref("@"+subject.Digest.String()))
			artifactDigest := strings.TrimSpace(e.ok("push-signature", "--signature", sig, "--artifact-format", "oci", e.ref("")))

			// The manifest is what notation pushes (formats.md §6).
			repo := e.orasRepo()
			desc, err := repo.Resolve(context.Background(), artifactDigest)
			if err != nil {
				t.Fatal(err)
			}
			b, err := content.FetchAll(context.Background(), repo, desc)
			if err != nil {
				t.Fatal(err)
			}
			var m ocispec.Manifest
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatal(err)
			}
			envelope, err := os.ReadFile(sig)
			if err != nil {
				t.Fatal(err)
			}
			mediaType := map[string]string{"jws": artifact.MediaTypeJWS, "cose": artifact.MediaTypeCOSE}[format]
			if m.MediaType != ocispec.MediaTypeImageManifest || m.ArtifactType != artifact.ArtifactTypeNotation ||
				m.Config.MediaType != ocispec.MediaTypeEmptyJSON || m.Config.Digest != artifact.EmptyConfig.Digest ||
				len(m.Layers) != 1 || m.Layers[0].MediaType != mediaType || m.Layers[0].Digest != digest.FromBytes(envelope) ||
				m.Subject == nil || m.Subject.Digest != subject.Digest || m.Subject.Size != subject.Size || m.Subject.MediaType != subject.MediaType {
				t.Fatalf("signature manifest is not notation's:\n%s", b)
			}
			certs, err := signature.LoadCertificates(crt)
			if err != nil {
				t.Fatal(err)
			}
			if want := `["` + digest.FromBytes(certs[0].Raw).Encoded() + `"]`; m.Annotations[artifact.AnnotationThumbprints] != want {
				t.Errorf("thumbprint annotation = %q, want %q", m.Annotations[artifact.AnnotationThumbprints], want)
			}
			if m.Annotations[ocispec.AnnotationCreated] == "" {
				t.Error("no org.opencontainers.image.created annotation")
			}

			out := e.ok("discover", e.ref(":latest"), "--format", "json")
			if !strings.Contains(out, artifact.ArtifactTypeNotation) || !strings.Contains(out, artifactDigest) {
				t.Fatalf("discover does not list the %s signature %s:\n%s", format, artifactDigest, out)
			}

			out = e.ok("verify", e.ref(":latest"), "-c", crt)
			if !strings.Contains(out, "VALID    "+artifactDigest) {
				t.Fatalf("verify output:\n%s", out)
			}
			out = e.ok("verify", "-f", sig, "-c", crt, "--format", "json", e.ref("@"+subject.Digest.String()))
			if !strings.Contains(out, `"build": "42"`) && !strings.Contains(out, `"build":"42"`) {
				t.Errorf("verify --format json lacks the user metadata:\n%s", out)
			}

			// Interop: notation-go's registry client and verifier, set
			// up as the notation CLI is, accept what signet pushed.
			outcome, err := e.notationVerify(crt)
			if err != nil {
				t.Fatalf("notation verify: %v", err)
			}
			if md, _ := outcome.UserMetadata(); md["build"] != "42" {
				t.Errorf("notation sees user metadata %v", md)
			}
		})
	}

	e.t = t
	untrusted := "the certificate chain does not end at a trusted certificate: the signature's certificate chain does not contain any trusted certificate"
	code, out, errOut := e.run("verify", e.ref(":latest"), "-c", wrongCrt)
	wantRejected(t, "verify with the wrong certificate", 2, code, out, errOut, untrusted)
	_, err := e.notationVerify(wrongCrt)
	notationRejected(t, err, "the signature's certificate chain does not contain any trusted certificate")

	// --identity of a signer whose subject has CN only: notation needs C,
	// ST and O in the signer's subject to compare it.
	code, out, errOut = e.run("verify", e.ref(":latest"), "-c", crt, "--identity", "C=US, ST=WA, O=Nobody")
	wantRejected(t, "verify --identity of a CN-only signer", 2, code, out, errOut,
		`the signer is not a trusted identity: error while parsing the certificate subject from the digital signature. error : "distinguished name (DN) \"CN=signer\" has no mandatory RDN attribute for \"C\"`)
}

// TestNotationIdentity: --identity narrows trust to the signers whose
// subject it names.
func TestNotationIdentity(t *testing.T) {
	e := newEnv(t)
	key, crt := e.path("acme.key"), e.path("acme.crt")
	e.ok("generate", "cert", "--key-out", key, "--cert-out", crt, "--subject", "/CN=signer/O=Acme/ST=WA/C=US", "--key-type", "ec-p256")
	e.ok("sign", "-k", key, "-c", crt, "--signature-format", "cose", "-o", e.path("sig.cose"), e.ref(":latest"))
	e.ok("push-signature", "--signature", e.path("sig.cose"), "--artifact-format", "oci", e.ref(""))
	out := e.ok("verify", e.ref(":latest"), "-c", crt, "--identity", "C=US, ST=WA, O=Acme, CN=signer")
	if !strings.Contains(out, "1 of 1 signature(s) valid") {
		t.Fatalf("verify --identity of the signer:\n%s", out)
	}
	code, out, errOut := e.run("verify", e.ref(":latest"), "-c", crt, "--identity", "C=US, ST=WA, O=Nobody")
	wantRejected(t, "verify --identity of someone else", 1, code, out, errOut,
		`the signer is not a trusted identity: signing certificate from the digital signature does not match the X.509 trusted identities [map["C":"US" "O":"Nobody" "ST":"WA"]]`)
}

// TestNotationSignedVerifiedBySignet signs with notation-go's own
// notation.Sign, which pushes the notation 1.3.x manifest form
// (config.mediaType application/vnd.cncf.notary.signature, no
// artifactType), and checks that signet discovers and verifies it, also
// from a notation trust policy and trust store.
func TestNotationSignedVerifiedBySignet(t *testing.T) {
	e := newEnv(t)
	key, crt := e.cert("notation-signer")
	k, certs, err := signature.LoadKeyPair(key, crt)
	if err != nil {
		t.Fatal(err)
	}
	s, err := signer.NewGenericSigner(k, certs)
	if err != nil {
		t.Fatal(err)
	}
	subject := e.subject()
	for _, mediaType := range []string{artifact.MediaTypeJWS, artifact.MediaTypeCOSE} {
		_, err := notationgo.Sign(context.Background(), s, notationregistry.NewRepository(e.orasRepo()), notationgo.SignOptions{
			SignerSignOptions: notationgo.SignerSignOptions{SignatureMediaType: mediaType},
			ArtifactReference: e.ref("@" + subject.Digest.String()),
		})
		if err != nil {
			t.Fatalf("notation sign (%s): %v", mediaType, err)
		}
	}

	// The manifests are in the 1.3.x form.
	var found int
	err = e.orasRepo().Referrers(context.Background(), subject, "", func(refs []ocispec.Descriptor) error {
		for _, r := range refs {
			b, err := content.FetchAll(context.Background(), e.orasRepo(), r)
			if err != nil {
				return err
			}
			var m ocispec.Manifest
			if err := json.Unmarshal(b, &m); err != nil {
				return err
			}
			if m.ArtifactType == "" && m.Config.MediaType == artifact.ArtifactTypeNotation {
				found++
			}
		}
		return nil
	})
	if err != nil || found != 2 {
		t.Fatalf("notation pushed %d manifests in the 1.3.x form (err %v), want 2", found, err)
	}

	out := e.ok("discover", e.ref(":latest"), "--format", "json")
	if strings.Count(out, artifact.ArtifactTypeNotation) < 2 {
		t.Fatalf("discover does not list both notation signatures:\n%s", out)
	}
	out = e.ok("verify", e.ref(":latest"), "-c", crt)
	if !strings.Contains(out, "2 of 2 signature(s) valid") {
		t.Fatalf("verify:\n%s", out)
	}

	// The same with a notation trust policy and trust store.
	cfg := e.path("notation")
	store := filepath.Join(cfg, "truststore", "x509", "ca", "acme")
	if err := os.MkdirAll(store, 0o755); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(crt)
	if err := os.WriteFile(filepath.Join(store, "acme.crt"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	policy := filepath.Join(cfg, "trustpolicy.json")
	doc := `{"version":"1.0","trustPolicies":[{"name":"busybox","registryScopes":["` + e.ref("") + `"],"signatureVerification":{"level":"strict"},"trustStores":["ca:acme"],"trustedIdentities":["*"]}]}`
	if err := os.WriteFile(policy, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	out = e.ok("verify", e.ref(":latest"), "--trust-policy", policy, "--trust-store", filepath.Join(cfg, "truststore"))
	if !strings.Contains(out, "2 of 2 signature(s) valid") {
		t.Fatalf("verify --trust-policy:\n%s", out)
	}
	// A policy whose scope is another repository does not apply.
	doc = strings.Replace(doc, e.ref(""), e.host+"/other", 1)
	if err := os.WriteFile(policy, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := e.run("verify", e.ref(":latest"), "--trust-policy", policy, "--trust-store", cfg)
	wantRejected(t, "verify with an out-of-scope policy", 2, code, out, errOut,
		`artifact "`+e.ref("@"+subject.Digest.String())+`" has no applicable trust policy statement`)
}
