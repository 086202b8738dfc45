package push_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"

	"github.com/signet-oci/signet/pkg/certgen"
	"github.com/signet-oci/signet/pkg/push"
	"github.com/signet-oci/signet/pkg/reference"
	"github.com/signet-oci/signet/pkg/registry"
	"github.com/signet-oci/signet/pkg/remote"
	"github.com/signet-oci/signet/pkg/signature"
	"github.com/signet-oci/signet/pkg/signature/jwt"
)

// Push a signature next to the image it signs, as `signet push-signature`
// does, on three kinds of registry: one serving the 2021 prototype's links
// API (auto picks the prototype artifact), one with only the OCI 1.1
// referrers API, and one with neither, like distribution v3, where signet
// keeps the sha256-<hex> tag fallback index itself.
func ExamplePush() {
	ctx := context.Background()
	keyPEM, certPEM, err := certgen.Generate(certgen.Options{KeyType: certgen.KeyECP256, CommonName: "signer"})
	must(err)
	key, err := signature.ParsePrivateKeyPEM(keyPEM)
	must(err)
	certs, err := signature.ParseCertificatesPEM(certPEM)
	must(err)
	client, err := remote.New(remote.Options{})
	must(err)

	for _, cfg := range []registry.Config{
		{Memory: true},
		{Memory: true, DisableLinks: true},
		{Memory: true, DisableLinks: true, DisableReferrersAPI: true},
	} {
		reg, err := registry.New(cfg)
		must(err)
		srv := httptest.NewServer(reg)
		ref, err := reference.Parse(strings.TrimPrefix(srv.URL, "http://") + "/demo/app:v1")
		must(err)

		// The image: an OCI manifest with one config, pushed with oras-go.
		repo, err := client.Repository(ref)
		must(err)
		config, err := oras.PushBytes(ctx, repo, ocispec.MediaTypeImageConfig, []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`))
		must(err)
		image, err := oras.PackManifest(ctx, repo, oras.PackManifestVersion1_1, "", oras.PackManifestOptions{
			ConfigDescriptor: &config, ManifestAnnotations: map[string]string{ocispec.AnnotationCreated: "2026-01-01T00:00:00Z"},
		})
		must(err)

		token, err := jwt.Sign(image, jwt.SignOptions{Signer: key, Certificates: certs})
		must(err)
		res, err := push.Push(ctx, client, push.Request{
			Ref: ref, Signature: token, SignatureFormat: "jwt", Subject: image, Format: push.FormatAuto,
		})
		must(err)
		fmt.Printf("%s artifact (%s), found through %s; blob uploaded: %t\n", res.Format, res.Artifact.MediaType, res.Discovery, res.SignatureUploaded)

		srv.Close()
		must(reg.Close())
	}
	// Output:
	// prototype artifact (application/vnd.oci.artifact.manifest.v1+json), found through links; blob uploaded: true
	// oci artifact (application/vnd.oci.image.manifest.v1+json), found through referrers; blob uploaded: true
	// oci artifact (application/vnd.oci.image.manifest.v1+json), found through tag-fallback; blob uploaded: true
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}
