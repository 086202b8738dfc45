// Package artifact builds and recognises signature artifacts: the 2021
// prototype's artifact manifest (formats.md §3), OCI 1.1 image manifests with
// a subject (formats.md §5), and the Notary Project signature manifests that
// notation writes (formats.md §6). The embedded registry and the client side
// share these types.
package artifact

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/signet-oci/signet/pkg/manifest"
)

// Media and artifact types.
const (
	// MediaTypeArtifactManifest is the prototype's artifact manifest
	// (later reused, with another schema, by OCI 1.1 release candidates).
	MediaTypeArtifactManifest = "application/vnd.oci.artifact.manifest.v1+json"
	// ArtifactTypeNotaryV2 is the prototype's signature artifact type.
	ArtifactTypeNotaryV2 = "application/vnd.cncf.notary.v2"
	// MediaTypeJWT is the prototype's signature blob (the x509 JWT). signet
	// uses it for the JWT in both artifact formats.
	MediaTypeJWT = "application/vnd.cncf.notary.config.v2+jwt"

	// ArtifactTypeNotation marks Notary Project signatures (notation).
	ArtifactTypeNotation = "application/vnd.cncf.notary.signature"
	// MediaTypeJWS and MediaTypeCOSE are the Notary Project envelopes.
	MediaTypeJWS  = "application/jose+json"
	MediaTypeCOSE = "application/cose"
	// AnnotationThumbprints is notation's required chain-thumbprint annotation.
	AnnotationThumbprints = "io.cncf.notary.x509chain.thumbprint#S256"
)

// SignatureArtifactTypes returns the signature artifact types signet knows,
// the prototype's first: application/vnd.cncf.notary.v2 (the 2021
// prototype's, also signet's OCI form of the JWT) and
// application/vnd.cncf.notary.signature (Notary Project signatures).
func SignatureArtifactTypes() []string {
	return []string{ArtifactTypeNotaryV2, ArtifactTypeNotation}
}

// BlobMediaType is the media type of a signature envelope blob of the
// given format ("jwt", "jws" or "cose").
func BlobMediaType(format string) string {
	switch format {
	case "jws":
		return MediaTypeJWS
	case "cose":
		return MediaTypeCOSE
	}
	return MediaTypeJWT
}

// EmptyConfig is the OCI empty descriptor and its content, `{}`.
var (
	EmptyConfig = ocispec.Descriptor{
		MediaType: ocispec.MediaTypeEmptyJSON,
		Digest:    digest.Digest("sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"),
		Size:      2,
	}
	EmptyConfigData = []byte("{}")
)

// Descriptor is a prototype descriptor with the walkthrough's key order
// (mediaType, digest, size).
type Descriptor struct {
	MediaType string        `json:"mediaType,omitempty"`
	Digest    digest.Digest `json:"digest"`
	Size      int64         `json:"size"`
}

// OCI converts d to an OCI descriptor.
func (d Descriptor) OCI() ocispec.Descriptor {
	return ocispec.Descriptor{MediaType: d.MediaType, Digest: d.Digest, Size: d.Size}
}

// FromOCI converts an OCI descriptor to a prototype one.
func FromOCI(d ocispec.Descriptor) Descriptor {
	return Descriptor{MediaType: d.MediaType, Digest: d.Digest, Size: d.Size}
}

// PrototypeManifest is the prototype artifact manifest (formats.md §3).
type PrototypeManifest struct {
	SchemaVersion int               `json:"schemaVersion"`
	MediaType     string            `json:"mediaType"`
	ArtifactType  string            `json:"artifactType"`
	Config        *Descriptor       `json:"config,omitempty"`
	Blobs         []Descriptor      `json:"blobs,omitempty"`
	Manifests     []Descriptor      `json:"manifests,omitempty"`
	Annotations   map[string]string `json:"annotations,omitempty"`
}

// NewPrototype builds the walkthrough's artifact.json for a JWT signature
// blob and the manifest it signs.
func NewPrototype(signature, subject ocispec.Descriptor) PrototypeManifest {
	cfg := Descriptor{MediaType: MediaTypeJWT, Digest: signature.Digest, Size: signature.Size}
	return PrototypeManifest{
		SchemaVersion: 2,
		MediaType:     MediaTypeArtifactManifest,
		ArtifactType:  ArtifactTypeNotaryV2,
		Config:        &cfg,
		Manifests:     []Descriptor{FromOCI(subject)},
	}
}

// Marshal encodes m as the walkthrough's heredoc wrote artifact.json:
// two-space indent, keys in schema order, a final newline.
func (m PrototypeManifest) Marshal() ([]byte, error) {
	if m.SchemaVersion != 2 {
		return nil, errors.New("artifact manifest: schemaVersion must be 2")
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// NewOCI builds an OCI 1.1 image manifest with subject for a signature blob
// (formats.md §5): artifactType, the empty config, the blob as its one layer.
func NewOCI(artifactType string, blob, subject ocispec.Descriptor, annotations map[string]string) ocispec.Manifest {
	s := ocispec.Descriptor{MediaType: subject.MediaType, Digest: subject.Digest, Size: subject.Size}
	return ocispec.Manifest{
		Versioned:    specsVersioned,
		MediaType:    ocispec.MediaTypeImageManifest,
		ArtifactType: artifactType,
		Config:       EmptyConfig,
		Layers:       []ocispec.Descriptor{{MediaType: blob.MediaType, Digest: blob.Digest, Size: blob.Size}},
		Subject:      &s,
		Annotations:  annotations,
	}
}

// MarshalOCI encodes an OCI manifest compactly (as oras and notation do).
func MarshalOCI(m ocispec.Manifest) ([]byte, error) { return json.Marshal(m) }

// Kind names a recognised signature artifact form.
type Kind string

const (
	KindPrototype Kind = "prototype" // prototype artifact manifest with a JWT config
	KindOCIJWT    Kind = "oci-jwt"   // OCI 1.1 manifest carrying a prototype JWT
	KindNotation  Kind = "notation"  // Notary Project signature (JWS or COSE)
	KindOther     Kind = "other"     // some other artifact
)

// Signature is what a signature artifact carries.
type Signature struct {
	Kind Kind
	// Format is "jwt", "jws" or "cose".
	Format string
	// ArtifactType is the artifact's type (artifactType, or for older
	// writers config.mediaType).
	ArtifactType string
	// Blob is the signature envelope blob.
	Blob ocispec.Descriptor
	// Subjects are the manifests the artifact points at (subject, or the
	// prototype's manifests[]).
	Subjects []ocispec.Descriptor
	// Annotations of the manifest.
	Annotations map[string]string
}

// ErrNotSignature says an artifact is not a signature signet knows.
var ErrNotSignature = errors.New("not a signature artifact")

// MaxManifestSize bounds the manifests signet reads.
const MaxManifestSize = manifest.MaxManifestSize

// generic is a union of the manifest shapes signet reads.
type generic struct {
	SchemaVersion int                  `json:"schemaVersion"`
	MediaType     string               `json:"mediaType"`
	ArtifactType  string               `json:"artifactType"`
	Config        *ocispec.Descriptor  `json:"config"`
	Layers        []ocispec.Descriptor `json:"layers"`
	Blobs         []ocispec.Descriptor `json:"blobs"`
	Manifests     []ocispec.Descriptor `json:"manifests"`
	Subject       *ocispec.Descriptor  `json:"subject"`
	Annotations   map[string]string    `json:"annotations"`
}

// Parse recognises a signature artifact from its manifest bytes. mediaType
// is the media type the registry gave (it may be empty; the body's is used).
func Parse(mediaType string, manifest []byte) (*Signature, error) {
	if len(manifest) > MaxManifestSize {
		return nil, fmt.Errorf("manifest is %d bytes, over the %d limit", len(manifest), MaxManifestSize)
	}
	var g generic
	dec := json.NewDecoder(bytes.NewReader(manifest))
	if err := dec.Decode(&g); err != nil {
		return nil, fmt.Errorf("manifest is not valid JSON: %w", err)
	}
	if g.MediaType != "" {
		if mediaType != "" && mediaType != g.MediaType {
			return nil, fmt.Errorf("manifest says media type %s but was served as %s", g.MediaType, mediaType)
		}
		mediaType = g.MediaType
	}
	if g.SchemaVersion != 2 {
		return nil, fmt.Errorf("manifest schemaVersion is %d, want 2", g.SchemaVersion)
	}
	sig := &Signature{Kind: KindOther, ArtifactType: g.ArtifactType, Annotations: g.Annotations}
	isPrototype := mediaType == MediaTypeArtifactManifest && g.Manifests != nil && g.Subject == nil
	switch {
	case isPrototype:
		sig.Subjects = g.Manifests
		if g.Config != nil && g.Config.MediaType == MediaTypeJWT {
			sig.Kind, sig.Format, sig.Blob = KindPrototype, "jwt", *g.Config
		}
	case mediaType == ocispec.MediaTypeImageManifest || mediaType == MediaTypeArtifactManifest:
		// OCI 1.1 (or the 1.1 release candidates' artifact manifest,
		// which used blobs instead of layers).
		layers := g.Layers
		if mediaType == MediaTypeArtifactManifest {
			layers = g.Blobs
		}
		if g.Subject != nil {
			sig.Subjects = []ocispec.Descriptor{*g.Subject}
		}
		if sig.ArtifactType == "" && g.Config != nil && g.Config.MediaType != ocispec.MediaTypeEmptyJSON {
			sig.ArtifactType = g.Config.MediaType
		}
		if len(layers) == 1 {
			switch {
			case sig.ArtifactType == ArtifactTypeNotation && layers[0].MediaType == MediaTypeJWS:
				sig.Kind, sig.Format, sig.Blob = KindNotation, "jws", layers[0]
			case sig.ArtifactType == ArtifactTypeNotation && layers[0].MediaType == MediaTypeCOSE:
				sig.Kind, sig.Format, sig.Blob = KindNotation, "cose", layers[0]
			case sig.ArtifactType == ArtifactTypeNotaryV2 && layers[0].MediaType == MediaTypeJWT:
				sig.Kind, sig.Format, sig.Blob = KindOCIJWT, "jwt", layers[0]
			}
		}
	default:
		return sig, fmt.Errorf("media type %s: %w", mediaType, ErrNotSignature)
	}
	if sig.Kind == KindOther {
		return sig, ErrNotSignature
	}
	if err := sig.Blob.Digest.Validate(); err != nil {
		return nil, fmt.Errorf("signature blob digest: %w", err)
	}
	if sig.Blob.Size < 0 {
		return nil, errors.New("signature blob has a negative size")
	}
	return sig, nil
}

// Names reports whether the artifact names subject (by digest).
func (s *Signature) Names(subject digest.Digest) bool {
	for _, d := range s.Subjects {
		if d.Digest == subject {
			return true
		}
	}
	return false
}
