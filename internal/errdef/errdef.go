// Package errdef holds the sentinel errors that signet's libraries wrap so
// that callers (the CLI among them) can classify a failure without parsing
// its text. The CLI maps them to exit statuses (docs/exit-codes.md).
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

// Usage wraps err so that errors.Is(err, ErrUsage) holds.
func Usage(err error) error { return &wrapped{err: err, kind: ErrUsage} }

// NotFound wraps err so that errors.Is(err, ErrNotFound) holds.
func NotFound(err error) error { return &wrapped{err: err, kind: ErrNotFound} }

// Verification wraps err so that errors.Is(err, ErrVerification) holds.
func Verification(err error) error { return &wrapped{err: err, kind: ErrVerification} }

type wrapped struct {
	err  error
	kind error
}

func (w *wrapped) Error() string { return w.err.Error() }
func (w *wrapped) Unwrap() []error {
	return []error{w.err, w.kind}
}
