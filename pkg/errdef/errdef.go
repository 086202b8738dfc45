// Package errdef holds the error classes every signet library returns:
// wrapped errors for which errors.Is(err, ErrUsage), ErrVerification or
// ErrNotFound holds, so that a Go program using pkg/discover, pkg/verify,
// pkg/removal and the others can tell "the input is wrong" from "not
// proven valid" from "not there" without parsing the text. The signet CLI
// maps them to exit statuses 2, 3 and 4 (docs/exit-codes.md).
package errdef

import "errors"

var (
	// ErrUsage: the request itself is malformed (bad flag value, bad
	// reference syntax). Exit status 2.
	ErrUsage = errors.New("usage error")
	// ErrVerification: signatures were found, none is valid. Exit status 3.
	ErrVerification = errors.New("verification failed")
	// ErrNotFound: nothing was found where something was required (no
	// signature, no referrer, unknown reference). Exit status 4.
	ErrNotFound = errors.New("not found")
)

// Usage wraps err so that errors.Is(err, ErrUsage) holds. Usage, NotFound
// and Verification never return nil: given a nil err, the error is the
// class alone ("usage error"), never a success nor a panic.
func Usage(err error) error { return &wrapped{err: err, kind: ErrUsage} }

// NotFound wraps err so that errors.Is(err, ErrNotFound) holds.
func NotFound(err error) error { return &wrapped{err: err, kind: ErrNotFound} }

// Verification wraps err so that errors.Is(err, ErrVerification) holds.
func Verification(err error) error { return &wrapped{err: err, kind: ErrVerification} }

type wrapped struct {
	err  error
	kind error
}

func (w *wrapped) Error() string {
	if w.err == nil {
		return w.kind.Error()
	}
	return w.err.Error()
}
func (w *wrapped) Unwrap() []error {
	return []error{w.err, w.kind}
}
