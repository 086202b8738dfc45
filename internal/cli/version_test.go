package cli

import (
	"runtime/debug"
	"testing"
)

// TestVersionFromBuildInfo: a binary from 'go install …/cmd/signet@v1.2.0'
// (no -X stamps) reports v1.2.0, not "dev"; a checkout build its commit
// and time; what make build stamps always wins.
func TestVersionFromBuildInfo(t *testing.T) {
	unstamped := VersionResult{Version: "dev", Commit: "none", Date: "unknown"}
	installed := &debug.BuildInfo{Main: debug.Module{Path: "github.com/signet-oci/signet", Version: "v1.2.0"}}
	if got := withBuildInfo(unstamped, installed); got.Version != "v1.2.0" || got.Commit != "none" || got.Date != "unknown" {
		t.Errorf("go install @v1.2.0: %+v, want version v1.2.0", got)
	}
	checkout := &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "9eb945e0123456789abcdef0123456789abcdef0"}, {Key: "vcs.time", Value: "2026-11-28T02:05:15Z"},
	}}
	if got := withBuildInfo(unstamped, checkout); got.Version != "dev" || got.Commit != "9eb945e01234" || got.Date != "2026-11-28T02:05:15Z" {
		t.Errorf("go build in a checkout: %+v, want commit 9eb945e01234 and its time", got)
	}
	stamped := VersionResult{Version: "v1.3.0", Commit: "abc1234", Date: "2026-11-01T00:00:00Z"}
	if got := withBuildInfo(stamped, installed); got != stamped {
		t.Errorf("make build's stamps: %+v, want %+v", got, stamped)
	}
	if got := withBuildInfo(unstamped, nil); got != unstamped {
		t.Errorf("no build information: %+v", got)
	}
}
