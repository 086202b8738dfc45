//go:build !unix

package registry

import "os"

func readSmall(path string) ([]byte, error) { return os.ReadFile(path) }
