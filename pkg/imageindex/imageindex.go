// Package imageindex reads multi-platform image indexes (OCI image indexes
// and Docker manifest lists) safely and selects platform manifests in them.
// Every index is read bounded (manifest.MaxManifestSize bytes, MaxEntries
// entries) and digest-verified, and every entry is checked (a valid digest,
// a size within bounds, a media type) before it is used: a signature on an
// index says something about a platform manifest only through an entry
// whose digest, size and media type match it exactly (Lists).
package imageindex

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"

	"github.com/signet-oci/signet/pkg/errdef"
	"github.com/signet-oci/signet/pkg/manifest"
)

// MaxEntries bounds the manifests an index may list (real multi-platform
// indexes list a few dozen at most).
const MaxEntries = 1000

// ParsePlatform parses "os/arch" or "os/arch/variant" (e.g. linux/amd64,
// linux/arm/v7). Anything else is a usage error (errdef.ErrUsage).
func ParsePlatform(s string) (ocispec.Platform, error) {
	parts := strings.Split(s, "/")
	if len(parts) < 2 || len(parts) > 3 {
		return ocispec.Platform{}, errdef.Usage(fmt.Errorf("platform %q: write os/arch or os/arch/variant, e.g. linux/amd64 or linux/arm/v7", s))
	}
	for _, p := range parts {
		if p == "" || strings.TrimFunc(p, validRune) != "" {
			return ocispec.Platform{}, errdef.Usage(fmt.Errorf("platform %q: %q is not a platform component (lower-case letters, digits, '_', '-', '.'); write os/arch[/variant]", s, p))
		}
	}
	p := ocispec.Platform{OS: parts[0], Architecture: parts[1]}
	if len(parts) == 3 {
		p.Variant = parts[2]
	}
	return p, nil
}

func validRune(r rune) bool {
	return (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '_' || r == '-' || r == '.'
}

// Format is p as os/arch[/variant] ("" for nil or an empty platform).
func Format(p *ocispec.Platform) string {
	if p == nil || (p.OS == "" && p.Architecture == "") {
		return ""
	}
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// Match reports whether have satisfies want: the same OS and architecture
// and, when want names a variant, the same variant (arm64's implicit
// variant is v8).
func Match(want ocispec.Platform, have *ocispec.Platform) bool {
	if have == nil || want.OS != have.OS || want.Architecture != have.Architecture {
		return false
	}
	if want.Variant == "" {
		return true
	}
	hv := have.Variant
	if hv == "" && have.Architecture == "arm64" {
		hv = "v8"
	}
	return want.Variant == hv
}

// Read fetches the index desc describes from f, bounded and
// digest-verified (manifest.Fetch), and decodes it: its media type must be
// an index type, it may list at most MaxEntries manifests, and every entry
// must have a valid digest, a size within 0..manifest.MaxManifestSize and a
// media type. It returns the decoded index and its exact bytes.
func Read(ctx context.Context, f content.Fetcher, desc ocispec.Descriptor) (*ocispec.Index, []byte, error) {
	if !manifest.IsIndex(desc.MediaType) {
		return nil, nil, fmt.Errorf("%s is a %s, not an image index", desc.Digest, desc.MediaType)
	}
	b, err := manifest.Fetch(ctx, f, desc)
	if err != nil {
		return nil, nil, err
	}
	idx, err := Decode(b)
	if err != nil {
		return nil, nil, fmt.Errorf("index %s: %w", desc.Digest, err)
	}
	if idx.MediaType != "" && idx.MediaType != desc.MediaType {
		return nil, nil, fmt.Errorf("index %s: its mediaType %s is not %s, the type it was served as", desc.Digest, idx.MediaType, desc.MediaType)
	}
	return idx, b, nil
}

// Decode parses and checks an index's bytes (see Read).
func Decode(b []byte) (*ocispec.Index, error) {
	if len(b) > manifest.MaxManifestSize {
		return nil, fmt.Errorf("%d bytes, over the %d-byte limit", len(b), manifest.MaxManifestSize)
	}
	var idx ocispec.Index
	if err := json.Unmarshal(b, &idx); err != nil {
		return nil, fmt.Errorf("not a JSON image index: %w", err)
	}
	if idx.SchemaVersion != 2 {
		return nil, fmt.Errorf("schemaVersion %d, want 2", idx.SchemaVersion)
	}
	if idx.MediaType != "" && !manifest.IsIndex(idx.MediaType) {
		return nil, fmt.Errorf("mediaType %s is not an index type", idx.MediaType)
	}
	if len(idx.Manifests) > MaxEntries {
		return nil, fmt.Errorf("lists %d manifests, over the limit of %d", len(idx.Manifests), MaxEntries)
	}
	for i, m := range idx.Manifests {
		switch {
		case !manifest.ValidDigest(m.Digest):
			return nil, fmt.Errorf("manifests[%d]: digest %q is not a sha256 or sha512 digest", i, m.Digest)
		case m.Size < 0 || m.Size > manifest.MaxManifestSize:
			return nil, fmt.Errorf("manifests[%d] %s: size %d outside 0..%d", i, m.Digest, m.Size, manifest.MaxManifestSize)
		case m.MediaType == "":
			return nil, fmt.Errorf("manifests[%d] %s: no mediaType", i, m.Digest)
		}
	}
	return &idx, nil
}

// Platforms lists the platforms of the index's entries, os/arch[/variant],
// sorted, each once (entries without a platform are left out).
func Platforms(idx *ocispec.Index) []string {
	seen := map[string]bool{}
	var out []string
	for _, m := range idx.Manifests {
		if s := Format(m.Platform); s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

// ErrAmbiguous is returned (wrapped with errdef.ErrUsage) by Select when
// several entries match a platform given without its variant.
var ErrAmbiguous = errors.New("ambiguous platform")

// Select returns the entry of idx for platform want. None matching is
// errdef.ErrNotFound, with the platforms the index lists; several matching
// (want without a variant, the index with several) is a usage error naming
// them (ErrAmbiguous).
func Select(idx *ocispec.Index, want ocispec.Platform) (ocispec.Descriptor, error) {
	var found []ocispec.Descriptor
	for _, m := range idx.Manifests {
		if Match(want, m.Platform) && manifest.IsManifest(m.MediaType) {
			found = append(found, m)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		have := "none"
		if ps := Platforms(idx); len(ps) > 0 {
			have = strings.Join(ps, ", ")
		}
		return ocispec.Descriptor{}, errdef.NotFound(fmt.Errorf("no %s manifest in the index (its platforms: %s)", Format(&want), have))
	}
	var names []string
	for _, m := range found {
		names = append(names, Format(m.Platform))
	}
	return ocispec.Descriptor{}, errdef.Usage(fmt.Errorf("%w: %s matches %s; add the variant", ErrAmbiguous, Format(&want), strings.Join(names, ", ")))
}

// Lists returns the entry of idx that is exactly m — the same digest, size
// and media type — and whether there is one. This is the only test by
// which a signature on the index may be taken to cover m.
func Lists(idx *ocispec.Index, m ocispec.Descriptor) (ocispec.Descriptor, bool) {
	for _, e := range idx.Manifests {
		if e.Digest == m.Digest && e.Size == m.Size && e.MediaType == m.MediaType {
			return e, true
		}
	}
	return ocispec.Descriptor{}, false
}
