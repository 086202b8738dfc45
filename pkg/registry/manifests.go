package registry

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/opencontainers/go-digest"
)

// Manifest media types the registry accepts.
const (
	mtOCIManifest    = "application/vnd.oci.image.manifest.v1+json"
	mtOCIIndex       = "application/vnd.oci.image.index.v1+json"
	mtDockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
	mtDockerList     = "application/vnd.docker.distribution.manifest.list.v2+json"
	// mtArtifact is the 2021 prototype's artifact manifest (config +
	// manifests[]); OCI image-spec 1.1 release candidates reused the string
	// for a different schema (blobs + subject). Both are accepted and told
	// apart by their fields.
	mtArtifact = "application/vnd.oci.artifact.manifest.v1+json"
)

var (
	errManifestUnknown = newErr(http.StatusNotFound, codeManifestUnknown, "manifest unknown to registry")
	errManifestInvalid = newErr(http.StatusBadRequest, codeManifestInvalid, "manifest invalid")
	// errArtifactSubject: an artifact names a manifest the repository
	// lacks (the prototype answered 500; this is a client error).
	errArtifactSubject = newErr(http.StatusBadRequest, codeManifestUnknown, "artifact references a manifest unknown to the repository")
	errManifestBlob    = newErr(http.StatusBadRequest, codeManifestBlobUnknown, "manifest references a blob unknown to the repository")
)

type descriptor struct {
	MediaType    string            `json:"mediaType,omitempty"`
	Digest       string            `json:"digest"`
	Size         int64             `json:"size"`
	URLs         []string          `json:"urls,omitempty"`
	ArtifactType string            `json:"artifactType,omitempty"`
	Annotations  map[string]string `json:"annotations,omitempty"`
}

// manifestFields is the union of the fields of every accepted manifest kind.
type manifestFields struct {
	SchemaVersion *int              `json:"schemaVersion"`
	MediaType     string            `json:"mediaType"`
	ArtifactType  string            `json:"artifactType"`
	Config        *descriptor       `json:"config"`
	Layers        []descriptor      `json:"layers"`
	Blobs         []descriptor      `json:"blobs"`
	Manifests     []descriptor      `json:"manifests"`
	Subject       *descriptor       `json:"subject"`
	Annotations   map[string]string `json:"annotations"`
}

// maxTagParams bounds the ?tag= parameters of one manifest push.
const maxTagParams = 64

func invalid(detail string) error { return errManifestInvalid.withDetail(detail) }

func (rg *Registry) handleManifest(w http.ResponseWriter, r *http.Request, repo, refStr string) error {
	ref, ok := parseReference(refStr)
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		if !ok {
			return errManifestUnknown
		}
		return rg.getManifest(w, r, repo, ref)
	case http.MethodPut:
		if !ok {
			if strings.Contains(refStr, ":") {
				return errDigestSyntax
			}
			return newErr(http.StatusBadRequest, codeManifestInvalid, "invalid tag")
		}
		return rg.putManifest(w, r, repo, ref)
	case http.MethodDelete:
		if !ok {
			return errManifestUnknown
		}
		return rg.deleteManifest(w, repo, ref)
	}
	return errMethod
}

// resolve returns the digest a reference names, or errManifestUnknown.
func (rg *Registry) resolve(repo string, ref reference) (digest.Digest, error) {
	if ref.digest != "" {
		return ref.digest, nil
	}
	d, err := rg.store.getTag(repo, ref.tag)
	if errors.Is(err, errNotFound) {
		return "", errManifestUnknown
	}
	return d, err
}

func (rg *Registry) getManifest(w http.ResponseWriter, r *http.Request, repo string, ref reference) error {
	d, err := rg.resolve(repo, ref)
	if err != nil {
		return err
	}
	mt, body, err := rg.store.getManifest(repo, d)
	if err != nil {
		if errors.Is(err, errNotFound) {
			return errManifestUnknown
		}
		return err
	}
	h := w.Header()
	h.Set("Content-Type", mt)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Docker-Content-Digest", d.String())
	h.Set("ETag", `"`+d.String()+`"`)
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write(body)
	}
	return nil
}

func (rg *Registry) putManifest(w http.ResponseWriter, r *http.Request, repo string, ref reference) error {
	tooBig := newErr(http.StatusRequestEntityTooLarge, codeSizeInvalid, "manifest exceeds the registry's limit").
		withDetail(map[string]int64{"limit": rg.cfg.MaxManifestSize})
	if r.ContentLength > rg.cfg.MaxManifestSize {
		return tooBig
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, rg.cfg.MaxManifestSize+1))
	if err != nil {
		return invalid("reading the request body failed")
	}
	if int64(len(body)) > rg.cfg.MaxManifestSize {
		return tooBig
	}

	// Tags: the reference, or ?tag= parameters on a push by digest.
	var tags []string
	if ref.tag != "" {
		tags = append(tags, ref.tag)
	} else if tp := r.URL.Query()["tag"]; len(tp) > 0 {
		if len(tp) > maxTagParams {
			return invalid("too many tag parameters")
		}
		for _, t := range tp {
			if !validTag(t) {
				return invalid("invalid tag " + strconv.Quote(t))
			}
		}
		tags = tp
	}

	// Digest: the one in the URL must match; a tag gets the canonical one.
	d := digest.Canonical.FromBytes(body)
	if ref.digest != "" {
		d = ref.digest.Algorithm().FromBytes(body)
		if d != ref.digest {
			return errBadDigest.withDetail(map[string]string{"expected": ref.digest.String(), "computed": d.String()})
		}
	}

	var m manifestFields
	if err := json.Unmarshal(body, &m); err != nil {
		return invalid("manifest is not valid JSON: " + err.Error())
	}
	ct := ""
	if v := r.Header.Get("Content-Type"); v != "" {
		if ct, _, err = mime.ParseMediaType(v); err != nil {
			return invalid("invalid Content-Type")
		}
	}
	mt := ct
	if mt == "" {
		mt = m.MediaType
	}
	if m.MediaType != "" && m.MediaType != mt {
		return invalid("mediaType " + strconv.Quote(m.MediaType) + " does not match Content-Type " + strconv.Quote(mt))
	}
	if m.SchemaVersion == nil || *m.SchemaVersion != 2 {
		return invalid("schemaVersion must be 2")
	}

	var idx []indexPut
	switch mt {
	case mtOCIManifest, mtDockerManifest:
		idx, err = rg.checkImageManifest(repo, &m)
	case mtOCIIndex, mtDockerList:
		err = checkIndex(&m)
	case mtArtifact:
		if ct != mtArtifact {
			return invalid("an artifact manifest must be pushed with Content-Type " + mtArtifact)
		}
		idx, err = rg.checkArtifact(repo, &m, body)
	case "":
		return invalid("no media type: set Content-Type")
	default:
		return invalid("unsupported manifest media type " + strconv.Quote(mt))
	}
	if err != nil {
		return err
	}

	var subject digest.Digest
	if m.Subject != nil {
		if subject, err = parseDigest(m.Subject.Digest); err != nil {
			return invalid("invalid subject digest")
		}
		if rg.cfg.DisableReferrersAPI {
			subject = "" // a registry without the API does not index
		} else {
			entry, err := referrerEntry(mt, d, len(body), &m)
			if err != nil {
				return err
			}
			idx = append(idx, indexPut{kind: indexReferrers, subject: subject, data: entry})
		}
	}

	// Every tag this PUT moves is locked from the precondition check to
	// the tag write (conditional.go).
	lockTags := tags
	if ref.tag == "" && (r.Header.Get("If-Match") != "" || r.Header.Get("If-None-Match") != "") {
		lockTags = append([]string{"@" + ref.digest.String()}, tags...)
	}
	defer rg.tagLocks.lock(repo, lockTags)()
	if err := rg.checkPreconditions(r, repo, ref); err != nil {
		return err
	}

	// Index entries first: a listing skips entries whose manifest does not
	// exist, so a crash between the steps never shows anything half-done.
	// On a failure (a full disk) the entries written are removed again:
	// nothing of a refused PUT stays behind.
	undo := func(err error, written int) error {
		if ok, herr := rg.store.hasManifest(repo, d); herr == nil && !ok {
			for _, e := range idx[:written] {
				_ = rg.store.deleteIndex(repo, e.kind, e.subject, d)
			}
		}
		return err
	}
	for i, e := range idx {
		if err := rg.store.putIndex(repo, e.kind, e.subject, indexEntry{member: d, data: e.data}); err != nil {
			return undo(err, i)
		}
	}
	if err := rg.store.putManifest(repo, d, mt, body); err != nil {
		return undo(err, len(idx))
	}
	for _, e := range idx {
		if e.kind == indexReferrers {
			at, desc, _ := bytes.Cut(e.data, []byte{'\n'})
			rg.refs.add(refKey{repo, e.subject}, string(at), d, desc)
			if rg.snaps != nil {
				rg.snaps.pushed(refKey{repo, e.subject})
			}
		}
	}
	for _, t := range tags {
		if err := rg.store.putTag(repo, t, d); err != nil {
			return err
		}
	}
	h := w.Header()
	if ref.digest != "" {
		for _, t := range tags {
			h.Add("OCI-Tag", t)
		}
	}
	h.Set("Location", "/v2/"+repo+"/manifests/"+d.String())
	h.Set("Docker-Content-Digest", d.String())
	if subject != "" {
		h.Set("OCI-Subject", subject.String())
	}
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusCreated)
	return nil
}

// indexPut is a subject index entry to write for a manifest being pushed.
type indexPut struct {
	kind    string
	subject digest.Digest
	data    []byte
}

// referrerDescriptor is the entry of a referrers listing for a manifest.
func referrerDescriptor(mt string, d digest.Digest, size int, m *manifestFields) descriptor {
	at := m.ArtifactType
	if at == "" && m.Config != nil && (mt == mtOCIManifest || mt == mtDockerManifest) {
		at = m.Config.MediaType
	}
	return descriptor{MediaType: mt, Digest: d.String(), Size: int64(size), ArtifactType: at, Annotations: m.Annotations}
}

// referrerEntry is the referrers index record of a manifest: its artifact
// type, a newline, and its descriptor as JSON, so that listings filter and
// answer without decoding anything.
func referrerEntry(mt string, d digest.Digest, size int, m *manifestFields) ([]byte, error) {
	desc := referrerDescriptor(mt, d, size, m)
	b, err := json.Marshal(desc)
	if err != nil {
		return nil, err
	}
	if strings.ContainsAny(desc.ArtifactType, "\r\n") {
		return nil, invalid("invalid artifactType")
	}
	return append([]byte(desc.ArtifactType+"\n"), b...), nil
}

// nonDistributable reports whether a layer need not be in the registry.
func nonDistributable(l descriptor) bool {
	return len(l.URLs) > 0 || strings.Contains(l.MediaType, "nondistributable") || strings.Contains(l.MediaType, ".foreign.")
}

func (rg *Registry) requireBlobs(repo string, ds ...descriptor) error {
	for _, l := range ds {
		d, err := parseDigest(l.Digest)
		if err != nil {
			return invalid("invalid descriptor digest " + strconv.Quote(l.Digest))
		}
		if l.Size < 0 {
			return invalid("invalid descriptor size")
		}
		if nonDistributable(l) {
			continue
		}
		ok, err := rg.store.blobLinked(repo, d)
		if err != nil {
			return err
		}
		if !ok {
			return errManifestBlob.withDetail(map[string]string{"digest": d.String()})
		}
	}
	return nil
}

func (rg *Registry) checkImageManifest(repo string, m *manifestFields) ([]indexPut, error) {
	if m.Config == nil {
		return nil, invalid("config descriptor required")
	}
	if m.Manifests != nil {
		return nil, invalid("an image manifest has no manifests field")
	}
	return nil, rg.requireBlobs(repo, append([]descriptor{*m.Config}, m.Layers...)...)
}

func checkIndex(m *manifestFields) error {
	if m.Config != nil || m.Layers != nil {
		return invalid("an index has no config or layers")
	}
	for _, c := range m.Manifests {
		if _, err := parseDigest(c.Digest); err != nil {
			return invalid("invalid descriptor digest " + strconv.Quote(c.Digest))
		}
	}
	return nil
}

// checkArtifact validates an artifact manifest as the prototype did (but
// with 400, never 500, for a missing manifest) and returns the links index
// entries to write: one per manifests[] entry, holding the artifact type and
// the compacted manifest.
func (rg *Registry) checkArtifact(repo string, m *manifestFields, body []byte) ([]indexPut, error) {
	if rg.cfg.DisableLinks {
		return nil, invalid("artifact manifests are not supported by this registry")
	}
	if m.ArtifactType == "" {
		return nil, invalid("artifactType required")
	}
	blobs := m.Blobs
	if m.Config != nil {
		blobs = append([]descriptor{*m.Config}, blobs...)
	}
	if err := rg.requireBlobs(repo, blobs...); err != nil {
		return nil, err
	}
	if len(m.Manifests) == 0 {
		return nil, nil
	}
	var compact bytes.Buffer
	compact.WriteString(m.ArtifactType)
	compact.WriteByte('\n')
	if err := json.Compact(&compact, body); err != nil {
		return nil, invalid("manifest is not valid JSON")
	}
	var out []indexPut
	for _, c := range m.Manifests {
		d, err := parseDigest(c.Digest)
		if err != nil {
			return nil, invalid("invalid descriptor digest " + strconv.Quote(c.Digest))
		}
		ok, err := rg.store.hasManifest(repo, d)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, errArtifactSubject.withDetail(map[string]string{"digest": d.String()})
		}
		out = append(out, indexPut{kind: indexLinks, subject: d, data: compact.Bytes()})
	}
	return out, nil
}

func (rg *Registry) deleteManifest(w http.ResponseWriter, repo string, ref reference) error {
	if ref.tag != "" {
		defer rg.tagLocks.lock(repo, []string{ref.tag})()
		if err := rg.store.deleteTag(repo, ref.tag); err != nil {
			if errors.Is(err, errNotFound) {
				return errManifestUnknown
			}
			return err
		}
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(http.StatusAccepted)
		return nil
	}
	d := ref.digest
	_, body, err := rg.store.getManifest(repo, d)
	if err != nil {
		if errors.Is(err, errNotFound) {
			return errManifestUnknown
		}
		return err
	}
	var m manifestFields
	parsed := json.Unmarshal(body, &m) == nil
	if parsed && m.Subject != nil && rg.snaps != nil {
		// The subject's referrers snapshot goes before the manifest does
		// (refsnap.go).
		if s, err := parseDigest(m.Subject.Digest); err == nil {
			done, err := rg.snaps.deleting(refKey{repo, s})
			if err != nil {
				return err
			}
			defer done()
		}
	}
	if err := rg.store.deleteManifest(repo, d); err != nil && !errors.Is(err, errNotFound) {
		return err
	}
	// Tags pointing at the manifest go with it (dangling tags are treated
	// as unknown anyway, should a crash interrupt this).
	tags, err := rg.store.listTags(repo)
	if err != nil {
		return err
	}
	for _, t := range tags {
		if err := rg.untagIf(repo, t, d); err != nil {
			return err
		}
	}
	// Index entries (listings skip stale ones, so this is housekeeping).
	if parsed {
		if m.Subject != nil {
			if s, err := parseDigest(m.Subject.Digest); err == nil {
				_ = rg.store.deleteIndex(repo, indexReferrers, s, d)
				rg.refs.remove(refKey{repo, s}, d)
			}
		}
		for _, c := range m.Manifests {
			if s, err := parseDigest(c.Digest); err == nil {
				_ = rg.store.deleteIndex(repo, indexLinks, s, d)
			}
		}
	}
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// untagIf deletes tag if it points at d, under the tag's lock.
func (rg *Registry) untagIf(repo, tag string, d digest.Digest) error {
	defer rg.tagLocks.lock(repo, []string{tag})()
	if td, err := rg.store.getTag(repo, tag); err == nil && td == d {
		if err := rg.store.deleteTag(repo, tag); err != nil && !errors.Is(err, errNotFound) {
			return err
		}
	}
	return nil
}
