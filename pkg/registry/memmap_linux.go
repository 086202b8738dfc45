package registry

import (
	"os"

	"golang.org/x/sys/unix"
)

// mapMemFile maps the first n bytes of an in-memory file read-only, with
// its page tables filled in (MAP_POPULATE), so that a download writes the
// blob to the socket straight from memory: no read into a buffer first,
// and no page fault per 4 KiB page while it is sent. It returns nil when
// the mapping is refused (the blob is then read through the file).
func mapMemFile(f *os.File, n int64) []byte {
	if n <= 0 || int64(int(n)) != n {
		return nil
	}
	m, err := unix.Mmap(int(f.Fd()), 0, int(n), unix.PROT_READ, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return nil
	}
	return m
}

func unmapMemFile(m []byte) { _ = unix.Munmap(m) }
