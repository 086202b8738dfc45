package push

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content/oci"

	"github.com/signet-oci/signet/internal/testimage"
	"github.com/signet-oci/signet/pkg/artifact"
	"github.com/signet-oci/signet/pkg/certgen"
	"github.com/signet-oci/signet/pkg/discover"
	"github.com/signet-oci/signet/pkg/errdef"
	"github.com/signet-oci/signet/pkg/reference"
	"github.com/signet-oci/signet/pkg/signature"
	"github.com/signet-oci/signet/pkg/signature/notation"
)

// testLayout writes the test image as an OCI layout (tag latest) and
// returns its directory, its reference and the image's descriptor.
func testLayout(t *testing.T) (string, reference.Reference, ocispec.Descriptor) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "lay")
	if err := testimage.WriteOCILayout(dir); err != nil {
		t.Fatal(err)
	}
	ref, err := reference.Parse("oci-layout:" + dir + ":latest")
	if err != nil {
		t.Fatal(err)
	}
	s, err := oci.NewFromFS(context.Background(), os.DirFS(dir))
	if err != nil {
		t.Fatal(err)
	}
	desc, err := s.Resolve(context.Background(), "latest")
	if err != nil {
		t.Fatal(err)
	}
	return dir, ref, ocispec.Descriptor{MediaType: desc.MediaType, Digest: desc.Digest, Size: desc.Size}
}

func blobPath(dir string, d digest.Digest) string {
	return filepath.Join(dir, "blobs", d.Algorithm().String(), d.Encoded())
}

// signaturesIn discovers the signatures in dir afresh, read only, as a
// later process does.
func signaturesIn(t *testing.T, ref reference.Reference) []*discover.Found {
	t.Helper()
	s, err := oci.NewFromFS(context.Background(), os.DirFS(ref.Path))
	if err != nil {
		t.Fatal(err)
	}
	d, err := discover.NewSource(s, ref, discover.Options{Depth: 1})
	if err != nil {
		t.Fatal(err)
	}
	subject, err := d.Resolve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	found, _, err := d.Signatures(context.Background(), subject, discover.SignatureOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

func TestLayoutStoresAReferrerAnotherProcessFinds(t *testing.T) {
	ctx := context.Background()
	dir, ref, subject := testLayout(t)
	store, err := OpenLayout(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	sig := []byte("header.claims.signature")
	res, err := Layout(ctx, store, Request{Ref: ref, Signature: sig, SignatureFormat: "jwt", Subject: subject, Format: FormatAuto})
	if err != nil {
		t.Fatal(err)
	}
	if res.Format != FormatOCI || res.Discovery != "referrers" || !res.SignatureUploaded || len(res.Warnings) != 1 {
		t.Errorf("result %+v; want an oci artifact found through referrers, the blob written, and a note on the format", res)
	}
	if res.Reference != "oci-layout:"+dir+"@"+res.Artifact.Digest.String() {
		t.Errorf("reference %s", res.Reference)
	}
	b, err := os.ReadFile(blobPath(dir, res.Artifact.Digest))
	if err != nil {
		t.Fatal(err)
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(b, &m); err != nil || m.Subject == nil || m.Subject.Digest != subject.Digest || m.ArtifactType != artifact.ArtifactTypeNotaryV2 {
		t.Fatalf("stored manifest %s (err %v): want an OCI 1.1 artifact with subject %s", b, err, subject.Digest)
	}

	// index.json lists it, untagged, next to the tagged image.
	before, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	var index ocispec.Index
	if err := json.Unmarshal(before, &index); err != nil {
		t.Fatal(err)
	}
	// The test layout holds two tagged images (latest, oci).
	last := len(index.Manifests) - 1
	if len(index.Manifests) != 3 || index.Manifests[0].Annotations[ocispec.AnnotationRefName] != "latest" ||
		index.Manifests[last].Digest != res.Artifact.Digest || index.Manifests[last].Annotations[ocispec.AnnotationRefName] != "" {
		t.Fatalf("index.json %s: want the tagged images as they were, then the untagged artifact", before)
	}
	found := signaturesIn(t, ref)
	if len(found) != 1 || found[0].Artifact.Digest != res.Artifact.Digest || string(found[0].Envelope) != string(sig) {
		t.Fatalf("a fresh read of the layout found %d signatures; want the one stored", len(found))
	}

	// Again: nothing changes.
	store, err = OpenLayout(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	res2, err := Layout(ctx, store, Request{Ref: ref, Signature: sig, SignatureFormat: "jwt", Subject: subject, Format: FormatOCI})
	if err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, "index.json"))
	if res2.SignatureUploaded || res2.Artifact.Digest != res.Artifact.Digest || string(after) != string(before) || len(res2.Warnings) != 0 {
		t.Errorf("second push: %+v; index.json changed: %v", res2, string(after) != string(before))
	}
}

func TestLayoutFailureLeavesTheLayoutAsItWas(t *testing.T) {
	ctx := context.Background()
	dir, ref, subject := testLayout(t)
	store, err := OpenLayout(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	// index.json turns unreadable between opening and the push's last
	// step (another writer, a full disk): the push fails after writing its
	// blobs, which it removes again; index.json is left as it is.
	broken := []byte(`{"schemaVersion":2,"manifests":`)
	if err := os.WriteFile(filepath.Join(dir, "index.json"), broken, 0o644); err != nil {
		t.Fatal(err)
	}
	sig := []byte("header.claims.signature")
	_, err = Layout(ctx, store, Request{Ref: ref, Signature: sig, SignatureFormat: "jwt", Subject: subject})
	if err == nil {
		t.Fatal("push into a layout with a broken index.json succeeded")
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "index.json")); string(b) != string(broken) {
		t.Errorf("index.json changed to %s", b)
	}
	if _, err := os.Stat(blobPath(dir, digest.FromBytes(sig))); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the signature blob written by the failed push is left: %v", err)
	}
	if _, err := os.Stat(blobPath(dir, artifact.EmptyConfig.Digest)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the config blob written by the failed push is left: %v", err)
	}
	left, _ := filepath.Glob(filepath.Join(dir, ".index.json.tmp-*"))
	if len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

func TestLayoutRefusesPrototypeArtifacts(t *testing.T) {
	ctx := context.Background()
	dir, ref, subject := testLayout(t)
	store, err := OpenLayout(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(dir, "index.json"))
	sig := []byte("header.claims.signature")
	_, err = Layout(ctx, store, Request{Ref: ref, Signature: sig, SignatureFormat: "jwt", Subject: subject, Format: FormatPrototype})
	if !errors.Is(err, errdef.ErrUsage) || !errors.Is(err, ErrPrototypeInLayout) {
		t.Errorf("--artifact-format prototype: %v; want the usage error naming --artifact-format oci", err)
	}
	proto, _, err := BuildArtifact(FormatPrototype, sig, "jwt", subject, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Layout(ctx, store, Request{Ref: ref, Signature: sig, SignatureFormat: "jwt", Subject: subject, Artifact: proto})
	if !errors.Is(err, errdef.ErrUsage) || !errors.Is(err, ErrPrototypeInLayout) {
		t.Errorf("a prebuilt prototype artifact: %v; want a usage error", err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, "index.json"))
	if string(after) != string(before) {
		t.Error("a refused push changed index.json")
	}
	if _, err := os.Stat(blobPath(dir, digest.FromBytes(sig))); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused push wrote the signature blob: %v", err)
	}
}

// TestLayoutNotaryEnvelopesInNotationsForm: a jws or cose signature is
// stored as notation stores one in a layout (config media type
// application/vnd.cncf.notary.signature, which notation-go v1.3 looks for
// there) and keeps its artifactType for registries' referrers API.
func TestLayoutNotaryEnvelopesInNotationsForm(t *testing.T) {
	ctx := context.Background()
	dir, ref, subject := testLayout(t)
	keyPEM, certPEM, err := certgen.Generate(certgen.Options{CommonName: "signer", KeyType: certgen.KeyECP256})
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
	env, err := notation.Sign(ctx, subject, notation.SignOptions{Signer: key, Certificates: certs, Format: "cose"})
	if err != nil {
		t.Fatal(err)
	}
	store, err := OpenLayout(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Layout(ctx, store, Request{Ref: ref, Signature: env, SignatureFormat: "cose", Subject: subject})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Warnings) != 0 {
		t.Errorf("warnings %q: a Notary envelope is always an OCI artifact", res.Warnings)
	}
	b, err := os.ReadFile(blobPath(dir, res.Artifact.Digest))
	if err != nil {
		t.Fatal(err)
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if m.Config.MediaType != artifact.ArtifactTypeNotation || m.Config.Digest != artifact.EmptyConfig.Digest || m.ArtifactType != artifact.ArtifactTypeNotation ||
		m.Annotations["io.cncf.notary.x509chain.thumbprint#S256"] == "" {
		t.Errorf("stored manifest %s", b)
	}
	found := signaturesIn(t, ref)
	if len(found) != 1 || found[0].Err != nil || found[0].Signature.Format != "cose" {
		t.Fatalf("found %+v", found)
	}
}

// TestLayoutConcurrentPushesKeepEveryEntry: signers storing signatures in
// one layout at once (each with its own store, as separate processes)
// keep each other's index.json entries.
func TestLayoutConcurrentPushesKeepEveryEntry(t *testing.T) {
	ctx := context.Background()
	dir, ref, subject := testLayout(t)
	const n = 16
	errs := make(chan error, n)
	for i := range n {
		go func() {
			store, err := OpenLayout(ctx, dir)
			if err == nil {
				sig := []byte(fmt.Sprintf("header.claims.signature-%d", i))
				_, err = Layout(ctx, store, Request{Ref: ref, Signature: sig, SignatureFormat: "jwt", Subject: subject, Format: FormatOCI})
			}
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if found := signaturesIn(t, ref); len(found) != n {
		t.Errorf("%d signatures in the layout after %d concurrent pushes", len(found), n)
	}
}
