// Package manifest holds signet's knowledge of image manifest encodings:
// the media types it recognises, the exact byte encoding that the 2021
// prototype tool docker-generate v0.1.0 printed (see
// /work/shared/spec/formats.md §1), and a bounded, verified way to read a
// manifest from any oras-go content store.
package manifest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"
)

// Media types signet reads and writes.
const (
	// MediaTypeDockerManifest is the Docker image manifest, schema 2.
	MediaTypeDockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
	// MediaTypeDockerManifestList is the Docker manifest list (multi-platform).
	MediaTypeDockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
	// MediaTypeDockerConfig is the Docker image configuration.
	MediaTypeDockerConfig = "application/vnd.docker.container.image.v1+json"
	// MediaTypeDockerLayer is a gzip-compressed Docker layer.
	MediaTypeDockerLayer = "application/vnd.docker.image.rootfs.diff.tar.gzip"

	// MediaTypeOCIManifest is the OCI image manifest.
	MediaTypeOCIManifest = ocispec.MediaTypeImageManifest
	// MediaTypeOCIIndex is the OCI image index.
	MediaTypeOCIIndex = ocispec.MediaTypeImageIndex
	// MediaTypeOCIConfig is the OCI image configuration.
	MediaTypeOCIConfig = ocispec.MediaTypeImageConfig
	// MediaTypeOCILayer is an uncompressed OCI layer (what Docker 25+
	// `docker save` writes).
	MediaTypeOCILayer = ocispec.MediaTypeImageLayer
	// MediaTypeOCILayerGzip is a gzip-compressed OCI layer.
	MediaTypeOCILayerGzip = ocispec.MediaTypeImageLayerGzip
	// MediaTypeOCIEmpty is the media type of the OCI empty descriptor.
	MediaTypeOCIEmpty = ocispec.MediaTypeEmptyJSON
)

// EmptyJSON is the content of the OCI empty descriptor, `{}`.
var EmptyJSON = []byte("{}")

// EmptyDescriptor is the OCI empty descriptor
// (formats.md §5): media type application/vnd.oci.empty.v1+json,
// content `{}`.
var EmptyDescriptor = ocispec.Descriptor{
	MediaType: MediaTypeOCIEmpty,
	Digest:    "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
	Size:      2,
}

// MaxManifestSize bounds every manifest or index signet reads into memory
// (4 MiB, the limit most registries apply).
const MaxManifestSize = 4 << 20

// Descriptor is a content descriptor as docker-generate encoded it: the
// fields and their order are fixed (mediaType, size, digest).
type Descriptor struct {
	MediaType string        `json:"mediaType"`
	Size      int64         `json:"size"`
	Digest    digest.Digest `json:"digest"`
}

// DockerManifest is a Docker schema 2 image manifest as docker-generate
// encoded it (key order schemaVersion, mediaType, config, layers).
type DockerManifest struct {
	SchemaVersion int          `json:"schemaVersion"`
	MediaType     string       `json:"mediaType"`
	Config        Descriptor   `json:"config"`
	Layers        []Descriptor `json:"layers"`
}

// ErrEmptyDescriptor is returned when asked to encode a descriptor with no
// media type or no digest — the output that docker-generate printed as `{}`
// for Docker 25+ archives (formats.md §1), which signet never produces.
var ErrEmptyDescriptor = errors.New("empty descriptor")

// MarshalDockerGenerate encodes m exactly as docker-generate v0.1.0 printed
// it (formats.md §1): json.MarshalIndent with a three-space indent and no
// trailing newline. It refuses a manifest with an empty config or layer
// descriptor, or with no layers.
func MarshalDockerGenerate(m DockerManifest) ([]byte, error) {
	if m.SchemaVersion != 2 {
		return nil, fmt.Errorf("docker manifest: schemaVersion %d, want 2", m.SchemaVersion)
	}
	if m.MediaType == "" {
		return nil, fmt.Errorf("docker manifest: no mediaType")
	}
	if err := checkDescriptor("config", m.Config); err != nil {
		return nil, err
	}
	if len(m.Layers) == 0 {
		return nil, fmt.Errorf("docker manifest: no layers")
	}
	for i, l := range m.Layers {
		if err := checkDescriptor(fmt.Sprintf("layers[%d]", i), l); err != nil {
			return nil, err
		}
	}
	return json.MarshalIndent(m, "", "   ")
}

func checkDescriptor(field string, d Descriptor) error {
	if d.MediaType == "" || d.Digest == "" {
		return fmt.Errorf("docker manifest: %s: %w", field, ErrEmptyDescriptor)
	}
	if err := d.Digest.Validate(); err != nil {
		return fmt.Errorf("docker manifest: %s: digest %q: %w", field, d.Digest, err)
	}
	if d.Size < 0 {
		return fmt.Errorf("docker manifest: %s: negative size %d", field, d.Size)
	}
	return nil
}

// MediaTypeOf returns the media type of a manifest or index: its
// `mediaType` field when present; otherwise it sniffs the OCI shape (an
// object with `config` and `layers` is an OCI image manifest, one with
// `manifests` is an OCI image index).
func MediaTypeOf(manifest []byte) (string, error) {
	var probe struct {
		MediaType string           `json:"mediaType"`
		Config    *json.RawMessage `json:"config"`
		Layers    *json.RawMessage `json:"layers"`
		Manifests *json.RawMessage `json:"manifests"`
	}
	if err := json.Unmarshal(manifest, &probe); err != nil {
		return "", fmt.Errorf("manifest is not a JSON object: %w", err)
	}
	switch {
	case probe.MediaType != "":
		return probe.MediaType, nil
	case probe.Manifests != nil && probe.Config == nil && probe.Layers == nil:
		return MediaTypeOCIIndex, nil
	case probe.Config != nil && probe.Layers != nil && probe.Manifests == nil:
		return MediaTypeOCIManifest, nil
	}
	return "", fmt.Errorf("manifest has no mediaType and is neither an image manifest nor an index")
}

// IsManifest reports whether mediaType is a single-image manifest type
// (Docker schema 2 or OCI).
func IsManifest(mediaType string) bool {
	return mediaType == MediaTypeDockerManifest || mediaType == MediaTypeOCIManifest
}

// IsIndex reports whether mediaType is a multi-image type (Docker manifest
// list or OCI index).
func IsIndex(mediaType string) bool {
	return mediaType == MediaTypeDockerManifestList || mediaType == MediaTypeOCIIndex
}

// Fetch reads the exact bytes described by desc from f (any oras-go
// content store or target), refusing anything larger than MaxManifestSize
// and verifying size and digest.
func Fetch(ctx context.Context, f content.Fetcher, desc ocispec.Descriptor) ([]byte, error) {
	if desc.Size < 0 || desc.Size > MaxManifestSize {
		return nil, fmt.Errorf("manifest %s: size %d outside 0..%d bytes", desc.Digest, desc.Size, MaxManifestSize)
	}
	if err := desc.Digest.Validate(); err != nil {
		return nil, fmt.Errorf("manifest digest %q: %w", desc.Digest, err)
	}
	b, err := content.FetchAll(ctx, f, desc)
	if err != nil {
		return nil, fmt.Errorf("manifest %s: %w", desc.Digest, err)
	}
	return b, nil
}

// ValidDigest is digest.Validate for the algorithms registries use, without
// its regular expressions: listings of thousands of referrers check every
// entry.
func ValidDigest(d digest.Digest) bool {
	alg, hex, ok := strings.Cut(string(d), ":")
	if !ok {
		return false
	}
	switch alg {
	case "sha256":
		if len(hex) != 64 {
			return false
		}
	case "sha512":
		if len(hex) != 128 {
			return false
		}
	default:
		return false
	}
	for i := 0; i < len(hex); i++ {
		if c := hex[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
