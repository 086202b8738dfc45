package registry

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// rootLockName is the file under the storage root that one registry
// process at a time holds an exclusive lock on (flock(2); LockFileEx on
// Windows), with its PID inside. Two registries on one root would empty
// each other's uploads/ and tmp/ at start and race on every write.
const rootLockName = "lock"

// errRootInUse is returned when another process holds the root's lock.
var errRootInUse = errors.New("in use by another registry")

// rootLock is a held lock on a storage root.
type rootLock struct{ f *os.File }

// lockRoot takes the exclusive lock on root (which exists), or says who
// holds it, or that root is not writable, in one line.
func lockRoot(root string) (*rootLock, error) {
	p := filepath.Join(root, rootLockName)
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, notWritable(root, err)
	}
	if err := lockFile(f); err != nil {
		f.Close()
		if errors.Is(err, errRootInUse) {
			holder := "unknown pid"
			if b, err := os.ReadFile(p); err == nil {
				if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 0 {
					holder = "pid " + strconv.Itoa(pid)
				}
			}
			return nil, fmt.Errorf("registry: storage root %s is %w (%s); stop it or use another directory", root, errRootInUse, holder)
		}
		return nil, fmt.Errorf("registry: locking storage root %s: %w", root, err)
	}
	if err := f.Truncate(0); err != nil {
		unlockFile(f)
		f.Close()
		return nil, notWritable(root, err)
	}
	if _, err := f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0); err != nil {
		unlockFile(f)
		f.Close()
		return nil, notWritable(root, err)
	}
	return &rootLock{f: f}, nil
}

// release drops the lock. The file stays: removing it would let a process
// that opened it before the removal and one that creates it afresh both
// hold "the" lock.
func (l *rootLock) release() error {
	if l == nil || l.f == nil {
		return nil
	}
	_ = l.f.Truncate(0)
	unlockFile(l.f)
	err := l.f.Close()
	l.f = nil
	return err
}

// notWritable is the one-line error for a storage root the registry cannot
// write (a read-only file system, no permission, a full disk).
func notWritable(root string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return fmt.Errorf("registry: storage root %s is not writable: %w", root, err)
}
