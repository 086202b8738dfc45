package errdef_test

import (
	"errors"
	"fmt"
	"os"

	"github.com/signet-oci/signet/pkg/errdef"
	"github.com/signet-oci/signet/pkg/reference"
)

// A program tells the kinds of failure apart with errors.Is, as the signet
// CLI does to pick its exit status; the text is for people.
func Example() {
	_, err := reference.Parse("busybox")
	fmt.Println(exitStatus(err), err)

	// A library's own failure, classified with the wrappers: the class
	// survives further wrapping with %w.
	err = fmt.Errorf("checking app:v1: %w", errdef.NotFound(errors.New("no signature found")))
	fmt.Println(exitStatus(err), err)
	fmt.Println(exitStatus(errdef.Verification(errors.New("signed by an untrusted key"))))
	fmt.Println(exitStatus(os.ErrPermission))
	// Output:
	// 2 invalid reference "busybox": a registry reference starts with the registry host, as in 127.0.0.1:5000/busybox:latest
	// 4 checking app:v1: no signature found
	// 3
	// 1
}

// exitStatus is the CLI's mapping (docs/exit-codes.md).
func exitStatus(err error) int {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errdef.ErrUsage):
		return 2
	case errors.Is(err, errdef.ErrVerification):
		return 3
	case errors.Is(err, errdef.ErrNotFound):
		return 4
	}
	return 1
}

// The wrappers never turn a missing error into a success or a panic.
func ExampleUsage_nil() {
	err := errdef.Usage(nil)
	fmt.Println(err != nil, errors.Is(err, errdef.ErrUsage), err)
	// Output:
	// true true usage error
}
