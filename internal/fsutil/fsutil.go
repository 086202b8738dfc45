// Package fsutil writes files the way every signet command must (the
// "Files" rule of docs/cli-conventions.md):
//
//   - a regular file is written atomically (temporary file in the same
//     directory, fsync, rename): either the whole file appears or nothing
//     changes, and a failed command leaves no partial file;
//   - a symbolic link is followed: the file it points at is replaced
//     atomically, the link itself stays a link;
//   - a device or FIFO (-o /dev/null, -o /dev/stdout, a named pipe) is
//     written through, never replaced by a regular file; a socket or a
//     directory is refused;
//   - a file that is an input of the same command (the key, the manifest
//     being signed …) is never overwritten;
//   - an existing PEM private key is never overwritten unless --force.
package fsutil

import (
	"bytes"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/signet-oci/signet/pkg/errdef"
)

// Output says what a command's output file must not overwrite.
type Output struct {
	// Inputs are the files the command reads; the output must not be one
	// of them (compared as files: symlinks and hard links included).
	Inputs []string
	// Force allows overwriting an existing private key.
	Force bool
}

// ErrRefused is wrapped by the errors of Check: the output file would
// destroy something. The CLI reports it as a usage error.
var ErrRefused = errors.New("refused to overwrite")

// Check tells whether path may be written under the rule: not an input,
// not an existing private key (unless Force), not a directory or socket.
// Commands call it before doing their work, so that nothing is computed,
// signed or pushed for an output that will be refused.
func (o Output) Check(path string) error {
	if path == "-" || path == "" {
		return nil
	}
	fi, err := os.Stat(path) // follows symlinks: what would be written
	if err != nil {
		return nil // nothing there (or a dangling link): nothing to destroy
	}
	for _, in := range o.Inputs {
		if in == "" {
			continue
		}
		if ii, err := os.Stat(in); err == nil && os.SameFile(fi, ii) {
			return fmt.Errorf("%w %s: it is an input of this command (%s); write the output elsewhere", ErrRefused, path, in)
		}
	}
	switch {
	case fi.IsDir():
		return fmt.Errorf("%w %s: it is a directory", ErrRefused, path)
	case fi.Mode()&fs.ModeSocket != 0:
		return fmt.Errorf("%w %s: it is a socket", ErrRefused, path)
	case fi.Mode().IsRegular() && !o.Force && isPrivateKey(path):
		return fmt.Errorf("%w %s: it holds a private key; remove it or pass --force", ErrRefused, path)
	}
	return nil
}

// Write checks path under the rule and writes data to it: atomically for
// a regular file (or a symlink's target), through for a device or FIFO.
func (o Output) Write(path string, data []byte, perm os.FileMode) error {
	if err := o.Check(path); err != nil {
		return err
	}
	return WriteFileAtomic(path, data, perm)
}

// isPrivateKey reports whether the regular file at path holds a PEM
// private key block (PKCS #8, PKCS #1, SEC 1, encrypted, OpenSSH).
func isPrivateKey(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	b, _ := io.ReadAll(io.LimitReader(f, 1<<20))
	for len(b) > 0 {
		i := bytes.Index(b, []byte("-----BEGIN "))
		if i < 0 {
			return false
		}
		block, rest := pem.Decode(b[i:])
		if block == nil {
			b = b[i+len("-----BEGIN "):]
			continue
		}
		if strings.HasSuffix(block.Type, "PRIVATE KEY") {
			return true
		}
		b = rest
	}
	return false
}

// WriteFileAtomic writes data to path with mode perm: atomically for a
// regular file (a symlink is followed and its target replaced), through
// for a device or FIFO. Empty data is refused: a 0-byte signature or key
// is never what a user wants. It does not apply Output's checks.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	if len(data) == 0 {
		return fmt.Errorf("refusing to write an empty file to %s", path)
	}
	if path == "-" {
		_, err := os.Stdout.Write(data)
		return err
	}
	if fi, err := os.Stat(path); err == nil {
		switch {
		case fi.IsDir():
			return fmt.Errorf("cannot write %s: it is a directory", path)
		case fi.Mode()&fs.ModeSocket != 0:
			return fmt.Errorf("cannot write %s: it is a socket", path)
		case isProcFD(path) >= 0:
			// /dev/stdout and friends name an open file of this
			// process: write through that very descriptor (a
			// duplicate shares its offset), so that the bytes land
			// where a shell redirection expects them, in order with
			// what else the process writes there.
			return writeFD(path, isProcFD(path), data)
		case !fi.Mode().IsRegular():
			// A device or a FIFO: never replaced by a regular file.
			return writeThrough(path, data)
		}
	}
	target, err := resolveLinks(path)
	if err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	return replace(path, target, data, perm)
}

// isProcFD returns the descriptor number that path names among the
// process's own (/dev/stdin, /dev/stdout, /dev/stderr, /dev/fd/N,
// /proc/self/fd/N), or -1.
func isProcFD(path string) int {
	p := filepath.Clean(path)
	switch p {
	case "/dev/stdin":
		return 0
	case "/dev/stdout":
		return 1
	case "/dev/stderr":
		return 2
	}
	for _, prefix := range []string{"/dev/fd/", "/proc/self/fd/"} {
		if n, ok := strings.CutPrefix(p, prefix); ok {
			if fd, err := strconv.Atoi(n); err == nil && fd >= 0 {
				return fd
			}
		}
	}
	return -1
}

func writeThrough(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		f, err = os.OpenFile(path, os.O_WRONLY, 0)
	}
	if err != nil {
		return fmt.Errorf("cannot write %s: %w", path, UnwrapPath(err))
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("cannot write %s: %w", path, UnwrapPath(err))
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("cannot write %s: %w", path, UnwrapPath(err))
	}
	return nil
}

// resolveLinks follows path while it is a symbolic link (dangling ones
// included) and returns the file the links end at.
func resolveLinks(path string) (string, error) {
	p := path
	for i := 0; i < 40; i++ {
		fi, err := os.Lstat(p)
		if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			return p, nil
		}
		t, err := os.Readlink(p)
		if err != nil {
			return "", err
		}
		if !filepath.IsAbs(t) {
			t = filepath.Join(filepath.Dir(p), t)
		}
		p = t
	}
	return "", errors.New("too many levels of symbolic links")
}

// replace writes data to a temporary file beside target and renames it
// over target.
func replace(path, target string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(target)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(target)+".tmp-*")
	if err != nil {
		return fmt.Errorf("cannot write %s: %w", path, UnwrapPath(err))
	}
	name := tmp.Name()
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(name)
		}
	}()
	if err := tmp.Chmod(perm); err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	if err := os.Rename(name, target); err != nil {
		return fmt.Errorf("cannot write %s: %w", path, UnwrapPath(err))
	}
	ok = true
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// UnwrapPath is errdef.UnwrapPath (defined once there, since pkg/ cannot
// import this package); the name stays for the callers under internal/.
var UnwrapPath = errdef.UnwrapPath
