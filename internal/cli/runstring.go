package cli

import (
	"bytes"
	"context"
	"strings"
)

// RunString runs signet in-process as Run does, with stdin as its standard
// input, and returns its exit status and what it wrote to stdout and
// stderr. It is the one in-process runner of every test package (this
// package's, cli_test, gendocs, testscripts).
func RunString(ctx context.Context, stdin string, args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = Run(ctx, args, IOStreams{In: strings.NewReader(stdin), Out: &out, Err: &errOut})
	return code, out.String(), errOut.String()
}
