package verify_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/signet-oci/signet/internal/faultreg"
	"github.com/signet-oci/signet/internal/testimage"
	"github.com/signet-oci/signet/pkg/artifact"
	"github.com/signet-oci/signet/pkg/certgen"
	"github.com/signet-oci/signet/pkg/errdef"
	"github.com/signet-oci/signet/pkg/remote"
	"github.com/signet-oci/signet/pkg/signature"
	"github.com/signet-oci/signet/pkg/signature/notation"
	"github.com/signet-oci/signet/pkg/verify"
)

// TestIndexedTrustPolicyScope: with a notation trust policy, the statement
// that decides whether a platform manifest may be accepted through a
// signed index is the one for the manifest's repository (the help: "the
// trust policy's registryScopes select the statement by REFERENCE's
// registry/repository"), also when --index names an index in another
// repository. The index's signatures were judged by the index's own
// repository's statement: a signer trusted only for <host>/dev made
// <host>/prod's manifest verify through a dev index that lists it.
func TestIndexedTrustPolicyScope(t *testing.T) {
	srv := faultreg.New(t)
	devIdx := pushMulti(t, srv, "dev")
	pushMulti(t, srv, "prod")
	arm := testimage.NewMultiArch().ManifestDescriptor(1)

	// The dev signer signs the dev index (cose, referrers API).
	keyPEM, certPEM, err := certgen.Generate(certgen.Options{CommonName: "dev signer", Organization: []string{"Acme"}, Province: []string{"WA"}, Country: []string{"US"}, KeyType: certgen.KeyECP256})
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
	env, err := notation.Sign(context.Background(), devIdx, notation.SignOptions{Signer: key, Certificates: certs, Format: notation.FormatCOSE})
	if err != nil {
		t.Fatal(err)
	}
	blob := srv.PushBlob(t, "dev", artifact.BlobMediaType(notation.FormatCOSE), env)
	srv.PushBlob(t, "dev", ocispec.MediaTypeEmptyJSON, []byte("{}")) // the artifact's config
	m, err := artifact.MarshalOCI(artifact.NewOCI(artifact.ArtifactTypeNotation, blob, devIdx, nil))
	if err != nil {
		t.Fatal(err)
	}
	srv.PushManifest(t, "dev", "", ocispec.MediaTypeImageManifest, m)

	// Trust: the dev signer for <host>/dev; another CA for <host>/prod.
	_, otherPEM, err := certgen.Generate(certgen.Options{CommonName: "prod CA", KeyType: certgen.KeyECP256, IsCA: true})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for store, pem := range map[string][]byte{"dev": certPEM, "prod": otherPEM} {
		d := filepath.Join(dir, "x509", "ca", store)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, store+".pem"), pem, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	policy := filepath.Join(dir, "trustpolicy.json")
	doc := `{"version":"1.0","trustPolicies":[
	  {"name":"dev","registryScopes":["` + srv.Host + `/dev"],"signatureVerification":{"level":"strict"},"trustStores":["ca:dev"],"trustedIdentities":["*"]},
	  {"name":"prod","registryScopes":["` + srv.Host + `/prod"],"signatureVerification":{"level":"strict"},"trustStores":["ca:prod"],"trustedIdentities":["*"]}]}`
	if err := os.WriteFile(policy, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}

	check := func(manifestRepo string) (*verify.Report, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		return verify.Indexed(ctx, srv.Client(t, remote.Options{}), srv.Ref(t, "dev@"+devIdx.Digest.String()), verify.IndexOptions{
			Options:     verify.Options{Trust: verify.Trust{TrustPolicyFile: policy, TrustStoreDir: dir}},
			Manifest:    srv.Ref(t, manifestRepo+"@"+arm.Digest.String()),
			AcceptIndex: true,
		})
	}
	// Control: dev's manifest through dev's index, under dev's statement.
	if rep, err := check("dev"); err != nil || !rep.Verified || rep.ViaIndex == nil {
		t.Fatalf("dev manifest through the dev index: %v, %+v", err, rep)
	}
	// prod's manifest (the same digest) through dev's index: prod's
	// statement does not trust the dev signer.
	rep, err := check("prod")
	if !errors.Is(err, errdef.ErrVerification) || rep == nil || rep.Verified || len(rep.Signatures) != 1 || rep.Signatures[0].Class != notation.ClassUntrustedChain {
		t.Fatalf("prod manifest through the dev index: err %v, report %+v; want a verification failure, class %q", err, rep, notation.ClassUntrustedChain)
	}
}
