//go:build !unix

package fsutil

// LockDir is a no-op where flock is not available: concurrent signet
// writers into one layout may lose an index.json entry there.
func LockDir(string) (func(), error) { return func() {}, nil }
