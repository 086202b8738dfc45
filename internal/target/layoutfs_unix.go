//go:build unix

package target

import "syscall"

// oNonblock opens a FIFO without waiting for a writer (layoutFS then
// refuses it as not a regular file); it changes nothing for a regular file.
const oNonblock = syscall.O_NONBLOCK
