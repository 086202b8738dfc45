package discover

import (
	"bytes"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// TestDecodeIndex: the tag-fallback index is read as a stream, keeping only
// what keep accepts, and nothing is returned unless its size and digest are
// the announced ones.
func TestDecodeIndex(t *testing.T) {
	body := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","annotations":{"a":"b"},"manifests":[` +
		`{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:` + strings.Repeat("1", 64) + `","size":1,"artifactType":"application/vnd.example.sbom"},` +
		`{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:` + strings.Repeat("2", 64) + `","size":2,"artifactType":"application/vnd.cncf.notary.signature"}]}` + "\n")
	desc := func(b []byte) ocispec.Descriptor {
		return ocispec.Descriptor{MediaType: ocispec.MediaTypeImageIndex, Digest: digest.FromBytes(b), Size: int64(len(b))}
	}
	sigs := func(m ocispec.Descriptor) bool { return m.ArtifactType == "application/vnd.cncf.notary.signature" }
	got, err := decodeIndex(bytes.NewReader(body), desc(body), sigs)
	if err != nil || len(got) != 1 || got[0].Size != 2 {
		t.Fatalf("decodeIndex = %+v, %v; want the signature only", got, err)
	}
	if got, err := decodeIndex(bytes.NewReader(body), desc(body), nil); err != nil || len(got) != 2 {
		t.Fatalf("decodeIndex without a filter = %+v, %v; want both", got, err)
	}
	// Another digest, a shorter or longer body than announced.
	other := desc(body)
	other.Digest = digest.FromString("other")
	short := desc(body)
	short.Size--
	long := desc(body)
	long.Size++
	bad := map[string]struct {
		body []byte
		desc ocispec.Descriptor
		want string
	}{
		"wrong digest":   {body, other, "does not match its digest"},
		"longer body":    {body, short, "bytes, not the"},
		"shorter body":   {body, long, "bytes, not the"},
		"not an object":  {[]byte(`[1]`), desc([]byte(`[1]`)), "not a JSON object"},
		"trailing bytes": {append(append([]byte{}, body...), []byte("{}")...), desc(append(append([]byte{}, body...), []byte("{}")...)), "decoding"},
		"bad manifests":  {[]byte(`{"manifests":{}}`), desc([]byte(`{"manifests":{}}`)), "not an array"},
		"bad entry":      {[]byte(`{"manifests":[{"size":"x"}]}`), desc([]byte(`{"manifests":[{"size":"x"}]}`)), "decoding"},
		"two manifests":  {[]byte(`{"manifests":[],"manifests":[]}`), desc([]byte(`{"manifests":[],"manifests":[]}`)), "two"},
		"truncated":      {body[:len(body)/2], desc(body[:len(body)/2]), "decoding"},
	}
	for name, c := range bad {
		if got, err := decodeIndex(bytes.NewReader(c.body), c.desc, nil); err == nil || !strings.Contains(err.Error(), c.want) || got != nil {
			t.Errorf("%s: decodeIndex = %v, %v; want an error containing %q", name, got, err, c.want)
		}
	}
}
