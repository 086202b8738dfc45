package registry

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/opencontainers/go-digest"
)

// TestRootLock: a second registry on a root in use refuses to start, in
// one line naming the holder's PID, and leaves the first one's upload in
// progress alone (it used to empty uploads/ under it).
func TestRootLock(t *testing.T) {
	root := t.TempDir()
	base, first := startServerProcess(t, root)
	defer func() {
		_ = first.Process.Kill()
		_ = first.Wait()
	}()
	// An upload in progress on the first.
	resp, body := do(t, http.MethodPost, base+"/v2/r/blobs/uploads/", "", nil)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST: %s %s", resp.Status, body)
	}
	part := bytes.Repeat([]byte("a"), 4096)
	resp, body = do(t, http.MethodPatch, sessionURL(t, base, resp), "application/octet-stream", part)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("PATCH: %s %s", resp.Status, body)
	}

	second := exec.Command(os.Args[0], "registry", "serve", "--root", root, "--addr", "127.0.0.1:0")
	second.Env = append(os.Environ(), serveEnv+"=1")
	var stderr bytes.Buffer
	second.Stderr = &stderr
	err := second.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("the second registry on %s: %v, want a refusal", root, err)
	}
	msg := strings.TrimSpace(stderr.String())
	want := "is in use by another registry (pid " + strconv.Itoa(first.Process.Pid) + ")"
	if strings.Count(msg, "\n") != 0 || !strings.Contains(msg, want) || !strings.Contains(msg, root) {
		t.Fatalf("the second registry said %q, want one line naming %s and %q", msg, root, want)
	}

	// The first one's upload completes.
	rest := []byte("bbbb")
	full := append(append([]byte{}, part...), rest...)
	sess := sessionURL(t, base, resp)
	if resp, body := do(t, http.MethodPut, sess+"&digest="+digest.FromBytes(full).String(), "application/octet-stream", rest); resp.StatusCode != http.StatusCreated {
		t.Fatalf("completing the first registry's upload: %s %s", resp.Status, body)
	}

	// In process too, and the lock is released on Close.
	rg, err := New(Config{Root: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	dir := rg.store.(*diskStore).root
	if _, err := New(Config{Root: dir}); err == nil || !strings.Contains(err.Error(), "pid "+strconv.Itoa(os.Getpid())) {
		t.Fatalf("a second New on a root in use: %v, want the refusal naming pid %d", err, os.Getpid())
	}
	must(t, rg.Close())
	rg2, err := New(Config{Root: dir})
	if err != nil {
		t.Fatalf("after Close the root is free: %v", err)
	}
	must(t, rg2.Close())
}

// sessionURL is the upload session of a PATCH/POST answer.
func sessionURL(t *testing.T, base string, resp *http.Response) string {
	t.Helper()
	loc := resp.Header.Get("Location")
	if loc == "" {
		t.Fatal("no Location")
	}
	if strings.HasPrefix(loc, "/") {
		loc = base + loc
	}
	return loc
}

// diskFull makes the store's writes fail with ENOSPC after n more bytes.
func diskFull(rg *Registry, n int64) {
	q := &atomic.Int64{}
	q.Store(n)
	rg.store.(*diskStore).quota.Store(q)
}

func diskFreed(rg *Registry) { rg.store.(*diskStore).quota.Store(nil) }

// dirEntries lists the files under dir (recursively), relative to it.
func dirEntries(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	must(t, filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if !fi.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return nil
	}))
	return out
}

// TestFullDisk: a full disk (a fault injected into the store's writes:
// ENOSPC after a quota of bytes) answers 507 with a generic message, no
// server path, and logs the error with the file's path; nothing partial
// stays: no blob, no temporary file, no index entry, and an upload session
// keeps exactly what was acknowledged, so the client can resume once there
// is room.
func TestFullDisk(t *testing.T) {
	var logs syncBuffer
	root := t.TempDir()
	rg, base := newTestRegistry(t, Config{Root: root, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	root = rg.store.(*diskStore).root
	check5xx := func(what string, resp *http.Response, body []byte) {
		t.Helper()
		if resp.StatusCode != http.StatusInsufficientStorage {
			t.Fatalf("%s on a full disk: %s %s, want 507", what, resp.Status, body)
		}
		if c := errCode(t, body); c != codeUnknown {
			t.Fatalf("%s: code %s, want %s", what, c, codeUnknown)
		}
		if strings.Contains(string(body), root) || strings.Contains(string(body), "/tmp") {
			t.Fatalf("%s: the answer shows a server path: %s", what, body)
		}
	}
	checkClean := func(what string) {
		t.Helper()
		for _, d := range []string{"tmp", "blobs"} {
			if files := dirEntries(t, filepath.Join(root, d)); len(files) != 0 {
				t.Fatalf("%s: %s/ holds %v after a refused write", what, d, files)
			}
		}
	}

	// A monolithic blob upload.
	blob := bytes.Repeat([]byte("x"), 256<<10)
	bd := digest.FromBytes(blob)
	diskFull(rg, 100<<10)
	resp, body := do(t, http.MethodPost, base+"/v2/r/blobs/uploads/?digest="+bd.String(), "application/octet-stream", blob)
	check5xx("monolithic upload", resp, body)
	checkClean("monolithic upload")
	if files := dirEntries(t, filepath.Join(root, "uploads")); len(files) != 0 {
		t.Fatalf("uploads/ holds %v after a refused monolithic upload", files)
	}
	if resp, _ := do(t, http.MethodHead, base+"/v2/r/blobs/"+bd.String(), "", nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("HEAD of the refused blob: %s, want 404", resp.Status)
	}
	if l := logs.String(); !strings.Contains(l, "no space left on device") || !strings.Contains(l, filepath.Join(root, "uploads")) {
		t.Fatalf("the log does not name the error and the file:\n%s", l)
	}

	// A chunked upload: the chunk that does not fit is dropped whole.
	diskFreed(rg)
	resp, body = do(t, http.MethodPost, base+"/v2/r/blobs/uploads/", "", nil)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST: %s %s", resp.Status, body)
	}
	sess := sessionURL(t, base, resp)
	first, second := blob[:64<<10], blob[64<<10:]
	resp, body = do(t, http.MethodPatch, sess, "application/octet-stream", first)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("PATCH: %s %s", resp.Status, body)
	}
	sess = sessionURL(t, base, resp)
	diskFull(rg, 10<<10)
	resp, body = do(t, http.MethodPatch, sess, "application/octet-stream", second)
	check5xx("PATCH", resp, body)
	resp, _ = do(t, http.MethodGet, sess, "", nil)
	if got := resp.Header.Get("Range"); got != "0-"+strconv.Itoa(len(first)-1) {
		t.Fatalf("after the refused chunk the session holds %s, want 0-%d (what was acknowledged)", got, len(first)-1)
	}
	diskFreed(rg)
	resp, body = do(t, http.MethodPut, sess+"&digest="+bd.String(), "application/octet-stream", second)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("resuming once there is room: %s %s", resp.Status, body)
	}
	resp, got := do(t, http.MethodGet, base+"/v2/r/blobs/"+bd.String(), "", nil)
	if resp.StatusCode != http.StatusOK || !bytes.Equal(got, blob) {
		t.Fatalf("GET the resumed blob: %s, %d bytes", resp.Status, len(got))
	}

	// A manifest with a subject: no manifest, no referrers entry.
	manifest := pushDockerImage(t, base, "r", "v1", "a")
	subject := digest.FromBytes(manifest)
	cfg := pushBlob(t, base, "r", []byte("{}"))
	ref := referrerManifest(cfg, bd, len(blob), subject, 1)
	rd := digest.FromBytes(ref)
	for _, quota := range []int64{0, 450} {
		diskFull(rg, quota)
		resp, body = doManifest(t, base+"/v2/r/manifests/"+rd.String(), mtOCIManifest, ref)
		check5xx("manifest PUT", resp, body)
		diskFreed(rg)
		if files := dirEntries(t, filepath.Join(root, "tmp")); len(files) != 0 {
			t.Fatalf("tmp/ holds %v after a refused manifest", files)
		}
		if resp, _ := do(t, http.MethodGet, base+"/v2/r/manifests/"+rd.String(), "", nil); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("GET the refused manifest: %s, want 404", resp.Status)
		}
		idx := filepath.Join(root, "repos", "r", "_index", indexReferrers, "sha256", subject.Encoded())
		if files, err := os.ReadDir(idx); err == nil && len(files) != 0 {
			t.Fatalf("a referrers index entry of the refused manifest stays: %v", files)
		}
	}
	if resp, body := doManifest(t, base+"/v2/r/manifests/"+rd.String(), mtOCIManifest, ref); resp.StatusCode != http.StatusCreated {
		t.Fatalf("the manifest once there is room: %s %s", resp.Status, body)
	}
}

func doManifest(t *testing.T, url, mt string, body []byte) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, url, bytes.NewReader(body))
	must(t, err)
	req.Header.Set("Content-Type", mt)
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// TestReadOnlyRoot: a root the registry cannot write fails at start, in
// one line, before anything else.
func TestReadOnlyRoot(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ro")
	must(t, os.Mkdir(dir, 0o755))
	want := "not writable: permission denied"
	if os.Geteuid() == 0 {
		// root writes through permissions: a read-only file system it is.
		if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", dir).CombinedOutput(); err != nil {
			t.Skipf("running as root and cannot mount a read-only tmpfs (%v: %s): no read-only root to test", err, out)
		}
		t.Cleanup(func() { _ = exec.Command("umount", dir).Run() })
		want = "not writable: read-only file system"
	} else {
		must(t, os.Chmod(dir, 0o555))
		t.Cleanup(func() { _ = os.Chmod(dir, 0o755) })
	}
	_, err := New(Config{Root: dir})
	if err == nil {
		t.Fatal("New on a read-only root succeeded")
	}
	if msg := err.Error(); strings.Contains(msg, "\n") || !strings.HasPrefix(msg, "registry: storage root "+dir+" ") || !strings.HasSuffix(msg, want) {
		t.Fatalf("New on a read-only root: %q, want one line %q", msg, "registry: storage root "+dir+" is "+want)
	}
}
