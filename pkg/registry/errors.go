package registry

import (
	"encoding/json"
	"errors"
	"net/http"
	"syscall"
)

// Error codes of the OCI distribution specification (v1.1, "Error Codes").
const (
	codeBlobUnknown         = "BLOB_UNKNOWN"
	codeBlobUploadInvalid   = "BLOB_UPLOAD_INVALID"
	codeBlobUploadUnknown   = "BLOB_UPLOAD_UNKNOWN"
	codeDigestInvalid       = "DIGEST_INVALID"
	codeManifestBlobUnknown = "MANIFEST_BLOB_UNKNOWN"
	codeManifestInvalid     = "MANIFEST_INVALID"
	codeManifestUnknown     = "MANIFEST_UNKNOWN"
	codeNameInvalid         = "NAME_INVALID"
	codeNameUnknown         = "NAME_UNKNOWN"
	codeSizeInvalid         = "SIZE_INVALID"
	codeUnauthorized        = "UNAUTHORIZED"
	codeDenied              = "DENIED"
	codeUnsupported         = "UNSUPPORTED"
	codeTooManyRequests     = "TOOMANYREQUESTS"
)

// apiError is an error that is reported to the client in the spec's
// {"errors":[{"code","message","detail"}]} form with an HTTP status.
type apiError struct {
	Status  int
	Code    string
	Message string
	Detail  any
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func newErr(status int, code, message string) *apiError {
	return &apiError{Status: status, Code: code, Message: message}
}

func (e *apiError) withDetail(d any) *apiError {
	c := *e
	c.Detail = d
	return &c
}

// errNotFound is returned by storage when an object does not exist.
var errNotFound = errors.New("not found")

type errorBody struct {
	Errors []errorEntry `json:"errors"`
}

type errorEntry struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Detail  any    `json:"detail,omitempty"`
}

// writeError answers err to the client. Errors that are not *apiError are
// internal: the client gets a 500 without internal detail, and the error is
// logged.
func (rg *Registry) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiError
	if !errors.As(err, &ae) {
		ae = rg.internalError(r, err)
	}
	if ae.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="signet"`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Del("Content-Length")
	w.WriteHeader(ae.Status)
	if r.Method == http.MethodHead {
		return
	}
	_ = json.NewEncoder(w).Encode(errorBody{Errors: []errorEntry{{Code: ae.Code, Message: ae.Message, Detail: ae.Detail}}})
}

// codeUnknown is what distribution answers for server-side failures; the
// spec has no code for them.
const codeUnknown = "UNKNOWN"

// internalError logs err (a storage failure names the file: an
// *fs.PathError) and returns what the client gets: a 5xx with a generic
// message and no server detail, 507 when the storage is full.
func (rg *Registry) internalError(r *http.Request, err error) *apiError {
	rg.log.Error("storage or internal error", "method", r.Method, "path", r.URL.Path, "err", err)
	if errors.Is(err, syscall.ENOSPC) {
		return newErr(http.StatusInsufficientStorage, codeUnknown, "insufficient storage: the registry could not store the data")
	}
	return newErr(http.StatusInternalServerError, codeUnknown, "internal server error")
}
