//go:build !unix && !windows

package registry

import "os"

// No file locking here: one registry per root is the user's to ensure.
func lockFile(*os.File) error { return nil }
func unlockFile(*os.File)     {}
