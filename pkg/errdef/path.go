package errdef

import (
	"errors"
	"os"
)

// UnwrapPath is the error inside an *os.PathError (whose message repeats
// the path the caller's own message names already), or err. It is the one
// definition, for pkg/ and internal/ alike.
func UnwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
