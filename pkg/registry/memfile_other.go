//go:build !linux

package registry

import "os"

// newMemFile: no anonymous in-memory files here; uploads stay in chunks.
func newMemFile() (*os.File, error) { return nil, nil }
