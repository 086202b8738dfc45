package artifact

import (
	"errors"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// TestParseNotationForms recognises both Notary Project manifest forms
// (formats.md §6): artifactType with the empty config, and notation
// 1.3.x's config.mediaType without artifactType.
func TestParseNotationForms(t *testing.T) {
	subject := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromString("m"), Size: 10}
	for _, tc := range []struct {
		format, mediaType string
	}{{"jws", MediaTypeJWS}, {"cose", MediaTypeCOSE}} {
		blob := ocispec.Descriptor{MediaType: tc.mediaType, Digest: digest.FromString("sig"), Size: 3}
		current := NewOCI(ArtifactTypeNotation, blob, subject, map[string]string{AnnotationThumbprints: `["aa"]`})
		legacy := current
		legacy.ArtifactType = ""
		legacy.Config = ocispec.Descriptor{MediaType: ArtifactTypeNotation, Digest: EmptyConfig.Digest, Size: 2}
		for name, m := range map[string]ocispec.Manifest{"artifactType": current, "config.mediaType": legacy} {
			b, err := MarshalOCI(m)
			if err != nil {
				t.Fatal(err)
			}
			sig, err := Parse(ocispec.MediaTypeImageManifest, b)
			if err != nil {
				t.Fatalf("%s/%s: %v", tc.format, name, err)
			}
			if sig.Kind != KindNotation || sig.Format != tc.format || sig.ArtifactType != ArtifactTypeNotation ||
				sig.Blob.Digest != blob.Digest || !sig.Names(subject.Digest) || sig.Annotations[AnnotationThumbprints] == "" {
				t.Errorf("%s/%s: parsed %+v", tc.format, name, sig)
			}
		}
		// A JWS layer under the prototype's artifact type is not a
		// Notary Project signature.
		odd := NewOCI(ArtifactTypeNotaryV2, blob, subject, nil)
		b, _ := MarshalOCI(odd)
		if sig, err := Parse("", b); !errors.Is(err, ErrNotSignature) {
			t.Errorf("%s layer with artifactType %s: parsed as %+v, err %v; want ErrNotSignature", tc.format, ArtifactTypeNotaryV2, sig, err)
		}
	}
}
