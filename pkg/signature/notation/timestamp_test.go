package notation

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/signet-oci/signet/internal/testpki"
	"github.com/signet-oci/signet/pkg/errdef"
)

// expiring returns a signer whose certificate expires a few seconds from
// now, and a function that waits until it has.
func expiring(t *testing.T) (*testpki.Signer, func()) {
	s := testpki.ShortLived(t, "signet expiring signer", time.Now().Add(4*time.Second))
	return s, func() {
		if d := time.Until(s.Chain[0].NotAfter.Add(1100 * time.Millisecond)); d > 0 {
			time.Sleep(d)
		}
	}
}

func tsSign(t *testing.T, s *testpki.Signer, format string, tsa *testpki.TSA) []byte {
	t.Helper()
	opts := SignOptions{Signer: s.Key, Certificates: s.Chain, Format: format}
	if tsa != nil {
		opts.TimestampURL, opts.TimestampRoots = tsa.URL, []*x509Cert{tsa.Root}
	}
	env, err := Sign(context.Background(), testSubject, opts)
	if err != nil {
		t.Fatalf("sign %s: %v", format, err)
	}
	return env
}

func wantClass(t *testing.T, err error, class string, words ...string) {
	t.Helper()
	var ne *Error
	if !errors.As(err, &ne) || ne.Class != class || !errors.Is(err, errdef.ErrVerification) {
		t.Fatalf("got %v, want a %q verification error", err, class)
	}
	t.Logf("%s: %v", class, err)
	for _, w := range words {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("reason %q does not say %q", err, w)
		}
	}
}

// TestTimestamps: RFC 3161 timestamps made through notation-go against an
// in-process TSA, then verified with and without trusting the TSA, before
// and after the signing certificate expires.
func TestTimestamps(t *testing.T) {
	tsa := testpki.New(t, "signet test TSA")
	other := testpki.New(t, "other TSA")
	longLived := testpki.ShortLived(t, "signet long-lived signer", time.Now().Add(time.Hour))
	short, wait := expiring(t)

	type sig struct {
		format string
		env    []byte
	}
	var valid, expiredTS, expiredPlain, untrusted []sig
	for _, f := range []string{FormatJWS, FormatCOSE} {
		valid = append(valid, sig{f, tsSign(t, longLived, f, tsa)})
		expiredTS = append(expiredTS, sig{f, tsSign(t, short, f, tsa)})
		expiredPlain = append(expiredPlain, sig{f, tsSign(t, short, f, nil)})
		untrusted = append(untrusted, sig{f, tsSign(t, short, f, other)})
	}
	if n := tsa.Requests.Load(); n != 4 {
		t.Fatalf("the TSA answered %d queries, want 4 (one per timestamped signature)", n)
	}
	// A timestamp of other bytes: the token of one signature moved into
	// another (same signer, same TSA); the unsigned header is not covered
	// by the signature, so only the token's message imprint can tell.
	donor := tsSign(t, short, FormatJWS, tsa)
	victim := tsSign(t, short, FormatJWS, nil)
	moved := moveTimestamp(t, donor, victim)

	trustTSA := func(s *testpki.Signer) VerifyOptions {
		return VerifyOptions{TrustedCertificates: []*x509Cert{s.CA}, TSACertificates: []*x509Cert{tsa.Root}}
	}

	for _, s := range valid {
		res, err := Verify(context.Background(), s.env, s.format, testSubject, trustTSA(longLived))
		if err != nil {
			t.Fatalf("%s valid timestamped: %v", s.format, err)
		}
		if res.TimestampedAt.IsZero() || time.Since(res.TimestampedAt) > time.Minute || res.TSA != "CN=signet test TSA,O=signet tests" {
			t.Errorf("%s: timestamp %s by %q, want a recent one by the test TSA", s.format, res.TimestampedAt, res.TSA)
		}
		// Without TSA trust the signature is still valid (its chain is),
		// but the verdict does not claim a timestamp.
		res, err = Verify(context.Background(), s.env, s.format, testSubject, VerifyOptions{TrustedCertificates: []*x509Cert{longLived.CA}})
		if err != nil || !res.TimestampedAt.IsZero() {
			t.Errorf("%s without --tsa-root-cert: %v, timestamp %s (want valid, no timestamp claimed)", s.format, err, res.TimestampedAt)
		}
	}

	wait()
	for _, s := range expiredTS {
		res, err := Verify(context.Background(), s.env, s.format, testSubject, trustTSA(short))
		if err != nil {
			t.Fatalf("%s expired but timestamped: %v", s.format, err)
		}
		if !res.TimestampedAt.Before(short.Chain[0].NotAfter) || res.TSA == "" {
			t.Errorf("%s: timestamped at %s by %q, want before the certificate's expiry %s", s.format, res.TimestampedAt, res.TSA, short.Chain[0].NotAfter)
		}
		// The same signature without trusting the TSA: expired.
		_, err = Verify(context.Background(), s.env, s.format, testSubject, VerifyOptions{TrustedCertificates: []*x509Cert{short.CA}})
		wantClass(t, err, ClassCertificate, "expired", "--tsa-root-cert")
	}
	for _, s := range expiredPlain {
		_, err := Verify(context.Background(), s.env, s.format, testSubject, trustTSA(short))
		wantClass(t, err, ClassTimestamp, "no timestamp")
		_, err = Verify(context.Background(), s.env, s.format, testSubject, VerifyOptions{TrustedCertificates: []*x509Cert{short.CA}})
		wantClass(t, err, ClassCertificate, "expired")
	}
	for _, s := range untrusted {
		_, err := Verify(context.Background(), s.env, s.format, testSubject, trustTSA(short))
		wantClass(t, err, ClassTimestamp, "RFC 3161 timestamp", "unknown authority")
	}
	_, err := Verify(context.Background(), moved, FormatJWS, testSubject, trustTSA(short))
	wantClass(t, err, ClassTimestamp, "RFC 3161 timestamp", "mismatched message")
	// The donor itself is fine: the refusal is about the move.
	if _, err := Verify(context.Background(), donor, FormatJWS, testSubject, trustTSA(short)); err != nil {
		t.Fatalf("donor: %v", err)
	}
}

// moveTimestamp copies the timestamp token of JWS envelope from into to.
func moveTimestamp(t *testing.T, from, to []byte) []byte {
	t.Helper()
	var a, b map[string]any
	if err := json.Unmarshal(from, &a); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(to, &b); err != nil {
		t.Fatal(err)
	}
	ha, hb := a["header"].(map[string]any), b["header"].(map[string]any)
	tok, ok := ha["io.cncf.notary.timestampSignature"]
	if !ok {
		t.Fatalf("no timestamp in %v", ha)
	}
	hb["io.cncf.notary.timestampSignature"] = tok
	out, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestTimestampSignErrors(t *testing.T) {
	s := testpki.ShortLived(t, "signet signer", time.Now().Add(time.Hour))
	tsa := testpki.New(t, "signet test TSA")
	other := testpki.New(t, "other TSA")
	for _, c := range []struct {
		name string
		opts SignOptions
		want string
	}{
		{"url without root", SignOptions{TimestampURL: tsa.URL}, "both the TSA's URL and its root certificate"},
		{"bad scheme", SignOptions{TimestampURL: "ftp://x", TimestampRoots: []*x509Cert{tsa.Root}}, "scheme must be http or https"},
		{"unreachable", SignOptions{TimestampURL: "http://127.0.0.1:1/", TimestampRoots: []*x509Cert{tsa.Root}}, "timestamp from http://127.0.0.1:1/"},
		{"untrusted answer", SignOptions{TimestampURL: tsa.URL, TimestampRoots: []*x509Cert{other.Root}}, "certificate signed by unknown authority"},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.opts.Signer, c.opts.Certificates, c.opts.Format = s.Key, s.Chain, FormatJWS
			_, err := Sign(context.Background(), testSubject, c.opts)
			if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("got %v, want one line saying %q", err, c.want)
			}
		})
	}
}

type x509Cert = x509.Certificate
