// Package testregistry starts the embedded registry (pkg/registry) for
// tests, on a real loopback listener: one place for what tests across the
// repository need from it (in-memory or on-disk storage, basic auth, TLS,
// no referrers API, no links extension, a handler in front of it for fault
// injection or to model another registry).
//
//	srv := testregistry.Start(t, testregistry.NoReferrers())
//	ref := srv.Host + "/busybox:latest"
//
// Start stops the registry when t ends. New is for callers without a
// testing.TB (testscript's Setup); they call Close.
//
// It is for tests only; nothing in signet's binaries imports it. The
// registry's own tests (package registry) keep their in-package helper,
// since this package imports pkg/registry.
package testregistry

import (
	"crypto/x509"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/signet-oci/signet/pkg/registry"
)

type settings struct {
	cfg      registry.Config
	user     string
	password string
	tls      bool
	wrap     []func(http.Handler) http.Handler
}

// Option configures the registry Start or New serves.
type Option func(*settings)

// Config starts from cfg (limits, logger, ...); options after it change it
// further. Without Root or Config's Root the registry keeps everything in
// memory.
func Config(cfg registry.Config) Option {
	return func(s *settings) { s.cfg = cfg }
}

// Root stores the registry's content on disk under dir.
func Root(dir string) Option {
	return func(s *settings) { s.cfg.Root, s.cfg.Memory = dir, false }
}

// NoReferrers turns the OCI 1.1 referrers API off (404), like a registry
// listing signatures by the sha256-<hex> tag fallback.
func NoReferrers() Option {
	return func(s *settings) { s.cfg.DisableReferrersAPI = true }
}

// NoLinks turns the prototype links extension off, like a registry without
// it.
func NoLinks() Option {
	return func(s *settings) { s.cfg.DisableLinks = true }
}

// Auth requires HTTP basic auth as user with password (an htpasswd file
// with one bcrypt entry, as `registry serve --htpasswd`).
func Auth(user, password string) Option {
	return func(s *settings) { s.user, s.password = user, password }
}

// TLS serves HTTPS with httptest's self-signed certificate
// (Server.Certificate); TLS handshake errors are not logged, since tests
// provoke them.
func TLS() Option {
	return func(s *settings) { s.tls = true }
}

// Wrap puts a handler in front of the registry: wrap gets the handler
// serving the registry (with what earlier Wraps put in front of it) and
// returns the one the listener serves.
func Wrap(wrap func(next http.Handler) http.Handler) Option {
	return func(s *settings) { s.wrap = append(s.wrap, wrap) }
}

// Server is a running registry.
type Server struct {
	URL      string // http://127.0.0.1:PORT (https:// with TLS)
	Host     string // 127.0.0.1:PORT
	Registry *registry.Registry

	srv *httptest.Server
	tmp string // holds the htpasswd file
}

// Start serves a fresh registry configured by opts until t ends; it fails
// t if the registry cannot start.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s, err := New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// New serves a fresh registry configured by opts; the caller closes it.
func New(opts ...Option) (*Server, error) {
	var st settings
	for _, o := range opts {
		o(&st)
	}
	if st.cfg.Root == "" {
		st.cfg.Memory = true
	}
	s := &Server{}
	if st.user != "" {
		hash, err := bcrypt.GenerateFromPassword([]byte(st.password), bcrypt.MinCost)
		if err != nil {
			return nil, err
		}
		if s.tmp, err = os.MkdirTemp("", "signet-testregistry-"); err != nil {
			return nil, err
		}
		st.cfg.HtpasswdFile = filepath.Join(s.tmp, "htpasswd")
		if err := os.WriteFile(st.cfg.HtpasswdFile, []byte(st.user+":"+string(hash)+"\n"), 0o600); err != nil {
			os.RemoveAll(s.tmp)
			return nil, err
		}
	}
	rg, err := registry.New(st.cfg)
	if err != nil {
		if s.tmp != "" {
			os.RemoveAll(s.tmp)
		}
		return nil, fmt.Errorf("embedded registry: %w", err)
	}
	s.Registry = rg
	var h http.Handler = rg
	for _, w := range st.wrap {
		h = w(h)
	}
	s.srv = httptest.NewUnstartedServer(h)
	if st.tls {
		s.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
		s.srv.StartTLS()
	} else {
		s.srv.Start()
	}
	s.URL = s.srv.URL
	s.Host = strings.TrimPrefix(strings.TrimPrefix(s.srv.URL, "http://"), "https://")
	return s, nil
}

// Certificate is the server's TLS certificate (with TLS), to trust.
func (s *Server) Certificate() *x509.Certificate { return s.srv.Certificate() }

// Close drops the clients' connections, stops the listener and closes the
// registry.
func (s *Server) Close() {
	s.srv.CloseClientConnections()
	s.srv.Close()
	s.Registry.Close()
	if s.tmp != "" {
		os.RemoveAll(s.tmp)
	}
}
