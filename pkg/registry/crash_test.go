package registry

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
)

// startServerProcess runs the registry as a separate process on root (the
// test binary re-executed as `registry serve`, see TestMain) and returns
// its URL and the command.
func startServerProcess(t *testing.T, root string) (string, *exec.Cmd) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "registry", "serve", "--root", root, "--addr", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), serveEnv+"=1")
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	must(t, err)
	must(t, cmd.Start())
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("server did not start: %v", err)
	}
	return strings.TrimSpace(line), cmd
}

type acked struct {
	mu        sync.Mutex
	blobs     map[digest.Digest]bool
	manifests map[string]digest.Digest // tag → digest
	referrers map[digest.Digest]bool
	tried     map[digest.Digest]bool // blobs attempted, acknowledged or not
}

// TestCrashSafety SIGKILLs a server process in the middle of uploads, five
// times, restarting it on the same root each time, and checks that every
// object acknowledged with 201 is served intact, that nothing unacknowledged
// is half-visible, and that every digest verifies.
func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test skipped in -short mode")
	}
	root := t.TempDir()
	subject := digest.FromString("crash subject")
	a := &acked{blobs: map[digest.Digest]bool{}, manifests: map[string]digest.Digest{}, referrers: map[digest.Digest]bool{}, tried: map[digest.Digest]bool{}}
	empty := []byte("{}")
	// Five rounds, and more (up to 12) while no manifest has been
	// acknowledged: on a loaded machine a round of 0.3-0.8 s may end
	// before any push completes, and the test must prove something.
	for round := 0; round < 5 || (len(a.manifests) == 0 && round < 12); round++ {
		base, cmd := startServerProcess(t, root)
		checkAcked(t, base, a, subject)
		if t.Failed() {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			return
		}
		ctx, cancel := context.WithCancel(context.Background())
		// firstAck is closed when the round's first manifest is
		// acknowledged: the kill waits for it, so that every round kills
		// a server that has acknowledged something, however slow the
		// runner.
		firstAck := make(chan struct{})
		var ackOnce sync.Once
		var wg sync.WaitGroup
		for w := range 6 {
			wg.Go(func() {
				for i := 0; ctx.Err() == nil; i++ {
					id := fmt.Sprintf("r%d-w%d-i%d", round, w, i)
					size := 1 + rand.IntN(3<<20)
					data := make([]byte, size)
					for j := range data {
						data[j] = byte(j*7 + w + i)
					}
					copy(data, id)
					d := digest.FromBytes(data)
					a.mu.Lock()
					a.tried[d] = true
					a.mu.Unlock()
					if _, err := chunkedPush(base, "crash/repo", data, 256<<10); err != nil {
						return // the server died
					}
					a.mu.Lock()
					a.blobs[d] = true
					a.mu.Unlock()
					if _, err := chunkedPush(base, "crash/repo", empty, 10); err != nil {
						return
					}
					m := referrerManifest(digest.FromBytes(empty), d, size, subject, i)
					req, err := http.NewRequest("PUT", base+"/v2/crash/repo/manifests/"+id, strings.NewReader(string(m)))
					if err != nil {
						panic(err) // a constant URL: cannot happen
					}
					req.Header.Set("Content-Type", mtOCIManifest)
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						return
					}
					resp.Body.Close()
					if resp.StatusCode == 201 {
						a.mu.Lock()
						a.manifests[id] = digest.FromBytes(m)
						a.referrers[digest.FromBytes(m)] = true
						a.mu.Unlock()
						ackOnce.Do(func() { close(firstAck) })
					}
				}
			})
		}
		kill := func() {
			must(t, cmd.Process.Signal(syscall.SIGKILL))
			_ = cmd.Wait()
			cancel()
			wg.Wait()
		}
		select {
		case <-firstAck:
		case <-time.After(crashAckTimeout):
			kill()
			t.Fatalf("round %d: no manifest acknowledged within %s", round, crashAckTimeout)
		}
		// Then kill at a random moment, with uploads in flight.
		time.Sleep(time.Duration(rand.IntN(500)) * time.Millisecond)
		kill()
		t.Logf("round %d: %d blobs, %d manifests acknowledged so far", round, len(a.blobs), len(a.manifests))
	}
	base, cmd := startServerProcess(t, root)
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}()
	checkAcked(t, base, a, subject)
	if len(a.manifests) < 5 {
		t.Errorf("%d manifests acknowledged in 5 rounds, want one per round at least; the test proved too little", len(a.manifests))
	}
}

// crashAckTimeout bounds the wait for a round's first acknowledged
// manifest: far above what a loaded runner needs (one blob of at most
// 3 MiB and a manifest).
const crashAckTimeout = 2 * time.Minute

func checkAcked(t *testing.T, base string, a *acked, subject digest.Digest) {
	t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	for d := range a.tried {
		resp, body := do(t, "GET", base+"/v2/crash/repo/blobs/"+d.String(), "", nil)
		switch {
		case resp.StatusCode == 200:
			if digest.FromBytes(body) != d {
				t.Errorf("blob %s served with content %s", d, digest.FromBytes(body))
			}
		case a.blobs[d]:
			t.Errorf("acknowledged blob %s lost: %s", d, resp.Status)
		case resp.StatusCode != 404:
			t.Errorf("blob %s: %s", d, resp.Status)
		}
	}
	for tag, d := range a.manifests {
		verifyManifest(t, base, "crash/repo", tag, d)
	}
	var idx imageIndex
	_, body := do(t, "GET", base+"/v2/crash/repo/referrers/"+subject.String(), "", nil)
	must(t, json.Unmarshal(body, &idx))
	seen := map[string]bool{}
	for _, m := range idx.Manifests {
		seen[m.Digest] = true
		// Every listed referrer is complete.
		d, err := digest.Parse(m.Digest)
		must(t, err)
		resp, body := do(t, "GET", base+"/v2/crash/repo/manifests/"+m.Digest, "", nil)
		if resp.StatusCode != 200 || digest.FromBytes(body) != d || strconv.Itoa(len(body)) != strconv.FormatInt(m.Size, 10) {
			t.Errorf("listed referrer %s is not served intact: %s", m.Digest, resp.Status)
		}
	}
	for d := range a.referrers {
		if !seen[d.String()] {
			t.Errorf("acknowledged referrer %s missing from the listing", d)
		}
	}
}
