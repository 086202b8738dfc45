package registry

import (
	"errors"
	"net/http"
	"time"
)

var errBlobUnknown = newErr(http.StatusNotFound, codeBlobUnknown, "blob unknown to registry")

// handleBlob serves GET, HEAD (with Range) and DELETE on
// /v2/<name>/blobs/<digest>.
func (rg *Registry) handleBlob(w http.ResponseWriter, r *http.Request, repo, ds string) error {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodDelete:
	default:
		return errMethod
	}
	d, err := parseDigest(ds)
	if err != nil {
		return errDigestSyntax
	}
	linked, err := rg.store.blobLinked(repo, d)
	if err != nil {
		return err
	}
	if !linked {
		return errBlobUnknown
	}
	if r.Method == http.MethodDelete {
		if err := rg.store.unlinkBlob(repo, d); err != nil {
			if errors.Is(err, errNotFound) {
				return errBlobUnknown
			}
			return err
		}
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(http.StatusAccepted)
		return nil
	}
	f, _, err := rg.store.openBlob(d)
	if err != nil {
		if errors.Is(err, errNotFound) {
			return errBlobUnknown
		}
		return err
	}
	defer f.Close()
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Docker-Content-Digest", d.String())
	h.Set("ETag", `"`+d.String()+`"`)
	h.Set("Cache-Control", "max-age=31536000")
	// ServeContent handles HEAD, Range (206) and unsatisfiable ranges (416).
	http.ServeContent(w, r, "", time.Time{}, f)
	return nil
}
