package cli

import (
	"runtime"
	"runtime/debug"
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
	v := VersionResult{Version: Version, Commit: Commit, Date: Date, Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	bi, _ := debug.ReadBuildInfo()
	return withBuildInfo(v, bi)
}

// withBuildInfo fills what the linker did not stamp (make build and the
// release archives stamp everything) from the Go toolchain's build
// information: 'go install github.com/signet-oci/signet/cmd/signet@v1.2.0'
// records the module version v1.2.0, a build in a checkout the commit and
// its time.
func withBuildInfo(v VersionResult, bi *debug.BuildInfo) VersionResult {
	if bi == nil {
		return v
	}
	if v.Version == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		v.Version = bi.Main.Version
	}
	for _, s := range bi.Settings {
		switch {
		case s.Key == "vcs.revision" && v.Commit == "none" && s.Value != "":
			v.Commit = s.Value[:min(len(s.Value), 12)]
		case s.Key == "vcs.time" && v.Date == "unknown" && s.Value != "":
			v.Date = s.Value
		}
	}
	return v
}
