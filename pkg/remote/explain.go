package remote

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/errcode"
)

// Explain turns a transport or registry error for host into one line that
// says what failed and what to do, keeping the original error wrapped. The
// host is the one the error names (HostOf) when it names one. An error
// already explained, or one Explain has no hint for, is returned as it is.
func Explain(host string, err error) error {
	var done *ExplainedError
	if err == nil || errors.As(err, &done) {
		return err
	}
	if h := HostOf(err); h != "" {
		host = h
	}
	var (
		resp     *errcode.ErrorResponse
		unknown  x509.UnknownAuthorityError
		hostErr  x509.HostnameError
		certErr  *tls.CertificateVerificationError
		recHdr   tls.RecordHeaderError
		opErr    *net.OpError
		statusEr *StatusError
		hang     *HangError
		dnsErr   *net.DNSError
		deadline *DeadlineError
	)
	hint := ""
	switch {
	case errors.As(err, &hang):
		hint = fmt.Sprintf("registry %s did not answer within %s; check that it is up and reachable (--timeout sets this bound)", hang.Host, hang.After)
	case errors.As(err, &deadline) && deadline.Bound > 0:
		hint = fmt.Sprintf("registry %s did not answer within the %s that --timeout allows the command", deadline.Host, deadline.Bound)
	case errors.Is(err, context.DeadlineExceeded):
		hint = fmt.Sprintf("registry %s did not answer before the deadline (--timeout)", host)
	case errors.Is(err, auth.ErrBasicCredentialNotFound):
		hint = fmt.Sprintf("registry %s requires credentials and none were given; pass -u and --password-stdin, or run 'signet login %s'", host, host)
	case errors.As(err, &resp) && resp.StatusCode == http.StatusBadRequest && len(resp.Errors) == 0 && resp.URL != nil && resp.URL.Scheme == "http":
		hint = fmt.Sprintf("registry %s answered a plain HTTP request with 400 Bad Request: it probably speaks HTTPS; pass --plain-http=false", host)
	case errors.As(err, &resp) && resp.StatusCode == http.StatusUnauthorized:
		hint = fmt.Sprintf("registry %s refused the credentials (401); check -u/-p or run 'signet login %s'", host, host)
	case errors.As(err, &statusEr) && statusEr.StatusCode == http.StatusUnauthorized:
		hint = fmt.Sprintf("registry %s refused the credentials (401); check -u/-p or run 'signet login %s'", host, host)
	case errors.As(err, &resp) && resp.StatusCode == http.StatusForbidden:
		hint = fmt.Sprintf("registry %s denied access (403); the account lacks permission for this repository", host)
	case errors.As(err, &unknown), errors.As(err, &certErr) && errors.As(certErr.Err, &unknown):
		hint = fmt.Sprintf("registry %s presented a certificate signed by an unknown authority; pass its CA with --ca-file (or --insecure to skip verification)", host)
	case errors.As(err, &hostErr):
		hint = fmt.Sprintf("registry %s presented a certificate for another name (%v); check the host, or pass --insecure", host, hostErr.Certificate.DNSNames)
	case errors.As(err, &recHdr), strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		hint = fmt.Sprintf("registry %s speaks plain HTTP, not HTTPS; pass --plain-http", host)
	case strings.Contains(err.Error(), "malformed HTTP response"):
		hint = fmt.Sprintf("registry %s speaks HTTPS; drop --plain-http", host)
	case errors.As(err, &dnsErr):
		hint = fmt.Sprintf("cannot find registry host %s (%s); check the name", host, dnsErr.Err)
	case errors.As(err, &opErr) && opErr.Op == "dial" && IsLocalhost(host):
		hint = fmt.Sprintf("cannot connect to registry %s; is it running (signet registry serve)?", host)
	case errors.As(err, &opErr) && opErr.Op == "dial":
		hint = fmt.Sprintf("cannot connect to registry %s (%v); check the host and port, and that it is reachable from here", host, opErr.Err)
	}
	if hint == "" {
		return err
	}
	return &ExplainedError{Hint: hint, Err: err}
}

// HostOf is the registry host (host[:port]) a transport or registry error
// names, or "".
func HostOf(err error) string {
	var (
		hang     *HangError
		deadline *DeadlineError
		resp     *errcode.ErrorResponse
		uerr     *url.Error
	)
	switch {
	case errors.As(err, &hang):
		return hang.Host
	case errors.As(err, &deadline):
		return deadline.Host
	case errors.As(err, &resp) && resp.URL != nil:
		return resp.URL.Host
	case errors.As(err, &uerr):
		if u, perr := url.Parse(uerr.URL); perr == nil {
			return u.Host
		}
	}
	return ""
}

// ExplainedError is a transport or registry error with the user's line
// for it (Hint): what Explain returns. Callers test for it with errors.As
// rather than reading the text (the CLI adds no second hint to one).
type ExplainedError struct {
	Hint string
	Err  error
}

func (e *ExplainedError) Error() string { return e.Hint }
func (e *ExplainedError) Unwrap() error { return e.Err }

// IsUnauthorized reports whether err is a registry's 401 answer.
func IsUnauthorized(err error) bool {
	var (
		resp     *errcode.ErrorResponse
		statusEr *StatusError
	)
	return errors.As(err, &resp) && resp.StatusCode == http.StatusUnauthorized ||
		errors.As(err, &statusEr) && statusEr.StatusCode == http.StatusUnauthorized
}

// HasErrorCode reports whether err holds a registry's error response (as
// oras-go returns it) carrying one of the distribution-spec error codes.
func HasErrorCode(err error, codes ...string) bool {
	var resp *errcode.ErrorResponse
	if errors.As(err, &resp) {
		for _, e := range resp.Errors {
			for _, c := range codes {
				if e.Code == c {
					return true
				}
			}
		}
	}
	var one errcode.Error
	if errors.As(err, &one) {
		for _, c := range codes {
			if one.Code == c {
				return true
			}
		}
	}
	return false
}

// Unavailable reports whether err is the registry failing to answer rather
// than an answer that proves something: no answer (HangError,
// DeadlineError, a deadline), a transport failure (a net.Error: refused,
// reset, timed out), or a status that says it could not or would not serve
// the request (401, 403, 408, 429, 5xx). A 404, or bytes that do not match
// their digest, are answers, not unavailability.
func Unavailable(err error) bool {
	var (
		hang     *HangError
		deadline *DeadlineError
		resp     *errcode.ErrorResponse
		statusEr *StatusError
		netErr   net.Error
	)
	unavailable := func(code int) bool {
		switch code {
		case http.StatusUnauthorized, http.StatusForbidden, http.StatusRequestTimeout, http.StatusTooManyRequests:
			return true
		}
		return code >= 500
	}
	switch {
	case errors.As(err, &hang), errors.As(err, &deadline), errors.Is(err, context.DeadlineExceeded):
		return true
	case errors.As(err, &resp):
		return unavailable(resp.StatusCode)
	case errors.As(err, &statusEr):
		return unavailable(statusEr.StatusCode)
	case errors.As(err, &netErr):
		return true
	}
	return false
}
