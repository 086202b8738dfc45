package errdef_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"testing"

	"github.com/signet-oci/signet/pkg/errdef"
)

func TestUnwrapPath(t *testing.T) {
	_, err := os.ReadFile("/nonexistent/signet-unwrap-path")
	got := errdef.UnwrapPath(fmt.Errorf("reading: %w", err))
	if got.Error() != "no such file or directory" || !errors.Is(got, fs.ErrNotExist) {
		t.Errorf("UnwrapPath(wrapped *PathError) = %q, want the inner error alone", got)
	}
	plain := errors.New("plain")
	if got := errdef.UnwrapPath(plain); got != plain {
		t.Errorf("UnwrapPath(plain) = %v, want it unchanged", got)
	}
}
