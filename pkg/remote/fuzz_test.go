package remote_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
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
	f.Add([]byte(`{"links":[{"a":"`+strings.Repeat("x", 100)+`"}]}`), int64(64)) // over the limit
	f.Add([]byte(`{"links":[{"a":"x"}]}`), int64(21))                            // exactly the limit
	f.Fuzz(func(t *testing.T, body []byte, limit int64) {
		if limit < 0 || limit > 1<<20 {
			limit = 0
		}
		lr, err := remote.DecodeLinks(bytes.NewReader(body), limit)
		max := limit
		if max == 0 {
			max = remote.DefaultMaxMetadataSize
		}
		if err != nil {
			if lr != nil {
				t.Fatal("response with an error")
			}
			// Which refusal: too large only past the size or count bound,
			// truncated only for a body within the bound that ends early,
			// unsupported for anything else.
			switch {
			case errors.Is(err, remote.ErrLinksTooLarge):
				if int64(len(body)) <= max && !strings.Contains(err.Error(), "more than the limit of") {
					t.Fatalf("%d bytes (limit %d): %v", len(body), max, err)
				}
			case errors.Is(err, io.ErrUnexpectedEOF):
				if int64(len(body)) > max || !strings.HasPrefix(err.Error(), "truncated: ") {
					t.Fatalf("%d bytes (limit %d): %v", len(body), max, err)
				}
			case err != remote.ErrLinksUnsupported:
				t.Fatalf("error %v, want ErrLinksUnsupported, ErrLinksTooLarge or a truncation", err)
			}
			return
		}
		// What was accepted is the body's first JSON value, within the
		// limit.
		dec := json.NewDecoder(bytes.NewReader(body))
		var first json.RawMessage
		if err := dec.Decode(&first); err != nil || dec.InputOffset() > max {
			t.Fatalf("accepted a body whose first value ends at byte %d (limit %d): %v", dec.InputOffset(), max, err)
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
