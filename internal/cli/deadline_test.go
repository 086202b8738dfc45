package cli

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/signet-oci/signet/internal/faultreg"
	"github.com/signet-oci/signet/pkg/remote"
)

// TestHungRegistryBounded: against a registry that accepts connections and
// never answers, every command ends with exit 1 and one line that names the
// registry and --timeout (and does not advise raising it), within the
// bound: --timeout when given, else twice the header wait. The bounds are
// asserted with a generous margin: the wait is set by the input, not a
// performance figure.
func TestHungRegistryBounded(t *testing.T) {
	if 2*remote.DefaultHeaderTimeout+3*time.Second > 45*time.Second {
		t.Fatalf("default header wait %s: a hung registry could cost more than 45 s", remote.DefaultHeaderTimeout)
	}
	srv := faultreg.New(t)
	s := srv.Seed(t, "busybox")
	rel := make(chan struct{})
	defer close(rel)
	srv.Use(faultreg.Hang(faultreg.Match("", faultreg.PathContains("/v2/")), rel))
	ref := srv.Host + "/busybox:latest"
	tokenFile := filepath.Join(t.TempDir(), "sig.jwt")
	if err := os.WriteFile(tokenFile, s.Token, 0o644); err != nil {
		t.Fatal(err)
	}

	old := headerWait
	headerWait = 400 * time.Millisecond
	defer func() { headerWait = old }()

	for _, tc := range []struct {
		args  []string
		bound time.Duration
	}{
		{[]string{"discover", ref}, 2 * headerWait},
		{[]string{"verify", ref, "-c", s.CertFile}, 2 * headerWait},
		{[]string{"pull-signature", ref, "-o", t.TempDir()}, 2 * headerWait},
		{[]string{"generate", "manifest", ref}, 2 * headerWait},
		{[]string{"copy", ref, srv.Host + "/other:latest"}, 2 * headerWait},
		{[]string{"discover", ref, "--timeout", "1s"}, time.Second},
		{[]string{"push-signature", "--signature", tokenFile, ref, "--timeout", "1500ms"}, 1500 * time.Millisecond},
	} {
		before := srv.Total()
		start := time.Now()
		code, out, errOut := runCLI(t, tc.args...)
		took := time.Since(start)
		t.Logf("%v: %s %d %q", tc.args[0], took.Round(time.Millisecond), srv.Total()-before, errOut)
		line := strings.TrimSpace(errOut)
		if code != ExitError || out != "" || strings.Contains(line, "\n") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", tc.args, code, out, errOut)
		}
		if !strings.Contains(line, srv.Host) || !strings.Contains(line, "did not answer within") || !strings.Contains(line, "--timeout") || strings.Contains(line, "raise") {
			t.Errorf("%v: message %q", tc.args, line)
		}
		if took > tc.bound+3*time.Second {
			t.Errorf("%v: took %s, bound %s", tc.args, took, tc.bound)
		}
		if n := srv.Total() - before; n > 2 && !strings.Contains(strings.Join(tc.args, " "), "--timeout") {
			t.Errorf("%v: %d requests to a hung registry, want at most 2 (one retry)", tc.args, n)
		}
	}
}

// TestBackoffWithinDeadline: 429 with a Retry-After longer than --timeout
// ends the command at the deadline with the registry's answer, instead of
// sleeping past it.
func TestBackoffWithinDeadline(t *testing.T) {
	srv := faultreg.New(t)
	srv.Seed(t, "busybox")
	srv.Use(faultreg.Always(faultreg.Match("", faultreg.PathContains("/v2/")), http.StatusTooManyRequests, http.Header{"Retry-After": {"30"}}, nil))
	start := time.Now()
	code, _, errOut := runCLI(t, "discover", srv.Host+"/busybox:latest", "--timeout", "2s")
	if code != ExitError || time.Since(start) > 5*time.Second || !strings.Contains(errOut, "429") {
		t.Fatalf("exit %d after %s: %s", code, time.Since(start), errOut)
	}
}
