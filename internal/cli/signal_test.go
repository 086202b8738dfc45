package cli

import (
	"bytes"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/signet-oci/signet/internal/faultreg"
)

// TestMain lets a test run this test binary as signet itself, to send it
// signals.
func TestMain(m *testing.M) {
	if os.Getenv("SIGNET_CLI_TEST_AS_SIGNET") == "1" {
		os.Exit(Main())
	}
	os.Exit(m.Run())
}

// signetProcess starts signet (this test binary) with args.
func signetProcess(t *testing.T, args ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "SIGNET_CLI_TEST_AS_SIGNET=1")
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, &errb
}

// hangBlobs makes the registry hang on every layer blob GET and reports
// each such request on the returned channel.
func hangBlobs(srv *faultreg.Server) <-chan struct{} {
	hit := make(chan struct{}, 16)
	srv.Use(func(_ http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodGet || !strings.Contains(r.URL.Path, "/blobs/sha256:") {
			return false
		}
		hit <- struct{}{}
		<-r.Context().Done()
		return true
	})
	return hit
}

// TestInterruptedCopyLeavesNothing: SIGINT during a copy into a new OCI
// layout exits 130 and leaves no layout directory and no temporary one; a
// copy that fails leaves none either, and one into an existing layout
// takes its new blobs away again.
func TestInterruptedCopyLeavesNothing(t *testing.T) {
	srv := faultreg.New(t)
	if code, _, errOut := runCLI(t, "copy", layoutRef, srv.Host+"/busybox:latest"); code != 0 {
		t.Fatal(errOut)
	}
	parent := t.TempDir()
	layout := filepath.Join(parent, "layout")
	hit := hangBlobs(srv)

	cmd, errb := signetProcess(t, "copy", srv.Host+"/busybox:latest", "oci-layout:"+layout+":v1")
	select {
	case <-hit:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("the copy never asked for a blob: %s", errb)
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != ExitInterrupted {
		t.Fatalf("exit %v, want %d; stderr %s", err, ExitInterrupted, errb)
	}
	if ents, _ := os.ReadDir(parent); len(ents) != 0 {
		t.Fatalf("left %v after SIGINT", ents)
	}
	if !strings.Contains(errb.String(), "interrupted") {
		t.Fatalf("stderr %q", errb)
	}

	// A failed copy (the registry refuses a blob): exit 1, nothing left.
	srv.Reset()
	srv.Use(faultreg.Always(faultreg.Match(http.MethodGet, faultreg.PathContains("/blobs/sha256:")), http.StatusForbidden, nil, nil))
	code, _, errOut := runCLI(t, "copy", srv.Host+"/busybox:latest", "oci-layout:"+layout+":v1")
	if ents, _ := os.ReadDir(parent); code != ExitError || len(ents) != 0 {
		t.Fatalf("failed copy: exit %d, left %v: %s", code, ents, errOut)
	}

	// Into an existing layout: the blobs it had stay, the new ones go
	// (the first blob is served, the others refused).
	srv.Reset()
	srv.Seed(t, "seeded")
	if code, _, errOut := runCLI(t, "copy", srv.Host+"/seeded:latest", "oci-layout:"+layout+":old"); code != 0 {
		t.Fatal(errOut)
	}
	before := layoutFiles(layout)
	var served atomic.Int32
	srv.Use(func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodGet || !strings.Contains(r.URL.Path, "/blobs/sha256:") || served.Add(1) == 1 {
			return false
		}
		w.WriteHeader(http.StatusForbidden)
		return true
	})
	code, _, errOut = runCLI(t, "copy", srv.Host+"/busybox:latest", "oci-layout:"+layout+":v1")
	after := layoutFiles(layout)
	if code != ExitError || len(after) != len(before) {
		t.Fatalf("failed copy into a layout: exit %d, %d files before, %d after: %s", code, len(before), len(after), errOut)
	}
	srv.Reset()
	if code, _, errOut := runCLI(t, "copy", srv.Host+"/busybox:latest", "oci-layout:"+layout+":v1"); code != 0 || len(layoutFiles(layout)) <= len(before) {
		t.Fatalf("control: exit %d: %s", code, errOut)
	}
}

// TestRegistryServeStopsCleanly: for registry serve a signal is the way to
// stop: it shuts down gracefully and exits 0, not 130.
func TestRegistryServeStopsCleanly(t *testing.T) {
	cmd := exec.Command(os.Args[0], "registry", "serve", "--memory", "--addr", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "SIGNET_CLI_TEST_AS_SIGNET=1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line := make([]byte, 64)
	if n, err := stdout.Read(line); err != nil || !strings.HasPrefix(string(line[:n]), "http://127.0.0.1:") {
		cmd.Process.Kill()
		t.Fatalf("no URL: %q %v", line[:n], err)
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("registry serve after SIGINT: %v, want exit 0", err)
	}
}

// TestRegistryServeAddressInUse: a port something already listens on (an
// earlier registry serve, the walkthrough's 5000 taken) is one line saying
// so and what to do, exit status 1; nothing is printed on stdout.
func TestRegistryServeAddressInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	addr := l.Addr().String()
	code, out, errOut := runCLI(t, "registry", "serve", "--memory", "--addr", addr)
	want := "Error: cannot listen on " + addr + ": the address is in use (another registry?); stop what listens there, or pick another --addr (127.0.0.1:0 picks a free port and prints it)\n"
	if code != ExitError || out != "" || !strings.HasSuffix(errOut, want) || strings.Count(errOut, "Error:") != 1 {
		t.Errorf("exit %d, stdout %q, stderr %q; want %d and stderr ending %q", code, out, errOut, ExitError, want)
	}
}
