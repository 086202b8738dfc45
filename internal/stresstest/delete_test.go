package stresstest

// TestDeleteOnTagFallback: `signet delete-signature` on the sha256-<hex>
// tag fallback, as real processes of signet, on:
//
//   - the embedded registry without the referrers API (conditional writes);
//   - distribution v3.1.2 started by the test with deletion enabled
//     (REGISTRY_STORAGE_DELETE_ENABLED=true; it ignores If-Match);
//   - distribution v3.1.2 at $SIGNET_TEST_REGISTRY, deletion disabled (the
//     default): the signature is unlisted, the 405 reported.
//
// Deleting one of three signatures leaves the other two listed and valid;
// --dry-run and refusals change nothing; and a delete running while 8
// push-signature processes add signatures to the same index loses none of
// theirs (SIGNET_STRESS_TRIALS trials, default 2).

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signet-oci/signet/internal/testtool"
)

// run runs signet and returns its exit status, stdout and stderr.
func (s *signet) run(args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	c := s.cmd(args...)
	c.Stdout, c.Stderr = &out, &errOut
	err := c.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			return -1, out.String(), err.Error()
		}
		code = ee.ExitCode()
	}
	return code, out.String(), errOut.String()
}

// distributionWithDelete starts distribution (bin/tools/registry) on a
// free loopback port with a temporary root and deletion enabled.
func distributionWithDelete(t *testing.T) target {
	bin := testtool.Tool(t, "registry", "")
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cfg := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf("version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: %s\n", filepath.Join(dir, "root"), addr)), 0o644); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	cmd := exec.Command(bin, "serve", cfg)
	cmd.Env = append(os.Environ(), "REGISTRY_STORAGE_DELETE_ENABLED=true")
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
	})
	for deadline := time.Now().Add(15 * time.Second); ; {
		resp, err := http.Get("http://" + addr + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case <-done:
			t.Fatalf("distribution exited: %s", logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("distribution did not answer on %s: %v\n%s", addr, err, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return target{name: "distribution-delete-enabled", host: addr, fallback: true}
}

func TestDeleteOnTagFallback(t *testing.T) {
	trials := envInt(t, "SIGNET_STRESS_TRIALS", 2)
	const adders = 8
	s := newSignet(t)
	layout, err := filepath.Abs("../../testdata/oci-layout")
	if err != nil {
		t.Fatal(err)
	}
	setup := embedded(t, false)
	s.ok(t, "copy", "oci-layout:"+layout+":latest", setup.host+"/setup:latest")
	subject := s.ok(t, "generate", "manifest", setup.host+"/setup:latest", "-o", s.path("manifest.json"))
	s.ok(t, "generate", "cert", "--key-out", s.path("k.key"), "--cert-out", s.path("k.crt"), "--ip", "127.0.0.1", "--key-type", "ec-p256")
	sigs := make([]string, 3+adders)
	for i := range sigs {
		sigs[i] = s.path(fmt.Sprintf("del%02d.jwt", i))
		s.ok(t, "sign", "-k", s.path("k.key"), "-c", s.path("k.crt"), "-o", sigs[i], "file:"+s.path("manifest.json"))
	}
	tagOf := "sha256-" + strings.TrimPrefix(subject, "sha256:")

	// newRepo copies the image into a fresh repository and pushes sigs[:n].
	newRepo := func(t *testing.T, tg target, n int) (ref, repo string, arts []string) {
		repo = fmt.Sprintf("delete/%d/busybox", time.Now().UnixNano())
		s.ok(t, "copy", "oci-layout:"+layout+":latest", tg.host+"/"+repo+":latest")
		ref = tg.host + "/" + repo + "@" + subject
		for _, sig := range sigs[:n] {
			arts = append(arts, s.ok(t, "push-signature", "--artifact-format", "oci", "--signature", sig, "--manifest", s.path("manifest.json"), ref))
		}
		return ref, repo, arts
	}
	head := func(t *testing.T, tg target, repo, d string) int {
		req, _ := http.NewRequest(http.MethodHead, "http://"+tg.host+"/v2/"+repo+"/manifests/"+d, nil)
		req.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	keys := func(m map[string]bool) []string {
		var out []string
		for k := range m {
			out = append(out, k)
		}
		slices.Sort(out)
		return out
	}
	wantListed := func(t *testing.T, tg target, repo string, want ...string) {
		t.Helper()
		got := listing(t, tg, repo, subject)
		w := slices.Clone(want)
		slices.Sort(w)
		if !slices.Equal(keys(got), w) {
			t.Fatalf("the referrers tag %s lists %v, want %v", tagOf, keys(got), w)
		}
	}

	deleting := []func(t *testing.T) target{
		func(t *testing.T) target { return embedded(t, true) },
		distributionWithDelete,
	}
	for i, mk := range deleting {
		t.Run([]string{"embedded-tag-fallback", "distribution-delete-enabled"}[i], func(t *testing.T) {
			tg := mk(t)
			ref, repo, arts := newRepo(t, tg, 3)
			wantListed(t, tg, repo, arts...)

			// --dry-run changes nothing.
			code, out, errOut := s.run("delete-signature", ref, "--artifact", arts[0], "--dry-run")
			if code != 0 || !strings.Contains(out, "Would delete jwt signature "+arts[0]+" of "+ref+" (listed by tag-fallback)") {
				t.Fatalf("--dry-run: exit %d\n%s%s", code, out, errOut)
			}
			wantListed(t, tg, repo, arts...)
			if c := head(t, tg, repo, arts[0]); c != http.StatusOK {
				t.Fatalf("after --dry-run: HEAD %d", c)
			}
			// Not signatures of the image: refused, nothing changed.
			if code, _, errOut := s.run("delete-signature", ref, "--artifact", subject, "--yes"); code != 2 || !strings.Contains(errOut, "not one of its signatures") {
				t.Fatalf("the image itself: exit %d %q", code, errOut)
			}
			if code, _, errOut := s.run("delete-signature", ref, "--artifact", "sha256:"+strings.Repeat("ab", 32), "--yes"); code != 4 || !strings.Contains(errOut, "is not a signature of") {
				t.Fatalf("an unknown digest: exit %d %q", code, errOut)
			}
			wantListed(t, tg, repo, arts...)

			// Delete one of three: the other two stay listed and valid.
			code, out, errOut = s.run("delete-signature", ref, "--artifact", arts[0], "--yes")
			if code != 0 || strings.TrimSpace(out) != "Deleted jwt signature "+arts[0]+" of "+ref+" (listed by tag-fallback)" {
				t.Fatalf("delete: exit %d\n%s%s", code, out, errOut)
			}
			wantListed(t, tg, repo, arts[1:]...)
			if c := head(t, tg, repo, arts[0]); c != http.StatusNotFound {
				t.Errorf("the deleted manifest: HEAD %d, want 404", c)
			}
			if out := s.ok(t, "verify", ref, "-c", s.path("k.crt")); !strings.Contains(out, "2 of 2 signature(s) valid") {
				t.Errorf("verify after the delete:\n%s", out)
			}

			// Concurrency: delete one while 8 processes add theirs.
			for trial := range trials {
				ref, repo, arts := newRepo(t, tg, 2)
				cmds := []*exec.Cmd{s.cmd("delete-signature", ref, "--artifact", arts[0], "--yes", "--debug")}
				for _, sig := range sigs[3:] {
					cmds = append(cmds, s.cmd("push-signature", "--artifact-format", "oci", "--signature", sig, "--manifest", s.path("manifest.json"), "--debug", ref))
				}
				outs := make([]bytes.Buffer, len(cmds))
				errs := make([]bytes.Buffer, len(cmds))
				runErr := make([]error, len(cmds))
				var wg sync.WaitGroup
				start := time.Now()
				for i, c := range cmds {
					c.Stdout, c.Stderr = &outs[i], &errs[i]
					if err := c.Start(); err != nil {
						t.Fatal(err)
					}
					wg.Add(1)
					go func() { defer wg.Done(); runErr[i] = c.Wait() }()
				}
				wg.Wait()
				took := time.Since(start)
				if runErr[0] != nil || !strings.HasPrefix(outs[0].String(), "Deleted jwt signature "+arts[0]) {
					t.Fatalf("trial %d: delete-signature: %v\n%s%s", trial, runErr[0], outs[0].String(), errs[0].String())
				}
				want := []string{arts[1]}
				for i := 1; i < len(cmds); i++ {
					if runErr[i] != nil {
						t.Fatalf("trial %d: push-signature #%d: %v\n%s%s", trial, i, runErr[i], outs[i].String(), errs[i].String())
					}
					want = append(want, strings.TrimSpace(outs[i].String()))
				}
				puts := len(indexPut.FindAllString(errs[0].String(), -1))
				t.Logf("trial %d: delete + %d concurrent push-signature: %s; the delete wrote the index %d time(s)", trial, adders, took.Round(time.Millisecond), puts)
				wantListed(t, tg, repo, want...)
				if c := head(t, tg, repo, arts[0]); c != http.StatusNotFound {
					t.Errorf("trial %d: the deleted manifest: HEAD %d, want 404", trial, c)
				}
				if out := s.ok(t, "verify", ref, "-c", s.path("k.crt")); !strings.Contains(out, fmt.Sprintf("%d of %d signature(s) valid", len(want), len(want))) {
					t.Errorf("trial %d: verify:\n%s", trial, out)
				}
			}
		})
	}

	t.Run("distribution-delete-disabled", func(t *testing.T) {
		addr := os.Getenv("SIGNET_TEST_REGISTRY")
		if addr == "" {
			testtool.Missing(t, "SIGNET_TEST_REGISTRY (a distribution v3.1.2 registry) is not set",
				"'make test' (scripts/test.sh) starts one and sets it")
		}
		tg := target{name: "distribution", host: addr, fallback: true}
		ref, repo, arts := newRepo(t, tg, 3)
		code, out, errOut := s.run("delete-signature", ref, "--artifact", arts[0], "--yes")
		if code != 0 || strings.TrimSpace(out) != "Unlisted jwt signature "+arts[0]+" of "+ref+" (listed by tag-fallback) (removed from the referrers tag "+tagOf+"; its manifest remains)" ||
			!strings.Contains(errOut, "Warning: "+arts[0]+" is no longer listed, but its manifest remains in "+addr+"/"+repo+": registry "+addr+" refuses to delete manifests (405 Method Not Allowed)") ||
			!strings.Contains(errOut, "REGISTRY_STORAGE_DELETE_ENABLED=true") {
			t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
		}
		wantListed(t, tg, repo, arts[1:]...)
		if c := head(t, tg, repo, arts[0]); c != http.StatusOK {
			t.Errorf("the kept manifest: HEAD %d, want 200", c)
		}
		if out := s.ok(t, "verify", ref, "-c", s.path("k.crt")); !strings.Contains(out, "2 of 2 signature(s) valid") {
			t.Errorf("verify after unlisting:\n%s", out)
		}
	})
}
