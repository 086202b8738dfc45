package registry

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/opencontainers/go-digest"
)

// uploadSession is one blob upload in progress. Its mutex serialises the
// requests of a session; sessions live in memory and their data in the
// storage's temporary area, so a restart forgets them (clients restart the
// upload, nothing acknowledged is lost).
type uploadSession struct {
	mu       sync.Mutex
	id       string
	repo     string
	file     uploadFile
	sha256   hash.Hash // running sha256 of file; nil when it cannot be trusted
	lastUsed time.Time
	closed   bool
}

type uploadSessions struct {
	mu     sync.Mutex
	m      map[string]*uploadSession
	max    int
	expiry time.Duration
}

func newUploadSessions(max int, expiry time.Duration) *uploadSessions {
	return &uploadSessions{m: map[string]*uploadSession{}, max: max, expiry: expiry}
}

var errTooManyUploads = newErr(http.StatusTooManyRequests, codeTooManyRequests, "too many upload sessions in progress")

func (u *uploadSessions) add(s *uploadSession) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.m) >= u.max {
		return errTooManyUploads
	}
	u.m[s.id] = s
	return nil
}

func (u *uploadSessions) get(id string) *uploadSession {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.m[id]
}

func (u *uploadSessions) remove(id string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	delete(u.m, id)
}

// expire drops sessions idle for longer than the expiry.
func (u *uploadSessions) expire(now time.Time) {
	u.mu.Lock()
	var stale []*uploadSession
	for id, s := range u.m {
		if !s.mu.TryLock() {
			continue // in use
		}
		if now.Sub(s.lastUsed) > u.expiry {
			delete(u.m, id)
			stale = append(stale, s)
		} else {
			s.mu.Unlock()
		}
	}
	u.mu.Unlock()
	for _, s := range stale {
		s.closed = true
		_ = s.file.discard()
		s.mu.Unlock()
	}
}

func (u *uploadSessions) closeAll() {
	u.mu.Lock()
	all := u.m
	u.m = map[string]*uploadSession{}
	u.mu.Unlock()
	for _, s := range all {
		s.mu.Lock()
		if !s.closed {
			s.closed = true
			_ = s.file.discard()
		}
		s.mu.Unlock()
	}
}

func newSessionID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

var sessionIDOK = func(id string) bool {
	if len(id) != 32 {
		return false
	}
	_, err := hex.DecodeString(id)
	return err == nil && strings.ToLower(id) == id
}

var (
	errUploadUnknown = newErr(http.StatusNotFound, codeBlobUploadUnknown, "blob upload unknown to registry")
	errBadDigest     = newErr(http.StatusBadRequest, codeDigestInvalid, "provided digest did not match uploaded content")
	errDigestSyntax  = newErr(http.StatusBadRequest, codeDigestInvalid, "invalid or unsupported digest")
)

// absURL makes an absolute URL for path on the host the client used, like
// the prototype did (the walkthrough appends "&digest=…" to it).
func absURL(r *http.Request, path string) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + path
}

func sessionLocation(r *http.Request, s *uploadSession) string {
	return absURL(r, "/v2/"+s.repo+"/blobs/uploads/"+s.id) + "?_state=" + url.QueryEscape(s.id)
}

func blobLocation(repo string, d digest.Digest) string {
	return "/v2/" + repo + "/blobs/" + d.String()
}

func rangeHeader(size int64) string {
	if size <= 0 {
		return "0-0"
	}
	return "0-" + strconv.FormatInt(size-1, 10)
}

func (rg *Registry) writeSessionStatus(w http.ResponseWriter, r *http.Request, s *uploadSession, status int) {
	w.Header().Set("Location", sessionLocation(r, s))
	w.Header().Set("Range", rangeHeader(s.file.size()))
	w.Header().Set("Docker-Upload-UUID", s.id)
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(status)
}

// startUpload handles POST /v2/<name>/blobs/uploads/: a monolithic upload
// (?digest=), a cross-repository mount (?mount=&from=), or the start of an
// upload session.
func (rg *Registry) startUpload(w http.ResponseWriter, r *http.Request, repo string) error {
	q := r.URL.Query()
	if mount := q.Get("mount"); mount != "" {
		from := q.Get("from")
		d, err := parseDigest(mount)
		if err == nil && (from == "" || validName(from)) {
			// With from=, the blob must be in that repository; without it
			// (anonymous mount) any stored, verified content will do.
			ok := true
			if from != "" {
				if ok, err = rg.store.blobLinked(from, d); err != nil {
					return err
				}
			}
			if ok {
				if _, err := rg.store.blobSize(d); err == nil {
					if err := rg.store.linkBlob(repo, d); err != nil {
						return err
					}
					w.Header().Set("Location", blobLocation(repo, d))
					w.Header().Set("Docker-Content-Digest", d.String())
					w.Header().Set("Content-Length", "0")
					w.WriteHeader(http.StatusCreated)
					return nil
				}
			}
		}
		// Not mountable: fall back to a normal upload session.
	} else if ds := q.Get("digest"); ds != "" {
		d, err := parseDigest(ds)
		if err != nil {
			return errDigestSyntax
		}
		if err := rg.checkContentLength(r); err != nil {
			return err
		}
		f, err := rg.store.newUpload()
		if err != nil {
			return err
		}
		s := &uploadSession{repo: repo, file: f, sha256: sha256.New()}
		if err := rg.appendBody(s, r.Body); err != nil {
			_ = f.discard()
			return err
		}
		return rg.finishUpload(w, s, d)
	}
	f, err := rg.store.newUpload()
	if err != nil {
		return err
	}
	s := &uploadSession{id: newSessionID(), repo: repo, file: f, sha256: sha256.New(), lastUsed: time.Now()}
	if err := rg.uploads.add(s); err != nil {
		_ = f.discard()
		return err
	}
	rg.writeSessionStatus(w, r, s, http.StatusAccepted)
	return nil
}

func (rg *Registry) checkContentLength(r *http.Request) error {
	if r.ContentLength > rg.cfg.MaxBlobSize {
		return newErr(http.StatusRequestEntityTooLarge, codeSizeInvalid, "blob exceeds the registry's size limit")
	}
	return nil
}

// handleUpload handles the requests on an upload session.
func (rg *Registry) handleUpload(w http.ResponseWriter, r *http.Request, repo, id string) error {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodPatch, http.MethodPut, http.MethodDelete:
	default:
		return errMethod
	}
	if !sessionIDOK(id) {
		return errUploadUnknown
	}
	s := rg.uploads.get(id)
	if s == nil {
		return errUploadUnknown
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.repo != repo {
		return errUploadUnknown
	}
	s.lastUsed = time.Now()
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		rg.writeSessionStatus(w, r, s, http.StatusNoContent)
		return nil
	case http.MethodDelete:
		rg.closeSession(s)
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(http.StatusNoContent)
		return nil
	case http.MethodPatch:
		if err := rg.checkChunk(w, r, s); err != nil {
			return err
		}
		if err := rg.appendBody(s, r.Body); err != nil {
			return err
		}
		rg.writeSessionStatus(w, r, s, http.StatusAccepted)
		return nil
	default: // PUT
		d, err := parseDigest(r.URL.Query().Get("digest"))
		if err != nil {
			return errDigestSyntax
		}
		if err := rg.checkChunk(w, r, s); err != nil {
			return err
		}
		if err := rg.appendBody(s, r.Body); err != nil {
			return err
		}
		s.lastUsed = time.Now()
		defer rg.closeSession(s)
		return rg.finishUpload(w, s, d)
	}
}

// closeSession forgets s and deletes its data. The caller holds s.mu.
func (rg *Registry) closeSession(s *uploadSession) {
	rg.uploads.remove(s.id)
	if !s.closed {
		s.closed = true
		_ = s.file.discard()
	}
}

// checkChunk validates Content-Range (and Content-Length) of a chunk
// against the session: chunks must be contiguous.
func (rg *Registry) checkChunk(w http.ResponseWriter, r *http.Request, s *uploadSession) error {
	if err := rg.checkContentLength(r); err != nil {
		return err
	}
	cr := r.Header.Get("Content-Range")
	if cr == "" {
		return nil
	}
	cr = strings.TrimPrefix(strings.TrimSpace(cr), "bytes ")
	a, b, ok := strings.Cut(cr, "-")
	start, err1 := strconv.ParseInt(a, 10, 64)
	end, err2 := strconv.ParseInt(b, 10, 64)
	if !ok || err1 != nil || err2 != nil || start < 0 || end < start-1 {
		return rg.rangeError(w, r, s, "invalid Content-Range")
	}
	if start != s.file.size() {
		return rg.rangeError(w, r, s, "chunk is out of order")
	}
	if r.ContentLength >= 0 && r.ContentLength != end-start+1 {
		return rg.rangeError(w, r, s, "Content-Range does not match Content-Length")
	}
	return nil
}

func (rg *Registry) rangeError(w http.ResponseWriter, r *http.Request, s *uploadSession, msg string) error {
	w.Header().Set("Location", sessionLocation(r, s))
	w.Header().Set("Range", rangeHeader(s.file.size()))
	w.Header().Set("Docker-Upload-UUID", s.id)
	return newErr(http.StatusRequestedRangeNotSatisfiable, codeBlobUploadInvalid, msg)
}

// copyBuffers hold the 1 MiB buffers uploads stream through: large enough
// that a blob costs few write and hash calls, bounded by the number of
// uploads in flight.
var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 1<<20); return &b }}

// appendBody streams the request body onto the session's data, keeping the
// running sha256. On a failed read the data is cut back to what it was, so
// the session stays consistent with what the client saw acknowledged.
func (rg *Registry) appendBody(s *uploadSession, body io.Reader) error {
	if body == nil {
		return nil
	}
	before := s.file.size()
	limit := rg.cfg.MaxBlobSize - before
	// The storage's write errors are told apart from the client's read
	// errors: a full disk is the server's failure (5xx, logged), a body
	// cut short the client's (400).
	store := &errWriter{w: s.file}
	var dst io.Writer = store
	if s.sha256 != nil {
		dst = io.MultiWriter(store, s.sha256)
	}
	buf := copyBuffers.Get().(*[]byte)
	n, err := io.CopyBuffer(dst, io.LimitReader(body, limit+1), *buf)
	copyBuffers.Put(buf)
	if err == nil && n > limit {
		err = newErr(http.StatusRequestEntityTooLarge, codeSizeInvalid, "blob exceeds the registry's size limit")
	}
	if err != nil {
		s.sha256 = nil // the running hash saw bytes that are being dropped
		if terr := s.file.truncate(before); terr != nil {
			return errors.Join(err, terr)
		}
		var ae *apiError
		switch {
		case store.err != nil:
			return store.err
		case errors.As(err, &ae):
			return ae
		}
		return newErr(http.StatusBadRequest, codeBlobUploadInvalid, "reading the request body failed").withDetail(err.Error())
	}
	return nil
}

// errWriter remembers the error of its writer.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	n, err := e.w.Write(p)
	if err != nil && e.err == nil {
		e.err = err
	}
	return n, err
}

// finishUpload verifies the content of s against d and, only if it
// matches, makes it visible as a blob of the repository.
func (rg *Registry) finishUpload(w http.ResponseWriter, s *uploadSession, d digest.Digest) error {
	var got digest.Digest
	if d.Algorithm() == digest.SHA256 && s.sha256 != nil {
		got = digest.NewDigest(digest.SHA256, s.sha256)
	} else {
		rc, err := s.file.reader()
		if err != nil {
			return err
		}
		got, err = d.Algorithm().FromReader(rc)
		rc.Close()
		if err != nil {
			return err
		}
	}
	if got != d {
		if s.id == "" {
			_ = s.file.discard()
		}
		return errBadDigest.withDetail(map[string]string{"expected": d.String(), "computed": got.String()})
	}
	if err := rg.store.commitBlob(s.file, d); err != nil {
		return err
	}
	s.closed = true // the data now belongs to the blob store
	if err := rg.store.linkBlob(s.repo, d); err != nil {
		return err
	}
	w.Header().Set("Location", blobLocation(s.repo, d))
	w.Header().Set("Docker-Content-Digest", d.String())
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusCreated)
	return nil
}
