// Package revocation checks whether a trusted certificate chain has been
// revoked, with notation-core-go's revocation validator: OCSP as the
// certificates name responders (falling back to CRL), CRL distribution
// points, and CRL files given locally (signet verify --crl) for machines
// that cannot reach the responders. The same check is applied to every
// chain signet trusts, Notary Project (jws, cose) and prototype JWT alike.
//
// What happens when a status cannot be obtained is the Mode: Strict (the
// default, as notation's "strict" verification level) refuses the
// signature, Soft accepts it and says so, Off does not check.
package revocation

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	corerevocation "github.com/notaryproject/notation-core-go/revocation"
	"github.com/notaryproject/notation-core-go/revocation/crl"
	"github.com/notaryproject/notation-core-go/revocation/purpose"
	"github.com/notaryproject/notation-core-go/revocation/result"

	"github.com/signet-oci/signet/pkg/bounded"
	"github.com/signet-oci/signet/pkg/errdef"
)

// Mode is the policy for a status that cannot be obtained.
type Mode string

// Modes.
const (
	// Strict: a certificate whose status cannot be obtained (responder
	// unreachable, bad answer, no usable CRL) makes the signature invalid,
	// as notation's "strict" level enforces revocation. The default.
	Strict Mode = "strict"
	// Soft: such a certificate is accepted and the verdict says
	// "unknown" with the reason; a certificate known to be revoked is
	// still refused.
	Soft Mode = "soft"
	// Off: revocation is not checked.
	Off Mode = "off"
)

// ParseMode parses "strict", "soft" or "off" ("" is Strict).
func ParseMode(s string) (Mode, error) {
	switch Mode(s) {
	case "", Strict:
		return Strict, nil
	case Soft, Off:
		return Mode(s), nil
	}
	return "", fmt.Errorf("revocation mode %q: use strict, soft or off", s)
}

// Statuses reported in a verdict.
const (
	// StatusGood: every certificate that names OCSP or CRL (or that a
	// local CRL covers) was checked and none is revoked.
	StatusGood = "good"
	// StatusNoInformation: no certificate of the chain names a responder
	// or a CRL, and no local CRL covers one; nothing could be checked.
	StatusNoInformation = "no revocation information"
	// StatusUnknown: some status could not be obtained and Soft accepted
	// that.
	StatusUnknown = "unknown"
	// StatusOff: not checked (Off).
	StatusOff = "not checked"
)

// Error classes.
const (
	ClassRevoked = "revoked"
	ClassUnknown = "revocation unknown"
)

// Error is a revocation failure; it matches errdef.ErrVerification.
type Error struct {
	Class string
	Msg   string
}

func (e *Error) Error() string { return e.Msg }

// Unwrap makes errors.Is(err, errdef.ErrVerification) hold (exit 3).
func (e *Error) Unwrap() error { return errdef.ErrVerification }

// Options configure a Checker.
type Options struct {
	Mode Mode
	// CRLs are local CRLs (--crl): a certificate whose issuer signed one
	// of them is checked against it without fetching anything for its
	// CRL distribution points, and a status that could not be obtained
	// online is settled by it.
	CRLs []*x509.RevocationList
	// HTTPClient fetches OCSP answers and CRLs (nil: 5-second timeout).
	HTTPClient *http.Client
}

// Checker checks chains. It is safe for concurrent use. It remembers
// each chain's outcome, so that the signatures of one signer cost one
// round of requests per verify run.
type Checker struct {
	mode   Mode
	crls   []*x509.RevocationList
	client *http.Client

	mu   sync.Mutex
	seen map[[32]byte]outcome
}

type outcome struct {
	res *Result
	err error
}

// New returns a Checker.
func New(opts Options) (*Checker, error) {
	mode, err := ParseMode(string(opts.Mode))
	if err != nil {
		return nil, err
	}
	client := opts.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 5 * time.Second}
	}
	return &Checker{mode: mode, crls: opts.CRLs, client: client, seen: map[[32]byte]outcome{}}, nil
}

// Mode returns the checker's mode.
func (c *Checker) Mode() Mode { return c.mode }

// MaxCRLFileSize bounds a CRL file given to LoadCRLs (--crl): 32 MiB, the
// bound notation-core-go puts on a CRL it downloads. No more is read.
const MaxCRLFileSize = 32 << 20

// LoadCRLs reads CRL files (DER or PEM "X509 CRL"), each of at most
// MaxCRLFileSize bytes.
func LoadCRLs(paths ...string) ([]*x509.RevocationList, error) {
	var out []*x509.RevocationList
	for _, p := range paths {
		b, err := bounded.ReadFile(p, MaxCRLFileSize)
		if err != nil {
			if errors.Is(err, bounded.ErrTooLarge) {
				return nil, fmt.Errorf("CRL %s: larger than %d bytes, more than any CRL signet reads; check the path", p, MaxCRLFileSize)
			}
			var pe *os.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			return nil, fmt.Errorf("CRL %s: %v", p, err)
		}
		der := b
		if i := bytes.Index(b, []byte("-----BEGIN X509 CRL-----")); i >= 0 {
			der = nil
			rest := b[i:]
			for {
				var blk *pem.Block
				blk, rest = pem.Decode(rest)
				if blk == nil {
					break
				}
				if blk.Type == "X509 CRL" {
					der = blk.Bytes
					break
				}
			}
			if der == nil {
				return nil, fmt.Errorf("CRL %s: no X509 CRL PEM block", p)
			}
		}
		crl, err := x509.ParseRevocationList(der)
		if err != nil {
			return nil, fmt.Errorf("CRL %s is not a CRL (DER or PEM X509 CRL): %v", p, err)
		}
		out = append(out, crl)
	}
	return out, nil
}

// Result is the revocation outcome of an accepted chain.
type Result struct {
	Status string
	// Detail says, for StatusUnknown, which certificate's status could not
	// be obtained and why (one line).
	Detail string
}

// Check checks chain (leaf first, ending at the trust anchor). It returns
// an *Error when a certificate is revoked, or when a status could not be
// obtained under Strict.
func (c *Checker) Check(ctx context.Context, chain []*x509.Certificate) (*Result, error) {
	if c == nil || c.mode == Off {
		return &Result{Status: StatusOff}, nil
	}
	h := sha256.New()
	for _, cert := range chain {
		h.Write(cert.Raw)
	}
	var key [32]byte
	h.Sum(key[:0])
	c.mu.Lock()
	o, ok := c.seen[key]
	c.mu.Unlock()
	if ok {
		return o.res, o.err
	}
	res, err := c.check(ctx, chain)
	if ctx.Err() == nil {
		c.mu.Lock()
		c.seen[key] = outcome{res, err}
		c.mu.Unlock()
	}
	return res, err
}

func (c *Checker) check(ctx context.Context, chain []*x509.Certificate) (*Result, error) {
	if len(chain) == 0 {
		return nil, &Error{Class: ClassUnknown, Msg: "revocation: no certificate chain to check"}
	}
	if leaf := chain[0]; len(chain) == 1 && !bytes.Equal(leaf.RawIssuer, leaf.RawSubject) && (len(leaf.OCSPServer) > 0 || len(leaf.CRLDistributionPoints) > 0) {
		// A signer trusted itself (jwt: -c its certificate) whose issuer
		// is given nowhere: OCSP answers and CRLs are signed by the
		// issuer, so nothing can be checked, although the certificate
		// names where its status is.
		return c.unknown(fmt.Sprintf("revocation status of %q could not be checked: its issuer %q was given neither with -c/--ca-cert nor in the signature", leaf.Subject, leaf.Issuer))
	}
	local := make([]*x509.RevocationList, len(chain))
	checkable := false
	for i, cert := range chain[:len(chain)-1] {
		local[i] = c.localCRL(cert, chain[i+1])
		if len(cert.OCSPServer) > 0 || len(cert.CRLDistributionPoints) > 0 || local[i] != nil {
			checkable = true
		}
	}
	if !checkable {
		return &Result{Status: StatusNoInformation}, nil
	}
	v, err := corerevocation.NewWithOptions(corerevocation.Options{
		OCSPHTTPClient:   c.client,
		CRLFetcher:       &fetcher{chain: chain, local: local, client: c.client},
		CertChainPurpose: purpose.CodeSigning,
	})
	if err != nil {
		return nil, &Error{Class: ClassUnknown, Msg: "revocation: " + oneLine(err)}
	}
	results, err := v.ValidateContext(ctx, corerevocation.ValidateContextOptions{CertChain: chain})
	if err != nil || len(results) != len(chain) {
		msg := "the chain could not be checked"
		if err != nil {
			msg = oneLine(err)
		}
		return c.unknown(fmt.Sprintf("revocation status of %q could not be checked: %s", chain[0].Subject, msg))
	}
	var unknown []string
	for i, r := range results[:len(chain)-1] {
		cert := chain[i]
		if lr := local[i]; lr != nil {
			// A local CRL from this certificate's issuer settles it.
			if entry := revokedIn(lr, cert); entry != nil {
				return nil, &Error{Class: ClassRevoked, Msg: fmt.Sprintf("revocation: certificate %q (serial %s) is revoked since %s (local CRL from %q)", cert.Subject, serial(cert), entry.RevocationTime.UTC().Format(time.RFC3339), lr.Issuer)}
			}
			if r.Result == result.ResultUnknown {
				continue
			}
		}
		switch r.Result {
		case result.ResultRevoked:
			return nil, &Error{Class: ClassRevoked, Msg: fmt.Sprintf("revocation: certificate %q (serial %s) is revoked (%s)", cert.Subject, serial(cert), servers(r, true))}
		case result.ResultUnknown:
			unknown = append(unknown, fmt.Sprintf("certificate %q (serial %s): status unknown (%s)", cert.Subject, serial(cert), servers(r, false)))
		}
	}
	if len(unknown) > 0 {
		return c.unknown("revocation: " + strings.Join(unknown, "; "))
	}
	return &Result{Status: StatusGood}, nil
}

// unknown applies the mode to a status that could not be obtained.
func (c *Checker) unknown(msg string) (*Result, error) {
	if c.mode == Soft {
		return &Result{Status: StatusUnknown, Detail: msg + " (accepted: --revocation soft)"}, nil
	}
	return nil, &Error{Class: ClassUnknown, Msg: msg + " (--revocation strict refuses this; --crl FILE settles it offline, --revocation soft accepts it)"}
}

// localCRL is a local CRL that issuer signed and that is current.
func (c *Checker) localCRL(cert, issuer *x509.Certificate) *x509.RevocationList {
	for _, l := range c.crls {
		if !bytes.Equal(l.RawIssuer, cert.RawIssuer) || l.CheckSignatureFrom(issuer) != nil {
			continue
		}
		if !l.NextUpdate.IsZero() && time.Now().After(l.NextUpdate) {
			continue // stale: not relied on
		}
		return l
	}
	return nil
}

func revokedIn(l *x509.RevocationList, cert *x509.Certificate) *x509.RevocationListEntry {
	for i := range l.RevokedCertificateEntries {
		if l.RevokedCertificateEntries[i].SerialNumber.Cmp(cert.SerialNumber) == 0 {
			return &l.RevokedCertificateEntries[i]
		}
	}
	return nil
}

// serial formats a serial number as colon-separated hex, as openssl and
// most tools print it.
func serial(cert *x509.Certificate) string {
	b := cert.SerialNumber.Bytes()
	if len(b) == 0 {
		return "00"
	}
	parts := make([]string, len(b))
	for i, x := range b {
		parts[i] = fmt.Sprintf("%02X", x)
	}
	return strings.Join(parts, ":")
}

// servers names the responders behind a result (and their errors).
func servers(r *result.CertRevocationResult, revokedOnly bool) string {
	var parts []string
	for _, s := range r.ServerResults {
		if s == nil || (revokedOnly && s.Result != result.ResultRevoked) {
			continue
		}
		p := s.RevocationMethod.String()
		if s.Server != "" {
			p += " " + s.Server
		}
		if s.Error != nil && !revokedOnly {
			p += ": " + oneLine(s.Error)
		}
		parts = append(parts, p)
	}
	if len(parts) == 0 {
		return r.RevocationMethod.String()
	}
	return strings.Join(parts, "; ")
}

// fetcher serves local CRLs for the distribution points of the
// certificates they cover, and fetches the others over HTTP.
type fetcher struct {
	chain  []*x509.Certificate
	local  []*x509.RevocationList
	client *http.Client
}

func (f *fetcher) Fetch(ctx context.Context, url string) (*crl.Bundle, error) {
	for i, cert := range f.chain {
		if f.local[i] == nil {
			continue
		}
		for _, dp := range cert.CRLDistributionPoints {
			if dp == url {
				return &crl.Bundle{BaseCRL: f.local[i]}, nil
			}
		}
	}
	h, err := crl.NewHTTPFetcher(f.client)
	if err != nil {
		return nil, err
	}
	return h.Fetch(ctx, url)
}

func oneLine(err error) string { return strings.Join(strings.Fields(err.Error()), " ") }
