//go:build unix

package fsutil

import (
	"fmt"
	"os"
	"syscall"
)

// LockDir takes an exclusive advisory lock (flock) on the directory dir
// (an OCI layout), waiting for another signet process holding it, and
// returns its release. It serializes the read-modify-write of a layout's
// index.json between concurrent signet processes (push-signature, copy);
// writers that do not take it (oras, other tools) are not held back.
func LockDir(dir string) (func(), error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("locking the OCI layout %s: %w", dir, err)
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("locking the OCI layout %s: %w", dir, err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
