package registry

import (
	"bytes"
	"net/http"
)

// getReferrers serves GET /v2/<name>/referrers/<digest>[?artifactType=]
// from the subject index written at push time: the cost is proportional to
// the referrers of the subject, never to the repository. The answer is an
// OCI image index (empty when nothing refers to the subject, which need not
// exist).
func (rg *Registry) getReferrers(w http.ResponseWriter, r *http.Request, repo, ds string) error {
	subject, err := parseDigest(ds)
	if err != nil {
		return errDigestSyntax
	}
	entries, err := rg.store.listIndex(repo, indexReferrers, subject)
	if err != nil {
		return err
	}
	filter := r.URL.Query().Get("artifactType")
	var b bytes.Buffer
	b.Grow(64 + 256*len(entries))
	b.WriteString(`{"schemaVersion":2,"mediaType":"` + mtOCIIndex + `","manifests":[`)
	first := true
	for _, e := range entries {
		at, desc, ok := bytes.Cut(e.data, []byte{'\n'})
		if !ok || (filter != "" && string(at) != filter) {
			continue
		}
		// Skip entries of manifests deleted (or never completed: a crash
		// between writing the index entry and the manifest).
		if ok, err := rg.store.hasManifest(repo, e.member); err != nil {
			return err
		} else if !ok {
			continue
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		b.Write(desc)
	}
	b.WriteString("]}\n")
	if filter != "" {
		w.Header().Set("OCI-Filters-Applied", "artifactType")
	}
	return writeBody(w, r, mtOCIIndex, b.Bytes())
}

// imageIndex is the shape of a referrers answer (used by tests).
type imageIndex struct {
	SchemaVersion int          `json:"schemaVersion"`
	MediaType     string       `json:"mediaType"`
	Manifests     []descriptor `json:"manifests"`
}
