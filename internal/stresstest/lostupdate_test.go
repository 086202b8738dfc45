// Package stresstest holds end-to-end stress tests that run many real
// signet processes at once against real registries.
//
// TestConcurrentSigners: N (16) `signet push-signature --artifact-format
// oci` processes for one subject, started at once, must all exit 0 and
// leave all N artifacts discoverable, in every trial, on:
//
//   - the embedded registry with the referrers API (the registry indexes);
//   - the embedded registry without it (registry.Config.DisableReferrersAPI,
//     `signet registry serve --no-referrers`): the sha256-<hex> tag
//     fallback, with conditional writes (If-Match);
//   - distribution v3.1.2 at $SIGNET_TEST_REGISTRY (make test starts it):
//     the tag fallback without conditional writes (it ignores If-Match).
//
// SIGNET_STRESS_TRIALS sets the trials per registry (default 3; make bench
// runs 20), SIGNET_STRESS_SIGNERS the processes per trial (default 16).
// The signers are processes of $SIGNET_BIN when set (make bench: the built
// bin/signet), else of this test binary acting as signet.
package stresstest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signet-oci/signet/internal/cli"
	"github.com/signet-oci/signet/internal/testregistry"
	"github.com/signet-oci/signet/internal/testtool"
)

const asSignetEnv = "SIGNET_STRESS_AS_SIGNET"

func TestMain(m *testing.M) {
	if os.Getenv(asSignetEnv) == "1" {
		os.Exit(cli.Main())
	}
	os.Exit(m.Run())
}

func envInt(t *testing.T, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

// signet runs the signet CLI as a separate process.
type signet struct {
	bin string
	env []string
	dir string
}

func newSignet(t *testing.T) *signet {
	s := &signet{dir: t.TempDir(), env: append(os.Environ(), "HOME="+t.TempDir())}
	if b := os.Getenv("SIGNET_BIN"); b != "" {
		s.bin = b
	} else {
		s.bin = os.Args[0]
		s.env = append(s.env, asSignetEnv+"=1")
	}
	return s
}

func (s *signet) cmd(args ...string) *exec.Cmd {
	c := exec.Command(s.bin, args...)
	c.Env = s.env
	c.Dir = s.dir
	return c
}

func (s *signet) ok(t *testing.T, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	c := s.cmd(args...)
	c.Stdout, c.Stderr = &out, &errOut
	if err := c.Run(); err != nil {
		t.Fatalf("signet %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, out.String(), errOut.String())
	}
	return strings.TrimSpace(out.String())
}

func (s *signet) path(name string) string { return filepath.Join(s.dir, name) }

type target struct {
	name     string
	host     string
	fallback bool // the registry has no referrers API
}

func embedded(t *testing.T, noReferrers bool) target {
	opts := []testregistry.Option{testregistry.Root(t.TempDir())}
	if noReferrers {
		opts = append(opts, testregistry.NoReferrers())
	}
	srv := testregistry.Start(t, opts...)
	name := "embedded-referrers-api"
	if noReferrers {
		name = "embedded-tag-fallback"
	}
	return target{name: name, host: srv.Host, fallback: noReferrers}
}

func TestConcurrentSigners(t *testing.T) {
	trials := envInt(t, "SIGNET_STRESS_TRIALS", 3)
	signers := envInt(t, "SIGNET_STRESS_SIGNERS", 16)
	s := newSignet(t)

	// Signatures of the test image, made once: each ECDSA signature is a
	// different blob, so each push is a different artifact.
	layout, err := filepath.Abs("../../testdata/oci-layout")
	if err != nil {
		t.Fatal(err)
	}
	setup := embedded(t, false)
	s.ok(t, "copy", "oci-layout:"+layout+":latest", setup.host+"/setup:latest")
	subject := s.ok(t, "generate", "manifest", setup.host+"/setup:latest", "-o", s.path("manifest.json"))
	s.ok(t, "generate", "cert", "--key-out", s.path("k.key"), "--cert-out", s.path("k.crt"), "--ip", "127.0.0.1", "--key-type", "ec-p256")
	sigs := make([]string, signers)
	for i := range sigs {
		sigs[i] = s.path(fmt.Sprintf("sig%02d.jwt", i))
		s.ok(t, "sign", "-k", s.path("k.key"), "-c", s.path("k.crt"), "-o", sigs[i], "file:"+s.path("manifest.json"))
	}

	targets := []func(t *testing.T) target{
		func(t *testing.T) target { return embedded(t, false) },
		func(t *testing.T) target { return embedded(t, true) },
		func(t *testing.T) target {
			addr := os.Getenv("SIGNET_TEST_REGISTRY")
			if addr == "" {
				testtool.Missing(t, "SIGNET_TEST_REGISTRY (a distribution v3.1.2 registry) is not set",
					"'make test' (scripts/test.sh) starts one and sets it")
			}
			return target{name: "distribution", host: addr, fallback: true}
		},
	}
	for i, mk := range targets {
		name := []string{"embedded-referrers-api", "embedded-tag-fallback", "distribution"}[i]
		t.Run(name, func(t *testing.T) {
			tg := mk(t)
			var st stats
			// Every trial runs even after a loss, so that the summary
			// counts them all (SIGNET_BIN=an older signet measures it).
			for trial := range trials {
				runTrial(t, s, tg, layout, subject, sigs, trial, &st)
			}
			t.Logf("%s", st.summary(tg.name, trials, signers))
			if path := os.Getenv("SIGNET_STRESS_REPORT"); path != "" {
				f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
				if err != nil {
					t.Fatal(err)
				}
				fmt.Fprintln(f, st.summary(tg.name, trials, signers))
				f.Close()
			}
		})
	}
}

var indexPut = regexp.MustCompile(`(?m)^debug: #\d+ PUT \S+/manifests/sha256-[0-9a-f]{64} -> (\d+) \((\d+)ms\)`)

type stats struct {
	walls        []time.Duration // per trial, all signers
	procs        []time.Duration // per process
	puts, put412 int
	putMax       time.Duration
	lost         int
}

func (st *stats) summary(name string, trials, signers int) string {
	med := func(d []time.Duration) time.Duration {
		if len(d) == 0 {
			return 0
		}
		c := slices.Clone(d)
		slices.Sort(c)
		return c[(len(c)-1)/2]
	}
	return fmt.Sprintf("%s: %d trials x %d signers: %d lost; trial wall median %s max %s; push-signature median %s max %s; index PUTs %d (%d refused 412), slowest index PUT %s",
		name, trials, signers, st.lost, med(st.walls).Round(time.Millisecond), slices.Max(st.walls).Round(time.Millisecond),
		med(st.procs).Round(time.Millisecond), slices.Max(st.procs).Round(time.Millisecond), st.puts, st.put412, st.putMax)
}

func runTrial(t *testing.T, s *signet, tg target, layout, subject string, sigs []string, trial int, st *stats) {
	t.Helper()
	repo := fmt.Sprintf("stress/%d-%d/busybox", time.Now().UnixNano(), trial)
	s.ok(t, "copy", "oci-layout:"+layout+":latest", tg.host+"/"+repo+":latest")
	ref := tg.host + "/" + repo + "@" + subject

	type result struct {
		out, errOut string
		err         error
		took        time.Duration
	}
	results := make([]result, len(sigs))
	cmds := make([]*exec.Cmd, len(sigs))
	outs := make([]*bytes.Buffer, len(sigs))
	errs := make([]*bytes.Buffer, len(sigs))
	for i, sig := range sigs {
		cmds[i] = s.cmd("push-signature", "--artifact-format", "oci", "--signature", sig, "--manifest", s.path("manifest.json"), "--debug", ref)
		outs[i], errs[i] = &bytes.Buffer{}, &bytes.Buffer{}
		cmds[i].Stdout, cmds[i].Stderr = outs[i], errs[i]
	}
	start := time.Now()
	var wg sync.WaitGroup
	for i, c := range cmds {
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := c.Wait()
			results[i] = result{out: outs[i].String(), errOut: errs[i].String(), err: err, took: time.Since(start)}
		}()
	}
	wg.Wait()
	st.walls = append(st.walls, time.Since(start))

	want := map[string]bool{}
	for i, r := range results {
		if r.err != nil {
			t.Fatalf("trial %d: push-signature #%d: %v\nstdout: %s\nstderr: %s", trial, i, r.err, r.out, r.errOut)
		}
		d := strings.TrimSpace(r.out)
		if !strings.HasPrefix(d, "sha256:") {
			t.Fatalf("trial %d: push-signature #%d printed %q, not an artifact digest", trial, i, r.out)
		}
		want[d] = true
		st.procs = append(st.procs, r.took)
		for _, m := range indexPut.FindAllStringSubmatch(r.errOut, -1) {
			st.puts++
			if m[1] == "412" {
				st.put412++
			}
			ms, _ := strconv.Atoi(m[2])
			st.putMax = max(st.putMax, time.Duration(ms)*time.Millisecond)
		}
		wantWord := "referrers API"
		if tg.fallback {
			wantWord = "referrers tag sha256-"
		}
		if !strings.Contains(r.errOut, wantWord) {
			t.Fatalf("trial %d: push-signature #%d does not say %q:\n%s", trial, i, wantWord, r.errOut)
		}
	}
	if len(want) != len(sigs) {
		t.Fatalf("trial %d: %d distinct artifacts from %d signatures", trial, len(want), len(sigs))
	}

	// What a user checks: discover lists every artifact.
	var rep struct {
		Referrers []struct {
			Digest string `json:"digest"`
		} `json:"referrers"`
	}
	out := s.ok(t, "discover", "--format", "json", ref)
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("discover --format json: %v\n%s", err, out)
	}
	found := map[string]bool{}
	for _, r := range rep.Referrers {
		found[r.Digest] = true
	}
	// And the registry's own listing: the index under the tag (fallback)
	// or the referrers API.
	listed := listing(t, tg, repo, subject)
	var missing []string
	for d := range want {
		if !found[d] || !listed[d] {
			missing = append(missing, fmt.Sprintf("%s (discover %v, registry %v)", d, found[d], listed[d]))
		}
	}
	st.lost += len(missing)
	if len(missing) > 0 {
		t.Errorf("trial %d on %s: %d of %d signatures lost:\n  %s", trial, tg.name, len(missing), len(sigs), strings.Join(missing, "\n  "))
	}
}

func listing(t *testing.T, tg target, repo, subject string) map[string]bool {
	t.Helper()
	u := "http://" + tg.host + "/v2/" + repo + "/referrers/" + subject
	if tg.fallback {
		u = "http://" + tg.host + "/v2/" + repo + "/manifests/sha256-" + strings.TrimPrefix(subject, "sha256:")
	}
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Accept", "application/vnd.oci.image.index.v1+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %s", u, resp.Status, body)
	}
	var idx struct {
		Manifests []struct {
			Digest string `json:"digest"`
		} `json:"manifests"`
	}
	if err := json.Unmarshal(body, &idx); err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	out := map[string]bool{}
	for _, m := range idx.Manifests {
		out[m.Digest] = true
	}
	return out
}
