package registry

import (
	"os"

	"golang.org/x/sys/unix"
)

// newMemFile returns an anonymous in-memory file (memfd_create), or nil
// when the kernel refuses one (the caller keeps its chunks).
func newMemFile() (*os.File, error) {
	fd, err := unix.MemfdCreate("signet-registry-blob", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, nil //nolint:nilerr // chunks will do
	}
	return os.NewFile(uintptr(fd), "memfd:signet-registry-blob"), nil
}
