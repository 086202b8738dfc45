package registry

import (
	"encoding/json"
	"net/http"
)

type imageIndex struct {
	SchemaVersion int          `json:"schemaVersion"`
	MediaType     string       `json:"mediaType"`
	Manifests     []descriptor `json:"manifests"`
}

// getReferrers serves GET /v2/<name>/referrers/<digest>[?artifactType=]
// from the subject index written at push time: the cost is proportional to
// the referrers of the subject, never to the repository.
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
	out := imageIndex{SchemaVersion: 2, MediaType: mtOCIIndex, Manifests: []descriptor{}}
	for _, e := range entries {
		var desc descriptor
		if err := json.Unmarshal(e.data, &desc); err != nil {
			continue
		}
		if filter != "" && desc.ArtifactType != filter {
			continue
		}
		// Skip entries of manifests deleted (or never completed: a crash
		// between writing the index entry and the manifest).
		if ok, err := rg.store.hasManifest(repo, e.member); err != nil {
			return err
		} else if !ok {
			continue
		}
		out.Manifests = append(out.Manifests, desc)
	}
	if filter != "" {
		w.Header().Set("OCI-Filters-Applied", "artifactType")
	}
	return writeJSON(w, r, mtOCIIndex, out)
}
