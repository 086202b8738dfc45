package discover_test

import (
	"context"
	"crypto"
	"crypto/x509"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"

	"github.com/signet-oci/signet/pkg/certgen"
	"github.com/signet-oci/signet/pkg/discover"
	"github.com/signet-oci/signet/pkg/push"
	"github.com/signet-oci/signet/pkg/reference"
	"github.com/signet-oci/signet/pkg/registry"
	"github.com/signet-oci/signet/pkg/remote"
	"github.com/signet-oci/signet/pkg/signature"
	"github.com/signet-oci/signet/pkg/signature/jwt"
)

// List an image's signatures, the work of `signet discover REFERENCE`: the
// image has two signatures, one in the 2021 prototype's artifact format
// (found through the links API) and one as an OCI 1.1 manifest with
// subject (found through the referrers API). Discover asks every mechanism
// the registry serves and merges the answers; Signatures fetches each
// envelope, digest-checked, without judging it (pkg/verify does that).
func Example() {
	ctx := context.Background()
	reg, err := registry.New(registry.Config{Memory: true})
	must(err)
	defer reg.Close()
	srv := httptest.NewServer(reg)
	defer srv.Close()

	client, err := remote.New(remote.Options{})
	must(err)
	ref, err := reference.Parse(strings.TrimPrefix(srv.URL, "http://") + "/demo/app:v1")
	must(err)
	image := examplePushImage(ctx, client, ref)
	key, certs := exampleSigner()
	for _, format := range []string{push.FormatPrototype, push.FormatOCI} {
		token, err := jwt.Sign(image, jwt.SignOptions{Signer: key, Certificates: certs})
		must(err)
		_, err = push.Push(ctx, client, push.Request{Ref: ref, Signature: token, SignatureFormat: "jwt", Subject: image, Format: format})
		must(err)
	}

	d, err := discover.New(client, ref, discover.Options{})
	must(err)
	graph, err := d.Discover(ctx)
	must(err)
	fmt.Println("subject", graph.Subject.Digest)
	fmt.Println("links:", graph.Mechanisms[discover.Links], "referrers:", graph.Mechanisms[discover.Referrers])
	var lines []string
	for _, n := range graph.Referrers {
		lines = append(lines, fmt.Sprintf("%s %s found by %v", n.MediaType, n.ArtifactType, n.Mechanisms))
	}
	slices.Sort(lines) // the order of the graph is the digests'
	for _, l := range lines {
		fmt.Println(l)
	}

	found, warnings, err := d.Signatures(ctx, graph.Subject, discover.SignatureOptions{})
	must(err)
	for _, f := range found {
		_, claims, err := jwt.Parse(f.Envelope)
		must(err)
		fmt.Println(f.Signature.Format, "signature of", claims.Digest == image.Digest.String(), "fetched:", f.Err == nil)
	}
	fmt.Println(len(found), "signatures,", len(warnings), "warnings")
	// Output:
	// subject sha256:87e0b7cf8d16c74bb463b10a9d34bf136c80d3d736f37d855b5e05a97b456dae
	// links: used referrers: used
	// application/vnd.oci.artifact.manifest.v1+json application/vnd.cncf.notary.v2 found by [links]
	// application/vnd.oci.image.manifest.v1+json application/vnd.cncf.notary.v2 found by [referrers]
	// jwt signature of true fetched: true
	// jwt signature of true fetched: true
	// 2 signatures, 0 warnings
}

// examplePushImage pushes a one-config image to ref's repository under
// ref's tag.
func examplePushImage(ctx context.Context, client *remote.Client, ref reference.Reference) ocispec.Descriptor {
	repo, err := client.Repository(ref)
	must(err)
	config, err := oras.PushBytes(ctx, repo, ocispec.MediaTypeImageConfig, []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`))
	must(err)
	image, err := oras.PackManifest(ctx, repo, oras.PackManifestVersion1_1, "", oras.PackManifestOptions{
		ConfigDescriptor:    &config,
		ManifestAnnotations: map[string]string{ocispec.AnnotationCreated: "2026-01-01T00:00:00Z"},
	})
	must(err)
	must(repo.Tag(ctx, image, ref.Tag))
	return image
}

// exampleSigner makes a P-256 key and a self-signed certificate.
func exampleSigner() (crypto.Signer, []*x509.Certificate) {
	keyPEM, certPEM, err := certgen.Generate(certgen.Options{KeyType: certgen.KeyECP256, CommonName: "signer"})
	must(err)
	key, err := signature.ParsePrivateKeyPEM(keyPEM)
	must(err)
	certs, err := signature.ParseCertificatesPEM(certPEM)
	must(err)
	return key, certs
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}
