package testscripts

// TestScriptsCopy runs testdata/copy/*.txtar: copy -r between the genuine
// 2021 registry, the embedded registry, a real distribution registry and
// OCI layouts, with the real oras CLI reading what signet copied. Each
// script gets:
//
//   - $PROTO: a fresh genuine 2021 registry (bin/seed-tools/proto-registry:
//     links API, no referrers API);
//   - $DISTRIBUTION: a fresh distribution registry (bin/tools/registry, or
//     $SIGNET_DISTRIBUTION_BIN: no links API, no referrers API);
//   - $EMBEDDED: a fresh embedded registry (links API and referrers API);
//   - oras (bin/tools/oras or $SIGNET_ORAS_BIN) on PATH.

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/signet-oci/signet/internal/testtool"
)

func TestScriptsCopy(t *testing.T) {
	proto := testtool.Seed(t, testtool.ProtoRegistry)
	dist := testtool.Tool(t, "registry", "SIGNET_DISTRIBUTION_BIN")
	orasBin := testtool.Tool(t, "oras", "SIGNET_ORAS_BIN")
	files, err := filepath.Glob("testdata/copy/*.txtar")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata/copy/*.txtar scripts: %v", err)
	}
	p := params(t, "", false, func(env *testscript.Env) error {
		// distribution reads the same configuration as the 2021 registry,
		// which is a fork of it.
		for name, bin := range map[string]string{"PROTO": proto, "DISTRIBUTION": dist} {
			addr, stop, err := startProtoRegistry(bin)
			if err != nil {
				return err
			}
			env.Defer(stop)
			env.Setenv(name, addr)
		}
		addr, err := startRegistry(env)
		if err != nil {
			return err
		}
		env.Setenv("EMBEDDED", addr)
		env.Setenv("PATH", filepath.Dir(orasBin)+string(os.PathListSeparator)+env.Getenv("PATH"))
		env.Setenv("HOME", env.WorkDir) // oras keeps its config under $HOME
		return nil
	})
	p.Files = files
	testscript.Run(t, p)
}
