package verify_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http/httptest"
	"os"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content/oci"

	"github.com/signet-oci/signet/pkg/artifact"
	"github.com/signet-oci/signet/pkg/certgen"
	"github.com/signet-oci/signet/pkg/errdef"
	"github.com/signet-oci/signet/pkg/push"
	"github.com/signet-oci/signet/pkg/reference"
	"github.com/signet-oci/signet/pkg/registry"
	"github.com/signet-oci/signet/pkg/remote"
	"github.com/signet-oci/signet/pkg/signature"
	"github.com/signet-oci/signet/pkg/signature/jwt"
	"github.com/signet-oci/signet/pkg/signature/notation"
	"github.com/signet-oci/signet/pkg/verify"
)

// Verify an image's signatures in a registry, the work of `signet verify
// REFERENCE -c CERT`: push an image, sign it (`signet sign`), push the
// signature next to it (`signet push-signature`), then verify it against
// the signer's certificate and against a certificate that did not sign it.
// The registry is signet's embedded one, in-process; any registry works.
func Example() {
	ctx := context.Background()
	reg, err := registry.New(registry.Config{Memory: true})
	must(err)
	defer reg.Close()
	srv := httptest.NewServer(reg)
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")

	// One client for every registry call: credentials, TLS, timeouts,
	// retries (plain HTTP is automatic for a loopback host).
	client, err := remote.New(remote.Options{})
	must(err)
	ref, err := reference.Parse(host + "/demo/app:v1")
	must(err)

	// The image, pushed with oras-go through the client's repository.
	image := examplePushImage(ctx, client, ref)
	fmt.Println("image", image.Digest)

	// Sign it: a key and certificate from pkg/certgen, valid for the
	// registry's host (127.0.0.1), named by the signature.
	key, certs := exampleSigner("signer", net.IPv4(127, 0, 0, 1))
	token, err := jwt.Sign(image, jwt.SignOptions{Signer: key, Certificates: certs, References: []string{ref.String()}})
	must(err)

	// Push the signature next to the image. auto picks the artifact format
	// the registry supports (the embedded registry serves the prototype
	// links API; elsewhere an OCI 1.1 manifest with subject).
	res, err := push.Push(ctx, client, push.Request{
		Ref: ref, Signature: token, SignatureFormat: "jwt", Subject: image, Format: push.FormatAuto,
	})
	must(err)
	fmt.Println("pushed a", res.Format, "artifact, found through", res.Discovery)

	// Verify against the signer's certificate.
	report, err := verify.Remote(ctx, client, ref, verify.Options{Trust: verify.Trust{Certificates: certs}})
	must(err)
	for _, v := range report.Signatures {
		fmt.Printf("%s signature by %q: valid=%t, found by %v, revocation: %s\n", v.Format, v.Signer, v.Valid, v.Mechanisms, v.Revocation)
	}
	fmt.Printf("verified=%t (%d of %d valid)\n", report.Verified, report.Valid, len(report.Signatures))

	// Against another certificate: the signature is refused, with a
	// reason, and the error is errdef.ErrVerification (exit status 3).
	_, others := exampleSigner("someone else", net.IPv4(127, 0, 0, 1))
	report, err = verify.Remote(ctx, client, ref, verify.Options{Trust: verify.Trust{Certificates: others}})
	fmt.Println("untrusted:", errors.Is(err, errdef.ErrVerification), report.Signatures[0].Class)
	// Output:
	// image sha256:87e0b7cf8d16c74bb463b10a9d34bf136c80d3d736f37d855b5e05a97b456dae
	// pushed a prototype artifact, found through links
	// jwt signature by "CN=signer,O=Example,ST=WA,C=US": valid=true, found by [links], revocation: no revocation information
	// verified=true (1 of 1 valid)
	// untrusted: true untrusted chain
}

// examplePushImage pushes a one-config image to ref's repository under ref's tag.
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

// exampleSigner makes a P-256 key and a self-signed certificate for ips.
func exampleSigner(name string, ips ...net.IP) (crypto.Signer, []*x509.Certificate) {
	keyPEM, certPEM, err := certgen.Generate(certgen.Options{
		KeyType: certgen.KeyECP256, CommonName: name,
		Country: []string{"US"}, Province: []string{"WA"}, Organization: []string{"Example"},
		IPs: ips,
	})
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

// Envelope checks one signature held in memory (a file, `signet verify -f
// SIG -c CERT MANIFEST`) against the manifest it should sign: no registry.
func ExampleEnvelope() {
	key, certs := exampleSigner("signer")
	manifest := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}`)
	subject := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromBytes(manifest), Size: int64(len(manifest))}
	token, err := jwt.Sign(subject, jwt.SignOptions{Signer: key, Certificates: certs})
	must(err)

	v, err := verify.Envelope("jwt", token, subject, verify.Trust{Certificates: certs})
	must(err)
	fmt.Println(v.Valid, v.Signer)

	// The same signature against another manifest: the verdict says why
	// it is invalid, and the error is errdef.ErrVerification.
	other := subject
	other.Digest = digest.FromString("another manifest")
	v, err = verify.Envelope("jwt", token, other, verify.Trust{Certificates: certs})
	fmt.Println(v.Valid, v.Class, errors.Is(err, errdef.ErrVerification))
	fmt.Println(v.Reason)
	// Output:
	// true CN=signer,O=Example,ST=WA,C=US
	// false subject mismatch true
	// jwt signature: signed digest sha256:1ccb399e44f3e0ec86bb1a95031c6b9f81ac77860556a81a90acb79bab8005d9 differs from the manifest's sha256:e7b0c7ca59efa17fc92e5aafb66a8109dd8bac6baf3db6e56c926dfa263ec1ea
}

// The same with a Notary Project signature (COSE here; "jws" works alike),
// made with notation-go through pkg/signature/notation: it travels as an
// OCI 1.1 manifest with subject, and verify checks it with notation-go's
// verifier, the -c certificates forming an in-memory trust policy.
// Identities narrows the trusted signers, as notation's trustedIdentities.
func ExampleRemote_notation() {
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

	key, certs := exampleSigner("signer")
	envelope, err := notation.Sign(ctx, image, notation.SignOptions{
		Signer: key, Certificates: certs, Format: notation.FormatCOSE,
		UserMetadata: map[string]string{"build": "42"},
	})
	must(err)
	res, err := push.Push(ctx, client, push.Request{Ref: ref, Signature: envelope, SignatureFormat: notation.FormatCOSE, Subject: image})
	must(err)
	fmt.Println("pushed a", res.Format, "artifact, found through", res.Discovery)

	for _, identity := range []string{"C=US, ST=WA, O=Example, CN=signer", "C=US, ST=WA, O=Other"} {
		report, err := verify.Remote(ctx, client, ref, verify.Options{Trust: verify.Trust{Certificates: certs, Identities: []string{identity}}})
		v := report.Signatures[0]
		fmt.Printf("%q: %s valid=%t class=%q metadata=%v error=%t\n", identity, v.Format, v.Valid, v.Class, v.UserMetadata, err != nil)
	}
	// Output:
	// pushed a oci artifact, found through referrers
	// "C=US, ST=WA, O=Example, CN=signer": cose valid=true class="" metadata=map[build:42] error=false
	// "C=US, ST=WA, O=Other": cose valid=false class="identity" metadata=map[] error=true
}

// Offline: verify an image's signature stored in an OCI image layout, with
// no registry. The layout is written here with oras-go's oci.Store (the
// signature as an OCI 1.1 manifest with subject, built by
// push.BuildArtifact); InSource finds it through the store's
// predecessors, as `signet verify oci-layout:DIR:v1` does. (signet
// push-signature writes into a layout its own way, index.json last,
// atomically and under a lock; that writer is not public yet.)
func ExampleInSource() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "signet-example-layout")
	must(err)
	defer os.RemoveAll(dir)
	store, err := oci.New(dir)
	must(err)

	config, err := oras.PushBytes(ctx, store, ocispec.MediaTypeImageConfig, []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`))
	must(err)
	image, err := oras.PackManifest(ctx, store, oras.PackManifestVersion1_1, "", oras.PackManifestOptions{
		ConfigDescriptor:    &config,
		ManifestAnnotations: map[string]string{ocispec.AnnotationCreated: "2026-01-01T00:00:00Z"},
	})
	must(err)
	must(store.Tag(ctx, image, "v1"))

	key, certs := exampleSigner("signer")
	token, err := jwt.Sign(image, jwt.SignOptions{Signer: key, Certificates: certs})
	must(err)
	manifest, mediaType, err := push.BuildArtifact(push.FormatOCI, token, "jwt", image, nil)
	must(err)
	for _, b := range []struct {
		desc ocispec.Descriptor
		data []byte
	}{
		{ocispec.Descriptor{MediaType: artifact.BlobMediaType("jwt"), Digest: digest.FromBytes(token), Size: int64(len(token))}, token},
		{artifact.EmptyConfig, artifact.EmptyConfigData},
		{ocispec.Descriptor{MediaType: mediaType, Digest: digest.FromBytes(manifest), Size: int64(len(manifest))}, manifest},
	} {
		if ok, err := store.Exists(ctx, b.desc); err != nil || ok {
			must(err)
			continue // the {} blob: the image has it already
		}
		must(store.Push(ctx, b.desc, bytes.NewReader(b.data)))
	}

	ref, err := reference.Parse("oci-layout:" + dir + ":v1")
	must(err)
	report, err := verify.InSource(ctx, store, ref, verify.Options{Trust: verify.Trust{Certificates: certs}})
	must(err)
	v := report.Signatures[0]
	fmt.Println(report.Subject.Digest == image.Digest, v.Format, v.Valid, v.Mechanisms)
	// Output:
	// true jwt true [referrers]
}
