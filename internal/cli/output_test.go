package cli

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// TestJSONStreamIsTheDocument: writeJSONStream writes the same JSON
// document as writeJSON (fields, omitempty, no HTML escaping), only with
// the streamed list one compact element per line.
func TestJSONStreamIsTheDocument(t *testing.T) {
	ref := DiscoverReferrer{}
	if err := json.Unmarshal([]byte(`{"digest":"sha256:aa","artifactType":"a<b>&c","mediaType":"application/vnd.oci.image.manifest.v1+json","size":3}`), &ref); err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]DiscoverResult{
		"referrers": {Reference: "r<1>", Subject: ocispec.Descriptor{MediaType: "m", Digest: "sha256:bb", Size: 1},
			Mechanisms: map[string]string{"links": "used"}, LinksArtifactTypes: []string{"t"}, Referrers: []DiscoverReferrer{ref, ref}},
		"none (omitempty, empty list)": {Reference: "r", Mechanisms: map[string]string{}, Referrers: []DiscoverReferrer{}},
	} {
		var doc, stream bytes.Buffer
		if err := writeJSON(&doc, v); err != nil {
			t.Fatal(err)
		}
		if err := writeJSONStream(&stream, v); err != nil {
			t.Fatal(err)
		}
		var a, b any
		if err := json.Unmarshal(doc.Bytes(), &a); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(stream.Bytes(), &b); err != nil {
			t.Fatalf("%s: stream is not JSON: %v\n%s", name, err, stream.String())
		}
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		if !bytes.Equal(ja, jb) {
			t.Errorf("%s: stream\n%s\nwant the document\n%s", name, stream.String(), doc.String())
		}
		if strings.Contains(stream.String(), `\u003c`) || strings.Contains(doc.String(), `\u003c`) {
			t.Errorf("%s: HTML-escaped output:\n%s\n%s", name, doc.String(), stream.String())
		}
		if n := len(v.Referrers); n == 0 && !strings.Contains(stream.String(), `"referrers": []`) {
			t.Errorf("%s: the empty list is not []:\n%s", name, stream.String())
		}
		if n := len(v.Referrers); n > 0 && strings.Count(stream.String(), "\n    {") != n {
			t.Errorf("%s: %d referrers not one per line:\n%s", name, n, stream.String())
		}
	}
	// A nil list is still an array ([]), never null, as the schema says.
	var stream bytes.Buffer
	if err := writeJSONStream(&stream, DiscoverResult{Reference: "r"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stream.String(), `"referrers": []`) {
		t.Errorf("nil referrers: %s, want []", stream.String())
	}
}
