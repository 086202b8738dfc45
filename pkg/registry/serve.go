package registry

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// DefaultAddr is where Serve listens unless told otherwise: loopback only.
const DefaultAddr = "127.0.0.1:5000"

// ServeOptions configures Serve.
type ServeOptions struct {
	Addr                    string // host:port, default 127.0.0.1:5000; port 0 picks a free port
	Root                    string // storage directory (created if missing)
	Memory                  bool   // in-memory storage (used when Root is empty)
	HtpasswdFile            string // optional basic auth, bcrypt htpasswd
	TLSCertFile, TLSKeyFile string // optional TLS
	// NoReferrers serves no referrers API (like distribution v3.1.2):
	// clients fall back to the sha256-<hex> referrers tag.
	NoReferrers bool
	// Logger receives the start and shutdown (Info), one line per request
	// and the HTTP server's errors (Debug); nil discards.
	Logger *slog.Logger
	// Ready is called once listening, with the base URL, e.g.
	// "http://127.0.0.1:41234".
	Ready func(url string)
}

const shutdownGrace = 10 * time.Second

// Serve runs the registry until ctx is cancelled, then shuts down
// gracefully: it stops accepting connections and lets requests in flight
// finish (for up to 10 seconds).
func Serve(ctx context.Context, opts ServeOptions) error {
	if (opts.TLSCertFile == "") != (opts.TLSKeyFile == "") {
		return errors.New("registry: TLS needs both a certificate and a key")
	}
	addr := opts.Addr
	if addr == "" {
		addr = DefaultAddr
	}
	// Root wins over Memory; the CLI makes them mutually exclusive.
	rg, err := New(Config{Root: opts.Root, Memory: opts.Root == "", HtpasswdFile: opts.HtpasswdFile, Logger: opts.Logger, DisableReferrersAPI: opts.NoReferrers})
	if err != nil {
		return err
	}
	defer rg.Close()

	var tlsConfig *tls.Config
	if opts.TLSCertFile != "" {
		cert, err := tls.LoadX509KeyPair(opts.TLSCertFile, opts.TLSKeyFile)
		if err != nil {
			return fmt.Errorf("registry: %w", err)
		}
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("registry: %w", err)
	}
	scheme := "http"
	if tlsConfig != nil {
		scheme = "https"
		ln = tls.NewListener(ln, tlsConfig)
	}
	srv := &http.Server{
		Handler:           rg,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ConnState:         tuneConn, // sockopt_linux.go: faster blob downloads
	}
	if opts.Logger != nil {
		srv.ErrorLog = slog.NewLogLogger(opts.Logger.Handler(), slog.LevelDebug)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	url := scheme + "://" + ln.Addr().String()
	if opts.Logger != nil {
		storage := "memory (lost on exit)"
		if opts.Root != "" {
			storage = opts.Root
		}
		opts.Logger.Info("registry listening", "url", url, "storage", storage, "auth", opts.HtpasswdFile != "", "referrersAPI", !opts.NoReferrers)
	}
	if opts.Ready != nil {
		opts.Ready(url)
	}
	select {
	case err := <-errc:
		return fmt.Errorf("registry: %w", err)
	case <-ctx.Done():
	}
	if opts.Logger != nil {
		opts.Logger.Info("registry shutting down", "url", url)
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("registry: %w", err)
	}
	return nil
}
