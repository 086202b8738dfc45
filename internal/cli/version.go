package cli

import (
	"runtime"
	"strings"

	"github.com/spf13/cobra"
)

func newVersionCmd(streams IOStreams) *cobra.Command {
	opts := formats("text", "json")
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print signet's version",
		Args:  exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return opts.print(streams.Out, versionResult())
		},
	}
	return withGroups(cmd, streams, &opts)
}

// versionLine is what 'signet version' and 'signet --version' print.
func versionLine() string {
	var b strings.Builder
	_ = versionResult().writeText(&b)
	return strings.TrimSuffix(b.String(), "\n")
}

func versionResult() VersionResult {
	return VersionResult{Version: Version, Commit: Commit, Date: Date, Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
}
