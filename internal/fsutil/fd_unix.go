//go:build unix

package fsutil

import (
	"fmt"
	"os"
	"syscall"
)

// writeFD writes data through a duplicate of this process's descriptor
// fd, which shares its file offset and flags.
func writeFD(path string, fd int, data []byte) error {
	dup, err := syscall.Dup(fd)
	if err != nil {
		return writeThrough(path, data)
	}
	f := os.NewFile(uintptr(dup), path)
	defer f.Close()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("cannot write %s: %w", path, UnwrapPath(err))
	}
	return nil
}
