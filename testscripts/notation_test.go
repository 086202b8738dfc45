package testscripts

// TestScriptsNotation runs testdata/notation/*.txtar: signet and the genuine
// notation CLI v1.3.2 (bin/seed-tools/notation, built by `make seed-tools`),
// both ways, JWS and COSE. Each script runs twice: against a fresh embedded
// registry (referrers API) and against the distribution registry at
// $SIGNET_TEST_REGISTRY (no referrers API: the sha256-<hex> tag fallback;
// `make test` starts distribution v3.1.2 and sets it).
//
// Each script gets its own notation configuration: $HOME and
// $XDG_CONFIG_HOME are fresh directories under $WORK, so notation's keys,
// trust store and trust policy are $XDG_CONFIG_HOME/notation/…. The
// notation binary's directory is first on $PATH, so scripts say
// `exec notation …` as a user would.
//
// Each script also gets an in-process RFC 3161 TSA: $TSA_URL, and its root
// in tsa-root.crt.
//
// Extra command for these scripts:
//
//	expand SRC DST    copy SRC to DST with $NAME and ${NAME} replaced by the
//	                  script's environment (for trust policies naming
//	                  $REGISTRY/$REPO)

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/signet-oci/signet/internal/testpki"
	"github.com/signet-oci/signet/internal/testtool"
)

func TestScriptsNotation(t *testing.T) {
	notationBin := testtool.Seed(t, testtool.Notation)
	files, err := filepath.Glob("testdata/notation/*.txtar")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata/notation/*.txtar scripts: %v", err)
	}
	withNotation := func(env *testscript.Env) error {
		env.Setenv("PATH", filepath.Dir(notationBin)+string(os.PathListSeparator)+env.Getenv("PATH"))
		home := filepath.Join(env.WorkDir, "home")
		config := filepath.Join(env.WorkDir, "config")
		for _, d := range []string{home, config} {
			if err := os.MkdirAll(d, 0o700); err != nil {
				return err
			}
		}
		env.Setenv("HOME", home)
		env.Setenv("XDG_CONFIG_HOME", config)
		// An RFC 3161 TSA for timestamp.txtar: $TSA_URL, tsa-root.crt.
		tsa := testpki.New(t, "signet notation TSA")
		tsa.WriteRoot(t, env.WorkDir, "tsa-root.crt")
		env.Setenv("TSA_URL", tsa.URL)
		return nil
	}
	run := func(t *testing.T, external bool, setup func(*testscript.Env) error) {
		p := params(t, "", external, func(env *testscript.Env) error {
			if err := setup(env); err != nil {
				return err
			}
			return withNotation(env)
		})
		p.Cmds["expand"] = cmdExpand
		p.Files = files
		testscript.Run(t, p)
	}
	t.Run("embedded", func(t *testing.T) {
		run(t, false, func(env *testscript.Env) error {
			addr, err := startRegistry(env)
			if err != nil {
				return err
			}
			env.Setenv("REGISTRY", addr)
			env.Setenv("REPO", "busybox")
			return nil
		})
	})
	t.Run("distribution", func(t *testing.T) {
		addr := os.Getenv("SIGNET_TEST_REGISTRY")
		if addr == "" {
			testtool.Missing(t, "SIGNET_TEST_REGISTRY is not set (no distribution v3.1.2 registry to run against)",
				"'make test' starts one and sets it")
			return
		}
		run(t, true, func(env *testscript.Env) error {
			env.Setenv("REGISTRY", addr)
			env.Setenv("REPO", fmt.Sprintf("signet-notation/%d-%d/busybox", time.Now().UnixNano(), repoSeq.Add(1)))
			return nil
		})
	})
}

func cmdExpand(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: expand SRC DST")
	}
	out := os.Expand(ts.ReadFile(args[0]), ts.Getenv)
	ts.Check(os.WriteFile(ts.MkAbs(args[1]), []byte(out), 0o644))
}
