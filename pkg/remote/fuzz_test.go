package remote_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/signet-oci/signet/pkg/remote"
)

// FuzzDecodeLinks: any body either decodes into a bounded LinksResponse
// or is refused with ErrLinksUnsupported, ErrLinksTooLarge or a truncation
// error; never a panic.
func FuzzDecodeLinks(f *testing.F) {
	for _, s := range []string{
		`{"digest":"sha256:aa","links":[]}`,
		`{"links":[{"mediaType":"application/vnd.oci.artifact.manifest.v1+json","artifactType":"application/vnd.cncf.notary.v2","config":{"mediaType":"application/vnd.cncf.notary.config.v2+jwt","digest":"sha256:aa","size":1},"manifests":[{"digest":"sha256:bb","size":2}]}],"nextLink":"x"}`,
		`{"links":null}`, `[]`, `<html>`, `{"links":[`, `{"links":[1,2,3]}`, `{"links":{}}`, "",
	} {
		f.Add([]byte(s), int64(0))
	}
	f.Fuzz(func(t *testing.T, body []byte, limit int64) {
		if limit < 0 || limit > 1<<20 {
			limit = 0
		}
		lr, err := remote.DecodeLinks(bytes.NewReader(body), limit)
		if err != nil {
			if lr != nil {
				t.Fatal("response with an error")
			}
			return
		}
		if lr.Links == nil || len(lr.Links) > remote.MaxLinks {
			t.Fatalf("accepted %d links", len(lr.Links))
		}
		for _, l := range lr.Links {
			if !json.Valid(l) {
				t.Fatalf("entry %q is not JSON", l)
			}
		}
	})
}
