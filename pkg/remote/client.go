// Package remote is everything that talks to a registry as a client: an
// oras-go remote.Repository set up with credentials, TLS, retries, timeouts
// and the plain-HTTP rules; the prototype links-API client; blob pushes that
// spend as few round trips as the protocol allows; and request counting and
// tracing for --debug.
package remote

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/credentials"
	"oras.land/oras-go/v2/registry/remote/retry"

	"github.com/signet-oci/signet/pkg/reference"
)

// Defaults for the bounds every request keeps.
const (
	DefaultTimeout         = 5 * time.Minute  // a whole request, body included
	DefaultHeaderTimeout   = 30 * time.Second // until the response headers arrive
	DefaultMaxMetadataSize = 8 << 20          // referrers pages, tag lists, links responses
	DefaultMaxPages        = 1000
)

// Options configure registry access.
type Options struct {
	// Username and Password are used for every registry when set. Otherwise
	// credentials come from the Docker config (DockerConfig, or the default
	// ~/.docker/config.json) and its credential helpers.
	Username     string
	Password     string
	DockerConfig string
	// PlainHTTP uses HTTP instead of HTTPS. It is automatic for localhost and
	// loopback addresses unless ForceHTTPS is set.
	PlainHTTP bool
	// ForceHTTPS uses HTTPS even for localhost and loopback addresses
	// (--plain-http=false).
	ForceHTTPS bool
	// Insecure skips TLS certificate verification.
	Insecure bool
	// CAFile adds the PEM certificates in this file to the trusted roots.
	CAFile string
	// Timeout bounds each HTTP request, body included (0: DefaultTimeout).
	Timeout time.Duration
	// HeaderTimeout bounds the wait for response headers (0: DefaultHeaderTimeout).
	HeaderTimeout time.Duration
	// MaxMetadataSize bounds listing responses (0: DefaultMaxMetadataSize).
	MaxMetadataSize int64
	// MaxPages bounds paginated listings (0: DefaultMaxPages).
	MaxPages int
	// Debug, when set, receives one line per HTTP request and response,
	// with credentials redacted.
	Debug io.Writer
	// Transport is the base transport (nil: a clone of http.DefaultTransport).
	// Tests use it to inject faults.
	Transport http.RoundTripper
	// Retry overrides the retry policy (nil: oras-go's default, with
	// back-off on 429, 408 and 5xx, honouring Retry-After).
	Retry retry.Policy
	// UserAgent is sent with every request.
	UserAgent string
}

// Client gives out repositories configured with Options and counts the
// requests they send.
type Client struct {
	opts     Options
	auth     *auth.Client
	requests atomic.Int64
	debugMu  sync.Mutex // one debug line at a time: requests run concurrently
}

// New builds a Client.
func New(opts Options) (*Client, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.HeaderTimeout <= 0 {
		opts.HeaderTimeout = DefaultHeaderTimeout
	}
	if opts.MaxMetadataSize <= 0 {
		opts.MaxMetadataSize = DefaultMaxMetadataSize
	}
	if opts.MaxPages <= 0 {
		opts.MaxPages = DefaultMaxPages
	}
	base := opts.Transport
	if base == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.ResponseHeaderTimeout = opts.HeaderTimeout
		t.MaxIdleConnsPerHost = 16
		if opts.Insecure || opts.CAFile != "" {
			cfg := &tls.Config{InsecureSkipVerify: opts.Insecure} //nolint:gosec // the user asked for --insecure
			if opts.CAFile != "" {
				pem, err := os.ReadFile(opts.CAFile)
				if err != nil {
					return nil, fmt.Errorf("reading --ca-file: %w", err)
				}
				pool, err := x509.SystemCertPool()
				if err != nil || pool == nil {
					pool = x509.NewCertPool()
				}
				if !pool.AppendCertsFromPEM(pem) {
					return nil, fmt.Errorf("--ca-file %s holds no PEM certificate", opts.CAFile)
				}
				cfg.RootCAs = pool
			}
			t.TLSClientConfig = cfg
		}
		base = t
	}
	c := &Client{opts: opts}
	var rt http.RoundTripper = &countingTransport{base: base, client: c}
	rt = &retry.Transport{Base: rt, Policy: func() retry.Policy {
		if opts.Retry != nil {
			return opts.Retry
		}
		return retry.DefaultPolicy
	}}
	credFunc, err := credentialFunc(opts)
	if err != nil {
		return nil, err
	}
	c.auth = &auth.Client{
		Client:     &http.Client{Transport: rt, Timeout: 0},
		Credential: credFunc,
		Cache:      auth.NewCache(),
		// A registry on this machine (the embedded one, a test registry)
		// may name a loopback token realm.
		BlockedRealmPrefixes: []netip.Prefix{},
	}
	ua := opts.UserAgent
	if ua == "" {
		ua = "signet"
	}
	c.auth.SetUserAgent(ua)
	return c, nil
}

func credentialFunc(opts Options) (auth.CredentialFunc, error) {
	if opts.Username != "" || opts.Password != "" {
		cred := auth.Credential{Username: opts.Username, Password: opts.Password}
		if opts.Username == "" {
			cred = auth.Credential{RefreshToken: opts.Password}
		}
		return func(context.Context, string) (auth.Credential, error) { return cred, nil }, nil
	}
	var (
		store credentials.Store
		err   error
	)
	if opts.DockerConfig != "" {
		store, err = credentials.NewStore(opts.DockerConfig, credentials.StoreOptions{})
	} else {
		store, err = credentials.NewStoreFromDocker(credentials.StoreOptions{})
	}
	if err != nil {
		// A broken Docker config must not stop anonymous access; say so
		// once the registry asks for credentials.
		return func(context.Context, string) (auth.Credential, error) {
			return auth.EmptyCredential, fmt.Errorf("reading Docker credentials: %w", err)
		}, nil
	}
	return credentials.Credential(store), nil
}

// Requests is the number of HTTP requests sent so far (retries included).
func (c *Client) Requests() int64 { return c.requests.Load() }

// HTTPClient is the authenticating, retrying client.
func (c *Client) HTTPClient() remote.Client { return c.auth }

// PlainHTTP reports whether host is reached over plain HTTP.
func (c *Client) PlainHTTP(host string) bool {
	if c.opts.ForceHTTPS {
		return false
	}
	return c.opts.PlainHTTP || IsLocalhost(host)
}

// IsLocalhost reports whether host (with or without :port) is localhost or a
// loopback address, for which plain HTTP is the default.
func IsLocalhost(host string) bool {
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
	}
	h = strings.Trim(h, "[]")
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// Repository returns an oras-go repository for ref, with the client's
// settings and bounds.
func (c *Client) Repository(ref reference.Reference) (*remote.Repository, error) {
	if ref.Kind != reference.Registry {
		return nil, fmt.Errorf("%s is not a registry reference", ref.Raw)
	}
	repo, err := remote.NewRepository(ref.Repo())
	if err != nil {
		return nil, err
	}
	repo.Client = c.auth
	repo.PlainHTTP = c.PlainHTTP(ref.Registry)
	repo.MaxMetadataBytes = c.opts.MaxMetadataSize
	repo.ReferrerListMaxPages = c.opts.MaxPages
	repo.TagListMaxPages = c.opts.MaxPages
	repo.SkipReferrersGC = false
	return repo, nil
}

// BaseURL is scheme://host for a registry host.
func (c *Client) BaseURL(host string) string {
	if c.PlainHTTP(host) {
		return "http://" + host
	}
	return "https://" + host
}

// countingTransport counts requests, bounds each one in time, and traces
// them when --debug is on.
type countingTransport struct {
	base   http.RoundTripper
	client *Client
}

func (t *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	n := t.client.requests.Add(1)
	start := time.Now()
	if req.Method == http.MethodGet && req.Header.Get("Accept") == "" && strings.Contains(req.URL.Path, "/referrers/") {
		// oras-go asks the referrers API without an Accept header; the
		// answer is an OCI image index (distribution-spec 1.1).
		req = req.Clone(req.Context())
		req.Header.Set("Accept", ocispec.MediaTypeImageIndex)
	}
	ctx, cancel := context.WithTimeout(req.Context(), t.client.opts.Timeout)
	resp, err := t.base.RoundTrip(req.WithContext(ctx))
	if w := t.client.opts.Debug; w != nil {
		t.client.debugMu.Lock()
		defer t.client.debugMu.Unlock()
		if err != nil {
			fmt.Fprintf(w, "debug: #%d %s %s -> error: %v (%s)\n", n, req.Method, redactURL(req), err, time.Since(start).Round(time.Millisecond))
		} else {
			fmt.Fprintf(w, "debug: #%d %s %s -> %d (%s)%s\n", n, req.Method, redactURL(req), resp.StatusCode, time.Since(start).Round(time.Millisecond), authNote(req))
		}
	}
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c *cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

func redactURL(req *http.Request) string {
	u := *req.URL
	if u.User != nil {
		u.User = nil
	}
	q := u.Query()
	for _, k := range []string{"_state", "token", "access_token", "password"} {
		if q.Has(k) {
			q.Set(k, "REDACTED")
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}

func authNote(req *http.Request) string {
	a := req.Header.Get("Authorization")
	if a == "" {
		return ""
	}
	scheme, _, _ := strings.Cut(a, " ")
	return " [Authorization: " + scheme + " REDACTED]"
}
