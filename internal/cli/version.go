package cli

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"
)

func newVersionCmd(streams IOStreams) *cobra.Command {
	opts := formats("text", "json")
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print signet's version",
		Args:  exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.Format == "json" {
				return writeJSON(streams.Out, VersionResult{Version: Version, Commit: Commit, Date: Date, Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH})
			}
			fmt.Fprintln(streams.Out, versionLine())
			return nil
		},
	}
	return withGroups(cmd, streams, &opts)
}

// versionLine is what 'signet version' and 'signet --version' print.
func versionLine() string {
	return fmt.Sprintf("signet %s (commit %s, built %s, %s, %s/%s)", Version, Commit, Date, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
