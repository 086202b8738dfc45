package verify

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content/oci"

	"github.com/signet-oci/signet/pkg/artifact"
	"github.com/signet-oci/signet/pkg/certgen"
	"github.com/signet-oci/signet/pkg/errdef"
	"github.com/signet-oci/signet/pkg/reference"
	"github.com/signet-oci/signet/pkg/signature"
	"github.com/signet-oci/signet/pkg/signature/jwt"
	"github.com/signet-oci/signet/pkg/signature/notation"
	"github.com/signet-oci/signet/pkg/signature/revocation"
)

// TestInSourceVerifiesSignaturesInALayout: signatures stored in an OCI
// layout directory (jwt and cose, as OCI 1.1 artifacts with subject) get
// the verdicts they get on a registry, read back from the directory.
func TestInSourceVerifiesSignaturesInALayout(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "lay")
	s, err := oci.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	push := func(mediaType string, b []byte) ocispec.Descriptor {
		d := ocispec.Descriptor{MediaType: mediaType, Digest: digest.FromBytes(b), Size: int64(len(b))}
		if ok, _ := s.Exists(ctx, d); !ok {
			if err := s.Push(ctx, d, bytes.NewReader(b)); err != nil {
				t.Fatal(err)
			}
		}
		return d
	}
	cfg := push(ocispec.MediaTypeImageConfig, []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`))
	m := ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest, Config: cfg, Layers: []ocispec.Descriptor{push(ocispec.MediaTypeImageLayer, []byte("layer"))}}
	m.SchemaVersion = 2
	mb, err := artifact.MarshalOCI(m)
	if err != nil {
		t.Fatal(err)
	}
	subject := push(ocispec.MediaTypeImageManifest, mb)
	if err := s.Tag(ctx, subject, "v1"); err != nil {
		t.Fatal(err)
	}
	ref, err := reference.Parse("oci-layout:" + dir + ":v1")
	if err != nil {
		t.Fatal(err)
	}
	open := func() *oci.ReadOnlyStore {
		r, err := oci.NewFromFS(ctx, os.DirFS(dir))
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	keyPEM, certPEM, err := certgen.Generate(certgen.Options{CommonName: "signer", KeyType: certgen.KeyECP256})
	if err != nil {
		t.Fatal(err)
	}
	key, _ := signature.ParsePrivateKeyPEM(keyPEM)
	certs, _ := signature.ParseCertificatesPEM(certPEM)
	trust := func(c []byte) Options {
		cs, err := signature.ParseCertificatesPEM(c)
		if err != nil {
			t.Fatal(err)
		}
		rc, err := revocation.New(revocation.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return Options{Trust: Trust{Certificates: cs, Revocation: rc}}
	}

	if _, err := InSource(ctx, open(), ref, trust(certPEM)); !errors.Is(err, errdef.ErrNotFound) {
		t.Fatalf("unsigned: %v; want not found", err)
	}

	tok, err := jwt.Sign(subject, jwt.SignOptions{Signer: key, Certificates: certs})
	if err != nil {
		t.Fatal(err)
	}
	cose, err := notation.Sign(ctx, subject, notation.SignOptions{Signer: key, Certificates: certs, Format: "cose"})
	if err != nil {
		t.Fatal(err)
	}
	push(artifact.EmptyConfig.MediaType, artifact.EmptyConfigData)
	for _, e := range []struct {
		at, mt string
		env    []byte
	}{{artifact.ArtifactTypeNotaryV2, artifact.MediaTypeJWT, tok}, {artifact.ArtifactTypeNotation, artifact.MediaTypeCOSE, cose}} {
		blob := push(e.mt, e.env)
		b, err := artifact.MarshalOCI(artifact.NewOCI(e.at, blob, subject, nil))
		if err != nil {
			t.Fatal(err)
		}
		push(ocispec.MediaTypeImageManifest, b)
	}

	rep, err := InSource(ctx, open(), ref, trust(certPEM))
	if err != nil || !rep.Verified || rep.Valid != 2 || rep.Subject.Digest != subject.Digest {
		t.Fatalf("report %+v, err %v; want 2 valid signatures", rep, err)
	}
	for _, v := range rep.Signatures {
		if len(v.Mechanisms) != 1 || v.Mechanisms[0] != "referrers" || !v.DigestVerified {
			t.Errorf("verdict %+v", v)
		}
	}
	_, otherPEM, err := certgen.Generate(certgen.Options{CommonName: "other", KeyType: certgen.KeyECP256})
	if err != nil {
		t.Fatal(err)
	}
	rep, err = InSource(ctx, open(), ref, trust(otherPEM))
	if !errors.Is(err, errdef.ErrVerification) || rep == nil || rep.Valid != 0 || len(rep.Signatures) != 2 {
		t.Errorf("untrusted: report %+v, err %v; want 2 invalid, a verification error", rep, err)
	}
}
