package testpki

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// PluginName is the test notation plugin's name.
const PluginName = "signet-test"

// InstallPlugin builds the test notation signing plugin
// (./notation-signet-test) into a notation plugin directory under dir, in
// notation's layout (<plugins>/signet-test/notation-signet-test), and
// returns the plugin directory.
func InstallPlugin(t testing.TB, dir string) string {
	t.Helper()
	plugins := filepath.Join(dir, "plugins")
	bin := filepath.Join(plugins, PluginName, "notation-"+PluginName)
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	cmd := exec.Command(goBin, "build", "-o", bin, "github.com/signet-oci/signet/internal/testpki/notation-signet-test")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the test plugin: %v\n%s", err, out)
	}
	return plugins
}
