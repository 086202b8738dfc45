// Package bounded reads files whose size the reader does not control (a
// file named on the command line may be a pipe, a device or a file that
// grows while read) without reading more than a limit.
package bounded

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// ErrTooLarge is returned by ReadFile for content over its limit.
var ErrTooLarge = errors.New("over the size limit")

// ReadFile reads the file at path, refusing (with ErrTooLarge) one of
// more than limit bytes. It never reads more than limit+1 bytes, so a pipe,
// a device or a file that grows while read (`-f <(curl …)`, /dev/zero)
// cannot exhaust memory, which a stat-then-ReadFile check does not ensure.
func ReadFile(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes: %w", path, limit, ErrTooLarge)
	}
	return b, nil
}
