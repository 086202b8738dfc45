package testscripts

// TestScriptsSeed runs testdata/seed/*.txtar against the genuine 2021 tools
// (bin/seed-tools, built by `make seed-tools`; $SIGNET_SEED_TOOLS names
// another directory). Each script gets, besides what params gives:
//
//   - a fresh genuine 2021 registry (proto-registry) on a free loopback port
//     with a temporary root directory: $REGISTRY, and $REPO;
//   - nv2, nv2-fixed and docker-generate on PATH;
//   - two fresh embedded registries to compare request counts with:
//     $EMBEDDED (signet registry serve: links API and referrers API) and
//     $EMBEDDED_LINKS (links API, no referrers API: the genuine registry's
//     mechanisms);
//   - [exec:openssl] for the walkthrough's `openssl req -x509` lines, and
//     [ci] (CI=true), under which a missing openssl fails instead of skipping.
//
// Extra commands:
//
//	reqcount NAME          set $NAME to the request count the last signet --debug printed
//	atmost A B             fail unless the integer A is at most B
//	isempty FILE           fail unless FILE exists and is empty

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/signet-oci/signet/internal/testregistry"
	"github.com/signet-oci/signet/internal/testtool"
)

func TestScriptsSeed(t *testing.T) {
	proto := testtool.Seed(t, testtool.ProtoRegistry)
	testtool.Seed(t, testtool.NV2)
	testtool.Seed(t, testtool.NV2Fixed)
	testtool.Seed(t, testtool.DockerGenerate)
	seedDir := filepath.Dir(proto)
	files, err := filepath.Glob("testdata/seed/*.txtar")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata/seed/*.txtar scripts: %v", err)
	}
	p := params(t, "", false, func(env *testscript.Env) error {
		addr, stop, err := startProtoRegistry(proto)
		if err != nil {
			return err
		}
		env.Defer(stop)
		env.Setenv("REGISTRY", addr)
		env.Setenv("REPO", "busybox")
		for name, opts := range map[string][]testregistry.Option{
			"EMBEDDED":       nil,
			"EMBEDDED_LINKS": {testregistry.NoReferrers()},
		} {
			a, err := startRegistry(env, opts...)
			if err != nil {
				return err
			}
			env.Setenv(name, a)
		}
		env.Setenv("PATH", seedDir+string(os.PathListSeparator)+env.Getenv("PATH"))
		return nil
	})
	p.Files = files
	cond := p.Condition
	p.Condition = func(c string) (bool, error) {
		if c == "ci" {
			return testtool.CI(), nil
		}
		return cond(c)
	}
	p.Cmds["reqcount"] = cmdSeedReqCount
	p.Cmds["atmost"] = cmdSeedAtMost
	p.Cmds["isempty"] = cmdSeedIsEmpty
	testscript.Run(t, p)
}

// startProtoRegistry starts the genuine 2021 registry on a free loopback
// port with a temporary root directory, and waits until GET /v2/ answers.
func startProtoRegistry(bin string) (string, func(), error) {
	var lastErr error
	for range 3 { // the free port may be taken between choosing and listening
		addr, stop, err := tryProtoRegistry(bin)
		if err == nil {
			return addr, stop, nil
		}
		lastErr = err
	}
	return "", nil, lastErr
}

func tryProtoRegistry(bin string) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	dir, err := os.MkdirTemp("", "signet-proto-registry-")
	if err != nil {
		return "", nil, err
	}
	cfg := filepath.Join(dir, "config.yml")
	conf := fmt.Sprintf("version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: %s\n", filepath.Join(dir, "root"), addr)
	if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
		os.RemoveAll(dir)
		return "", nil, err
	}
	var logs bytes.Buffer
	cmd := exec.Command(bin, "serve", cfg)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return "", nil, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	stop := func() {
		_ = cmd.Process.Kill()
		<-done
		os.RemoveAll(dir)
	}
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-done:
			done <- err
			stop()
			return "", nil, fmt.Errorf("proto-registry exited (%v): %s", err, logs.String())
		default:
		}
		resp, err := http.Get("http://" + addr + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return addr, stop, nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop()
	return "", nil, errors.New("proto-registry did not answer GET /v2/ within 15s: " + logs.String())
}

var seedDebugCountRE = regexp.MustCompile(`debug: (\d+) HTTP request\(s\)`)

func cmdSeedReqCount(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: reqcount NAME")
	}
	m := seedDebugCountRE.FindAllStringSubmatch(ts.ReadFile("stderr"), -1)
	if len(m) == 0 {
		ts.Fatalf("reqcount: the last command printed no 'debug: N HTTP request(s)' line (run signet with --debug)")
	}
	ts.Setenv(args[0], m[len(m)-1][1])
	ts.Logf("%s=%s", args[0], m[len(m)-1][1])
}

func cmdSeedAtMost(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: atmost A B")
	}
	a, err1 := strconv.Atoi(args[0])
	b, err2 := strconv.Atoi(args[1])
	if err1 != nil || err2 != nil {
		ts.Fatalf("atmost: %q and %q must be integers", args[0], args[1])
	}
	if a > b {
		ts.Fatalf("%d is more than %d", a, b)
	}
}

func cmdSeedIsEmpty(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: isempty FILE")
	}
	fi, err := os.Stat(ts.MkAbs(args[0]))
	ts.Check(err)
	if fi.Size() != 0 {
		ts.Fatalf("%s is %d bytes, want empty", args[0], fi.Size())
	}
}
