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
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/credentials"
	"oras.land/oras-go/v2/registry/remote/retry"

	"github.com/signet-oci/signet/pkg/bounded"
	"github.com/signet-oci/signet/pkg/reference"
)

// Defaults for the bounds every request keeps.
const (
	DefaultTimeout         = 5 * time.Minute  // a whole request, body included
	DefaultHeaderTimeout   = 20 * time.Second // until the response headers arrive (tried at most twice)
	DefaultMaxMetadataSize = 8 << 20          // referrers pages, tag lists, links responses
	DefaultMaxPages        = 1000
	maxCAFileSize          = 8 << 20 // --ca-file: a CA bundle, read no further
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
	// HeaderTimeout bounds the wait for response headers, connecting
	// included (0: DefaultHeaderTimeout). A request that times out is
	// retried once; once a host has timed out twice, further requests to
	// it fail at once, so that a registry that never answers costs at most
	// twice HeaderTimeout.
	HeaderTimeout time.Duration
	// Deadline is the bound the caller put on the whole operation with its
	// context (signet's --timeout), named in the error when it runs out.
	Deadline time.Duration
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
// requests they send. Make one with New and share it: it is safe for
// concurrent use, and its credential cache and hang bookkeeping span the
// calls. A nil or zero Client is refused (ErrNoClient), not dereferenced.
type Client struct {
	opts     Options
	auth     *auth.Client
	requests atomic.Int64
	lastHost atomic.Value // string: the host of the latest request
	debugMu  sync.Mutex   // one debug line at a time: requests run concurrently

	hangMu sync.Mutex
	hangs  map[string]*hangState // consecutive header timeouts per host
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
		t.MaxIdleConnsPerHost = 16
		if opts.Insecure || opts.CAFile != "" {
			cfg := &tls.Config{InsecureSkipVerify: opts.Insecure} //nolint:gosec // the user asked for --insecure
			if opts.CAFile != "" {
				pem, err := bounded.ReadFile(opts.CAFile, maxCAFileSize)
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
	c := &Client{opts: opts, hangs: map[string]*hangState{}}
	var rt http.RoundTripper = &countingTransport{base: base, client: c}
	policy := opts.Retry
	if policy == nil {
		policy = retry.DefaultPolicy
	}
	rt = &retryTransport{base: rt, policy: policy, client: c}
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

// LastHost is the registry host (host[:port]) of the latest request, "" before
// the first.
func (c *Client) LastHost() string {
	h, _ := c.lastHost.Load().(string)
	return h
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
	if err := c.usable(); err != nil {
		return nil, err
	}
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

// ErrNoClient is the error of every request method of a nil or zero Client:
// make one with New.
var ErrNoClient = errors.New("no registry client: make one with remote.New")

// usable refuses a nil Client, or one not made by New (its zero value),
// before anything dereferences its settings.
func (c *Client) usable() error {
	if c == nil || c.auth == nil {
		return ErrNoClient
	}
	return nil
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
	host := req.URL.Host
	wait, hangs := t.client.headerWait(host)
	if wait <= 0 {
		return nil, &HangError{Host: host, After: t.client.opts.HeaderTimeout, Times: hangs}
	}
	n := t.client.requests.Add(1)
	t.client.lastHost.Store(host)
	start := time.Now()
	if req.Method == http.MethodGet && req.Header.Get("Accept") == "" && strings.Contains(req.URL.Path, "/referrers/") {
		// oras-go asks the referrers API without an Accept header; the
		// answer is an OCI image index (distribution-spec 1.1).
		req = req.Clone(req.Context())
		req.Header.Set("Accept", ocispec.MediaTypeImageIndex)
	}
	req, nested := nestedRequest(req)
	hctx, stopHeaderWait := context.WithCancelCause(req.Context())
	ctx, cancel := context.WithTimeout(hctx, t.client.opts.Timeout)
	var state atomic.Int32 // 0 waiting for headers, 1 headers arrived, 2 header timeout
	timer := time.AfterFunc(wait, func() {
		if state.CompareAndSwap(0, 2) {
			stopHeaderWait(errHeaderWait)
		}
	})
	resp, err := t.base.RoundTrip(req.WithContext(ctx))
	timer.Stop()
	if !state.CompareAndSwap(0, 1) {
		// The header timer fired: whatever came back is too late.
		if err == nil {
			resp.Body.Close()
		}
		err = &HangError{Host: host, After: t.client.opts.HeaderTimeout, Times: t.client.noteHang(host)}
	} else if err == nil {
		t.client.answered(host)
	} else if errors.Is(req.Context().Err(), context.DeadlineExceeded) {
		err = &DeadlineError{Host: host, Bound: t.client.opts.Deadline, err: err}
	}
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
		stopHeaderWait(nil)
		return nil, err
	}
	if nested != nil {
		nested.record(resp)
	}
	resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: func() { cancel(); stopHeaderWait(nil) }}
	return resp, nil
}

var errHeaderWait = errors.New("no response headers in time")

// hangState counts a host's consecutive header timeouts. After the first,
// the host has one more header wait (until until) for everything: the
// retry and any request started meanwhile; after the second, none. An
// answer resets it. A registry that never answers thus costs at most two
// header waits, however many requests a command makes, in sequence or
// at once.
type hangState struct {
	count int
	until time.Time
}

// headerWait is how long a request to host may wait for headers now, and
// the host's consecutive header timeouts; 0 means give up at once.
func (c *Client) headerWait(host string) (time.Duration, int) {
	c.hangMu.Lock()
	defer c.hangMu.Unlock()
	h := c.hangs[host]
	switch {
	case h == nil:
		return c.opts.HeaderTimeout, 0
	case h.count >= 2:
		return 0, h.count
	}
	return min(c.opts.HeaderTimeout, time.Until(h.until)), h.count
}

func (c *Client) noteHang(host string) int {
	c.hangMu.Lock()
	defer c.hangMu.Unlock()
	h := c.hangs[host]
	if h == nil {
		h = &hangState{until: time.Now().Add(c.opts.HeaderTimeout)}
		c.hangs[host] = h
	}
	h.count++
	return h.count
}

func (c *Client) answered(host string) {
	c.hangMu.Lock()
	defer c.hangMu.Unlock()
	delete(c.hangs, host)
}

// HangError: the registry did not start answering a request within the
// header timeout (Times such waits so far for the host).
type HangError struct {
	Host  string
	After time.Duration
	Times int
}

func (e *HangError) Error() string {
	return fmt.Sprintf("registry %s did not answer within %s", e.Host, e.After)
}

// DeadlineError: the caller's deadline (its context; signet's --timeout)
// ran out while a request to Host was under way or waiting to be retried.
type DeadlineError struct {
	Host  string
	Bound time.Duration // 0 when the caller did not say
	err   error
}

func (e *DeadlineError) Error() string {
	if e.Bound > 0 {
		return fmt.Sprintf("registry %s did not answer within the %s deadline", e.Host, e.Bound)
	}
	return fmt.Sprintf("registry %s did not answer before the deadline", e.Host)
}

func (e *DeadlineError) Unwrap() error { return context.DeadlineExceeded }

// retryTransport retries what the policy says is worth retrying (429,
// 408, 5xx with back-off and Retry-After; resets), but a header timeout
// at most once and without back-off, and never sleeps past the context's
// deadline: when the back-off would end after it, the last answer is
// returned as it is.
type retryTransport struct {
	base   http.RoundTripper
	policy retry.Policy
	client *Client
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	attempt, hangRetried := 0, false
	for {
		resp, respErr := t.base.RoundTrip(req)
		var hang *HangError
		var dl *DeadlineError
		switch {
		case errors.As(respErr, &hang):
			if hangRetried || hang.Times >= 2 || ctx.Err() != nil {
				return nil, respErr
			}
			hangRetried = true
			if !rewind(req) {
				return nil, respErr
			}
			continue
		case errors.As(respErr, &dl):
			return nil, respErr
		case ctx.Err() != nil:
			if respErr == nil {
				resp.Body.Close()
			}
			return nil, t.ctxErr(req)
		}
		wait, err := t.policy.Retry(attempt, resp, respErr)
		if err != nil {
			if respErr == nil {
				resp.Body.Close()
			}
			return nil, err
		}
		if wait < 0 {
			return resp, respErr
		}
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait {
			return resp, respErr // the back-off would outlast the deadline
		}
		if !rewind(req) {
			return resp, respErr
		}
		if respErr == nil {
			resp.Body.Close()
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, t.ctxErr(req)
		case <-timer.C:
		}
		attempt++
	}
}

func (t *retryTransport) ctxErr(req *http.Request) error {
	if errors.Is(req.Context().Err(), context.DeadlineExceeded) {
		return &DeadlineError{Host: req.URL.Host, Bound: t.client.opts.Deadline, err: req.Context().Err()}
	}
	return req.Context().Err()
}

// rewind resets req's body for another attempt; false when it cannot.
func rewind(req *http.Request) bool {
	if req.Body == nil || req.Body == http.NoBody {
		return true
	}
	if req.GetBody == nil {
		return false
	}
	b, err := req.GetBody()
	if err != nil {
		return false
	}
	req.Body = b
	return true
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
