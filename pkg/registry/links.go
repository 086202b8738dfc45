package registry

import (
	"bytes"
	"encoding/json"
	"net/http"
)

// getLinks serves the 2021 prototype's discovery extension:
//
//	GET /v2/_ext/oci-artifacts/v1/<name>/manifests/<reference>/links[?artifact-type=<type>]
//
// answering {"digest"|"tag":…,"links":[<artifact manifest, compacted>…],"nextLink":"not implemented"}
// followed by a newline, with links ordered by artifact digest. The
// artifact type is optional (empty means all). An unknown tag is 404
// MANIFEST_UNKNOWN; an unknown digest or repository has no links.
func (rg *Registry) getLinks(w http.ResponseWriter, r *http.Request, repo, refStr string) error {
	ref, ok := parseReference(refStr)
	if !ok {
		return errManifestUnknown
	}
	d := ref.digest
	if ref.tag != "" {
		var err error
		if d, err = rg.resolve(repo, ref); err != nil {
			return err
		}
		if ok, err := rg.store.hasManifest(repo, d); err != nil {
			return err
		} else if !ok {
			return errManifestUnknown
		}
	}
	entries, err := rg.store.listIndex(repo, indexLinks, d)
	if err != nil {
		return err
	}
	filter := r.URL.Query().Get("artifact-type")
	var b bytes.Buffer
	key, val := "digest", d.String()
	if ref.tag != "" {
		key, val = "tag", ref.tag
	}
	kb, _ := json.Marshal(val)
	b.WriteString(`{"` + key + `":`)
	b.Write(kb)
	b.WriteString(`,"links":[`)
	first := true
	for _, e := range entries { // sorted by artifact digest
		at, compact, ok := bytes.Cut(e.data, []byte{'\n'})
		if !ok || (filter != "" && string(at) != filter) {
			continue
		}
		if ok, err := rg.store.hasManifest(repo, e.member); err != nil {
			return err
		} else if !ok {
			continue // deleted, or a crash before the manifest was written
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		b.Write(compact)
	}
	b.WriteString(`],"nextLink":"not implemented"}` + "\n")
	return writeBody(w, r, "application/json", b.Bytes())
}
