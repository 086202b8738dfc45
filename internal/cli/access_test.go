package cli_test

import (
	"context"
	"encoding/pem"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/signet-oci/signet/internal/cli"
	"github.com/signet-oci/signet/internal/testregistry"
)

// signetRun runs signet in-process with stdin.
func signetRun(stdin string, args ...string) (int, string, string) {
	return cli.RunString(context.Background(), stdin, args...)
}

func layoutRef(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs("../../testdata/oci-layout")
	if err != nil {
		t.Fatal(err)
	}
	return "oci-layout:" + p + ":latest"
}

// TestRegistryAccessErrors checks the one-line errors of issue 4: wrong
// password, missing credentials, an untrusted TLS certificate, plain HTTP
// against a TLS server and TLS against a plain one; each names the registry
// and the fix. Against the embedded registry with --htpasswd and TLS.
func TestRegistryAccessErrors(t *testing.T) {
	dir := t.TempDir()
	srv := testregistry.Start(t, testregistry.Auth("alice", "s3cret"), testregistry.TLS())
	host := srv.Host
	caFile := filepath.Join(dir, "ca.crt")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	config := filepath.Join(dir, "docker-config.json")
	dst := host + "/busybox:latest"
	https := []string{"--plain-http=false", "--ca-file", caFile, "--registry-config", config}

	tests := []struct {
		name     string
		args     []string
		stdin    string
		wantCode int
		want     []string
		notWant  []string
	}{
		{"untrusted certificate", []string{"copy", layoutRef(t), dst, "--plain-http=false", "-u", "alice", "-p", "s3cret"}, "", 1,
			[]string{host, "unknown authority", "--ca-file"}, nil},
		{"plain HTTP against TLS", []string{"copy", layoutRef(t), dst, "-u", "alice", "-p", "s3cret"}, "", 1,
			[]string{host, "HTTPS", "--plain-http=false"}, nil},
		{"missing credentials", append([]string{"copy", layoutRef(t), dst}, https...), "", 1,
			[]string{host, "requires credentials", "signet login " + host}, nil},
		{"wrong password", append([]string{"copy", layoutRef(t), dst, "-u", "alice", "-p", "wrong"}, https...), "", 1,
			[]string{host, "401", "signet login " + host}, nil},
		{"a password without -u", append([]string{"copy", layoutRef(t), dst, "--password-stdin"}, https...), "s3cret\n", 1,
			[]string{"registry " + host + " asks for a username and password; -p without -u is sent as an identity token: add -u USERNAME"}, []string{"basic auth"}},
		{"a password without -u, several images", append([]string{"verify", dst, dst, "-c", caFile, "--password-stdin"}, https...), "s3cret\n", 1,
			[]string{"2 of 2 image(s) could not be checked: registry " + host + " asks for a username and password; -p without -u is sent as an identity token: add -u USERNAME"}, []string{"basic auth"}},
		{"login with a wrong password", append([]string{"login", host, "-u", "alice", "--password-stdin"}, https...), "wrong\n", 1,
			[]string{host, "401", "alice", "nothing was stored"}, []string{"signet login", "Warning"}},
		{"-p on the command line warns", append([]string{"login", host, "-u", "alice", "-p", "wrong"}, https...), "", 1,
			[]string{"Warning: a password given with -p", "--password-stdin", "401"}, nil},
		{"logout never logged in", []string{"logout", host, "--registry-config", config}, "", 0,
			[]string{"Not logged in to " + host}, []string{"Removed"}},
		{"insecure skips verification", []string{"copy", layoutRef(t), dst, "--plain-http=false", "--insecure", "-u", "alice", "-p", "s3cret"}, "", 0, nil, nil},
		{"login", append([]string{"login", host, "-u", "alice", "--password-stdin"}, https...), "s3cret\n", 0,
			[]string{"Login to " + host + " succeeded"}, nil},
		{"stored credentials are used", append([]string{"copy", layoutRef(t), dst}, https...), "", 0, nil, nil},
		{"logout", []string{"logout", host, "--registry-config", config}, "", 0, []string{"Removed the credentials of " + host}, nil},
		{"credentials are gone after logout", append([]string{"copy", layoutRef(t), dst}, https...), "", 1,
			[]string{"requires credentials"}, nil},
	}
	for _, tt := range tests {
		code, _, stderr := signetRun(tt.stdin, tt.args...)
		if code != tt.wantCode {
			t.Errorf("%s: exit status %d, want %d; stderr:\n%s", tt.name, code, tt.wantCode, stderr)
			continue
		}
		if tt.wantCode != 0 {
			var lines []string
			for _, l := range strings.Split(strings.TrimSpace(stderr), "\n") {
				if !strings.HasPrefix(l, "Warning: ") {
					lines = append(lines, l)
				}
			}
			if len(lines) != 1 {
				t.Errorf("%s: error is %d lines, want one:\n%s", tt.name, len(lines), stderr)
			}
		}
		for _, w := range tt.want {
			if !strings.Contains(stderr, w) {
				t.Errorf("%s: stderr does not mention %q:\n%s", tt.name, w, stderr)
			}
		}
		for _, w := range tt.notWant {
			if strings.Contains(stderr, w) {
				t.Errorf("%s: stderr mentions %q:\n%s", tt.name, w, stderr)
			}
		}
	}
	if b, err := os.ReadFile(config); err != nil || strings.Contains(string(b), "alice") {
		t.Errorf("after logout the Docker config still holds credentials (%v): %s", err, b)
	}
}

// TestDebugRedactsSecrets: --debug traces every request but never the
// password, the Authorization header's value or the upload state token.
// The embedded registry's _state is the session id, which the upload path
// shows anyway; in front of it, states issues an opaque state token of its
// own, as distribution does (an HMAC-signed state), and requires it back.
func TestDebugRedactsSecrets(t *testing.T) {
	states := &stateTokens{issued: map[string]string{}}
	host := testregistry.Start(t, testregistry.Auth("alice", "s3cret-pw"), testregistry.Wrap(func(next http.Handler) http.Handler {
		states.next = next
		return states
	})).Host
	code, _, stderr := signetRun("s3cret-pw\n", "copy", layoutRef(t), host+"/busybox:latest", "-u", "alice", "--password-stdin", "--debug")
	if code != 0 {
		t.Fatalf("copy: exit %d\n%s", code, stderr)
	}
	if !strings.Contains(stderr, "debug: #1 ") || !strings.Contains(stderr, "HTTP request(s)") {
		t.Errorf("--debug printed no request trace:\n%s", stderr)
	}
	if !strings.Contains(stderr, "[Authorization: Basic REDACTED]") {
		t.Errorf("--debug does not show that credentials were sent (redacted):\n%s", stderr)
	}
	basic := "YWxpY2U6czNjcmV0LXB3" // base64("alice:s3cret-pw")
	secrets := []string{"s3cret-pw", basic}
	states.mu.Lock()
	for _, token := range states.issued {
		_, secret, _ := strings.Cut(token, ".")
		secrets = append(secrets, secret)
	}
	states.mu.Unlock()
	if len(secrets) == 2 || states.echoed.Load() == 0 {
		t.Fatalf("no upload carried a state token (%d issued, %d sent back): the test proves nothing", len(secrets)-2, states.echoed.Load())
	}
	if !strings.Contains(stderr, "_state=REDACTED") {
		t.Errorf("--debug does not show the upload requests with their state redacted:\n%s", stderr)
	}
	for _, secret := range secrets {
		if strings.Contains(stderr, secret) {
			t.Errorf("--debug leaked %q:\n%s", secret, stderr)
		}
	}
}

// stateTokens replaces the _state of each upload location the registry
// gives with an opaque token id.<secret> and requires it back on the
// session's requests (400 otherwise), so a client that did not send the
// state fails.
type stateTokens struct {
	next   http.Handler
	mu     sync.Mutex
	issued map[string]string // session id → token
	echoed atomic.Int64      // requests that sent a token back
}

func (s *stateTokens) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if q := r.URL.Query(); q.Has("_state") {
		token := q.Get("_state")
		id, _, _ := strings.Cut(token, ".")
		s.mu.Lock()
		ok := s.issued[id] == token
		s.mu.Unlock()
		if !ok {
			http.Error(w, "unknown upload state", http.StatusBadRequest)
			return
		}
		s.echoed.Add(1)
		q.Set("_state", id)
		r.URL.RawQuery = q.Encode()
	}
	s.next.ServeHTTP(&stateWriter{ResponseWriter: w, s: s}, r)
}

type stateWriter struct {
	http.ResponseWriter
	s           *stateTokens
	wroteHeader bool
}

func (w *stateWriter) WriteHeader(code int) {
	if !w.wroteHeader {
		w.wroteHeader = true
		if u, err := url.Parse(w.Header().Get("Location")); err == nil && u.Query().Has("_state") {
			q := u.Query()
			id := q.Get("_state")
			w.s.mu.Lock()
			token, ok := w.s.issued[id]
			if !ok {
				token = id + ".st4te-secret-" + strconv.Itoa(len(w.s.issued))
				w.s.issued[id] = token
			}
			w.s.mu.Unlock()
			q.Set("_state", token)
			u.RawQuery = q.Encode()
			w.Header().Set("Location", u.String())
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *stateWriter) Write(b []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// TestHTTPSAgainstPlainRegistry: --plain-http=false against a plain HTTP
// registry names the fix.
func TestHTTPSAgainstPlainRegistry(t *testing.T) {
	host := testregistry.Start(t).Host
	code, _, stderr := signetRun("", "copy", layoutRef(t), host+"/busybox:latest", "--plain-http=false")
	if code != 1 || !strings.Contains(stderr, host) || !strings.Contains(stderr, "--plain-http") {
		t.Errorf("exit %d, stderr %q: want status 1 naming %s and --plain-http", code, stderr, host)
	}
}
