package fsutil

import "github.com/signet-oci/signet/pkg/bounded"

// ErrTooLarge is returned by ReadFileLimit for content over its limit.
var ErrTooLarge = bounded.ErrTooLarge

// ReadFileLimit reads the file at path, refusing (with ErrTooLarge) one of
// more than limit bytes, never reading more than limit+1 (bounded.ReadFile).
func ReadFileLimit(path string, limit int64) ([]byte, error) { return bounded.ReadFile(path, limit) }
