package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestSoleCommand: a run of one top-level command builds that command
// alone; its help, and its answer to a bad flag, are those of the whole
// tree, for every command.
func TestSoleCommand(t *testing.T) {
	if got := soleCommand([]string{"verify", "x"}); got != "verify" {
		t.Errorf("soleCommand(verify x) = %q", got)
	}
	for _, args := range [][]string{nil, {"help", "verify"}, {"--version"}, {"__complete", "ver"}, {"completion", "bash"}, {"verfy"}} {
		if got := soleCommand(args); got != "" {
			t.Errorf("soleCommand(%q) = %q, want the whole tree", args, got)
		}
	}
	run := func(root bool, args ...string) (int, string) {
		var out, errOut bytes.Buffer
		streams := IOStreams{In: strings.NewReader(""), Out: &out, Err: &errOut}
		if !root {
			return Run(context.Background(), args, streams), out.String() + errOut.String()
		}
		// The whole tree, as before.
		c := NewRootCmd(streams)
		c.SetArgs(args)
		err := c.ExecuteContext(context.Background())
		if err != nil {
			errOut.WriteString("Error: " + oneLine(err) + "\n")
		}
		return ExitCode(err), out.String() + errOut.String()
	}
	for _, c := range commands {
		for _, args := range [][]string{{c.name, "--help"}, {c.name, "--no-such-flag"}} {
			wantCode, want := run(true, args...)
			gotCode, got := run(false, args...)
			if gotCode != wantCode || got != want {
				t.Errorf("%q: exit %d, output\n%s\nwant exit %d, output\n%s", args, gotCode, got, wantCode, want)
			}
		}
	}
}
