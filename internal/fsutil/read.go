package fsutil

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// ErrTooLarge is returned by ReadFileLimit for content over its limit.
var ErrTooLarge = errors.New("over the size limit")

// ReadFileLimit reads the file at path, refusing (with ErrTooLarge) one of
// more than limit bytes. It never reads more than limit+1 bytes, so a pipe,
// a device or a file that grows while read (`-f <(curl …)`, /dev/zero)
// cannot exhaust memory, which a stat-then-ReadFile check does not ensure.
func ReadFileLimit(path string, limit int64) ([]byte, error) {
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
