package artifact_test

import (
	"errors"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/signet-oci/signet/pkg/artifact"
)

// FuzzParse: Parse never panics; what it accepts is a signature of a known
// kind and format with a valid blob digest and a non-negative size; what it
// refuses is an error (ErrNotSignature with a non-nil *Signature, or
// another error with none).
func FuzzParse(f *testing.F) {
	subject := ocispec.Descriptor{MediaType: "application/vnd.docker.distribution.manifest.v2+json", Digest: digest.FromString("subject"), Size: 730}
	blob := ocispec.Descriptor{MediaType: artifact.MediaTypeJWT, Digest: digest.FromString("jwt"), Size: 900}
	oci, _ := artifact.MarshalOCI(artifact.NewOCI(artifact.ArtifactTypeNotaryV2, blob, subject, map[string]string{"a": "b"}))
	proto, _ := artifact.NewPrototype(blob, subject).Marshal()
	jws := artifact.NewOCI(artifact.ArtifactTypeNotation, ocispec.Descriptor{MediaType: artifact.MediaTypeJWS, Digest: digest.FromString("jws"), Size: 10}, subject, nil)
	jwsb, _ := artifact.MarshalOCI(jws)
	for _, s := range []struct {
		mt string
		b  []byte
	}{
		{ocispec.MediaTypeImageManifest, oci}, {"", oci}, {artifact.MediaTypeArtifactManifest, proto}, {"", proto}, {"", jwsb},
		{artifact.MediaTypeArtifactManifest, oci}, {"", []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}`)},
		{"", []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.artifact.manifest.v1+json","artifactType":"application/vnd.cncf.notary.v2","blobs":[{"mediaType":"application/vnd.cncf.notary.config.v2+jwt","digest":"sha256:` + digest.FromString("x").Encoded() + `","size":-1}]}`)},
		{"", []byte(`{}`)}, {"", []byte(`null`)}, {"", []byte(`{"schemaVersion":2}{"x":1}`)},
	} {
		f.Add(s.mt, s.b)
	}
	f.Fuzz(func(t *testing.T, mediaType string, manifest []byte) {
		sig, err := artifact.Parse(mediaType, manifest)
		if err != nil {
			if errors.Is(err, artifact.ErrNotSignature) {
				if sig == nil {
					t.Fatal("ErrNotSignature without a *Signature")
				}
				return
			}
			if sig != nil && sig.Kind != artifact.KindOther {
				t.Fatalf("error %v with a signature of kind %s", err, sig.Kind)
			}
			return
		}
		if len(manifest) > artifact.MaxManifestSize {
			t.Fatal("accepted an oversized manifest")
		}
		switch {
		case sig.Kind == artifact.KindPrototype && sig.Format == "jwt",
			sig.Kind == artifact.KindOCIJWT && sig.Format == "jwt",
			sig.Kind == artifact.KindNotation && (sig.Format == "jws" || sig.Format == "cose"):
		default:
			t.Fatalf("accepted kind %q format %q", sig.Kind, sig.Format)
		}
		if sig.Blob.Digest.Validate() != nil || sig.Blob.Size < 0 {
			t.Fatalf("accepted blob %+v", sig.Blob)
		}
		for _, s := range sig.Subjects {
			_ = sig.Names(s.Digest)
		}
	})
}
