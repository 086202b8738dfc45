//go:build !linux

package registry

import "os"

// mapMemFile: there are no in-memory files here (newMemFile), nothing to map.
func mapMemFile(*os.File, int64) []byte { return nil }

func unmapMemFile([]byte) {}
