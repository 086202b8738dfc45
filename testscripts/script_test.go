// Package testscripts runs signet's end-to-end scripts (testdata/*.txtar)
// with github.com/rogpeppe/go-internal/testscript. Each script gets:
//
//   - `signet`, the real CLI, run in a subprocess of this test binary;
//   - a fresh embedded registry, its host:port in $REGISTRY (served on a
//     real loopback listener), and $REPO, the repository to use;
//   - the commands below, for what a shell would otherwise do.
//
// Extra commands:
//
//	status N cmd [args...]    run cmd; its exit status must be N
//	testimage KIND PATH       write the test image as KIND: layout (an OCI
//	                          layout directory), legacy or oci (docker save
//	                          tarballs of both shapes), docker-generate (the
//	                          bytes docker-generate printed for legacy),
//	                          multi (an OCI layout whose tag "multi" is a
//	                          linux/amd64, linux/arm64, linux/arm/v7 index)
//	tamper FILE               change one character of a JWT's signature
//	addnewline SRC DST        copy SRC to DST with one newline appended
//	stdout2env NAME           set $NAME to the last command's stdout, trimmed
//	digestof NAME FILE        set $NAME to sha256:<hex> of FILE
//	sleep DURATION            wait (at most 10s)
//
// TestScriptsExternal runs the oci-*.txtar scripts against another registry
// (a real distribution registry in CI): SIGNET_TEST_REGISTRY=host:port.
package testscripts

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/signet-oci/signet/internal/cli"
	"github.com/signet-oci/signet/internal/testimage"
	"github.com/signet-oci/signet/internal/testregistry"
	"github.com/signet-oci/signet/internal/testtool"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"signet": func() { os.Exit(cli.Main()) },
	})
}

func TestScripts(t *testing.T) {
	testscript.Run(t, params(t, "testdata", false, func(env *testscript.Env) error {
		addr, err := startRegistry(env)
		if err != nil {
			return err
		}
		env.Setenv("REGISTRY", addr)
		env.Setenv("REPO", "busybox")
		env.Setenv("EXTERNAL", "")
		return nil
	}))
}

var repoSeq atomic.Int64

// TestScriptsExternal runs the OCI-format scripts against the registry at
// $SIGNET_TEST_REGISTRY (make test starts distribution v3 for it).
func TestScriptsExternal(t *testing.T) {
	addr := testRegistry(t)
	p := params(t, "", true, func(env *testscript.Env) error {
		env.Setenv("REGISTRY", addr)
		env.Setenv("REPO", fmt.Sprintf("signet-test/%d-%d/busybox", time.Now().UnixNano(), repoSeq.Add(1)))
		env.Setenv("EXTERNAL", "1")
		return nil
	})
	files, err := filepath.Glob("testdata/oci-*.txtar")
	if err != nil || len(files) == 0 {
		t.Fatalf("no oci-*.txtar scripts: %v", err)
	}
	p.Files = files
	testscript.Run(t, p)
}

// TestScriptsOras runs the testdata/oras/*.txtar interop scripts with the real oras
// CLI (on PATH, or $SIGNET_ORAS_BIN; make test installs v1.3.6), against a
// fresh embedded registry per script (referrers API) and, when
// SIGNET_TEST_REGISTRY is set, against that registry too (tag fallback on
// distribution).
func TestScriptsOras(t *testing.T) {
	orasBin := testtool.Tool(t, "oras", "SIGNET_ORAS_BIN")
	files, err := filepath.Glob("testdata/oras/*.txtar")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata/oras/*.txtar scripts: %v", err)
	}
	withOras := func(env *testscript.Env) {
		env.Setenv("PATH", filepath.Dir(orasBin)+string(os.PathListSeparator)+env.Getenv("PATH"))
		env.Setenv("HOME", env.WorkDir) // oras keeps its config under $HOME
	}
	t.Run("embedded", func(t *testing.T) {
		p := params(t, "", false, func(env *testscript.Env) error {
			addr, err := startRegistry(env)
			if err != nil {
				return err
			}
			env.Setenv("REGISTRY", addr)
			env.Setenv("REPO", "busybox")
			withOras(env)
			return nil
		})
		p.Files = files
		testscript.Run(t, p)
	})
	t.Run("external", func(t *testing.T) {
		addr := testRegistry(t)
		p := params(t, "", true, func(env *testscript.Env) error {
			env.Setenv("REGISTRY", addr)
			env.Setenv("REPO", fmt.Sprintf("signet-oras/%d-%d/busybox", time.Now().UnixNano(), repoSeq.Add(1)))
			withOras(env)
			return nil
		})
		p.Files = files
		testscript.Run(t, p)
	})
}

// testRegistry is the external registry's host:port, $SIGNET_TEST_REGISTRY;
// without it t is skipped (failed under CI=true).
func testRegistry(t *testing.T) string {
	t.Helper()
	addr := os.Getenv("SIGNET_TEST_REGISTRY")
	if addr == "" {
		testtool.Missing(t, "SIGNET_TEST_REGISTRY is not set (the distribution registry to test against)",
			"'make test' starts one (bin/tools/registry, installed by 'make tools') and sets it")
	}
	return addr
}

func params(t *testing.T, dir string, external bool, setup func(*testscript.Env) error) testscript.Params {
	return testscript.Params{
		Dir:                 dir,
		Setup:               setup,
		RequireExplicitExec: false,
		Condition: func(cond string) (bool, error) {
			switch cond {
			case "external":
				return external, nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"status":     cmdStatus,
			"testimage":  cmdTestimage,
			"tamper":     cmdTamper,
			"addnewline": cmdAddNewline,
			"stdout2env": cmdStdout2Env,
			"digestof":   cmdDigestOf,
			"sleep":      cmdSleep,
		},
	}
}

// startRegistry serves a fresh in-memory embedded registry configured by
// opts on a loopback port, for a script: its host:port, stopped when the
// script ends.
func startRegistry(env *testscript.Env, opts ...testregistry.Option) (string, error) {
	srv, err := testregistry.New(opts...)
	if err != nil {
		return "", err
	}
	env.Defer(srv.Close)
	return srv.Host, nil
}

func cmdStatus(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! status")
	}
	if len(args) < 2 {
		ts.Fatalf("usage: status N cmd [args...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("status: %v", err)
	}
	err = ts.Exec(args[1], args[2:]...)
	got := 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("status: running %s: %v", args[1], err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("%s exited with status %d, want %d", args[1], got, want)
	}
}

func cmdTestimage(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: testimage layout|legacy|oci|docker-generate|multi PATH")
	}
	p := ts.MkAbs(args[1])
	var err error
	switch args[0] {
	case "layout":
		err = testimage.WriteOCILayout(p)
	case "legacy":
		err = testimage.WriteLegacyArchive(p)
	case "oci":
		err = testimage.WriteOCIArchive(p)
	case "docker-generate":
		err = testimage.WriteDockerGenerateManifest(p)
	case "multi":
		err = testimage.WriteMultiArchLayout(p)
	default:
		ts.Fatalf("testimage: unknown kind %q", args[0])
	}
	ts.Check(err)
}

func cmdTamper(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: tamper FILE")
	}
	p := ts.MkAbs(args[0])
	b, err := os.ReadFile(p)
	ts.Check(err)
	i := strings.LastIndexByte(string(b), '.')
	if i < 0 || i+5 >= len(b) {
		ts.Fatalf("tamper: %s is not a compact JWT", args[0])
	}
	// Flip a character in the middle of the signature segment.
	j := i + 1 + (len(b)-i-1)/2
	if b[j] == 'A' {
		b[j] = 'B'
	} else {
		b[j] = 'A'
	}
	ts.Check(os.WriteFile(p, b, 0o644))
}

func cmdAddNewline(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: addnewline SRC DST")
	}
	b, err := os.ReadFile(ts.MkAbs(args[0]))
	ts.Check(err)
	ts.Check(os.WriteFile(ts.MkAbs(args[1]), append(b, '\n'), 0o644))
}

func cmdStdout2Env(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: stdout2env NAME")
	}
	ts.Setenv(args[0], strings.TrimSpace(ts.ReadFile("stdout")))
}

func cmdDigestOf(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: digestof NAME FILE")
	}
	b, err := os.ReadFile(ts.MkAbs(args[1]))
	ts.Check(err)
	sum := sha256.Sum256(b)
	ts.Setenv(args[0], "sha256:"+hex.EncodeToString(sum[:]))
}

func cmdSleep(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: sleep DURATION")
	}
	d, err := time.ParseDuration(args[0])
	ts.Check(err)
	if d > 10*time.Second {
		ts.Fatalf("sleep: %s is over the 10s bound", d)
	}
	time.Sleep(d)
}
