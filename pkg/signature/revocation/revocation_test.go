package revocation_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/signet-oci/signet/internal/testpki"
	"github.com/signet-oci/signet/pkg/errdef"
	"github.com/signet-oci/signet/pkg/signature/revocation"
)

func checker(t *testing.T, mode revocation.Mode, crlFiles ...string) *revocation.Checker {
	t.Helper()
	crls, err := revocation.LoadCRLs(crlFiles...)
	if err != nil {
		t.Fatal(err)
	}
	c, err := revocation.New(revocation.Options{Mode: mode, CRLs: crls})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func wantErr(t *testing.T, err error, class string, words ...string) {
	t.Helper()
	var re *revocation.Error
	if !errors.As(err, &re) || re.Class != class || !errors.Is(err, errdef.ErrVerification) || strings.Contains(err.Error(), "\n") {
		t.Fatalf("got %v, want a one-line %q error", err, class)
	}
	for _, w := range words {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%q does not say %q", err, w)
		}
	}
}

// serialHex is how the reasons print a serial.
func serialHex(s *testpki.Signer) string {
	var parts []string
	for _, b := range s.Chain[0].SerialNumber.Bytes() {
		parts = append(parts, strings.ToUpper(string("0123456789abcdef"[b>>4])+string("0123456789abcdef"[b&15])))
	}
	return strings.Join(parts, ":")
}

// TestOCSPAndCRL: good, revoked and unreachable, through OCSP, through
// CRL, and through OCSP falling back to CRL, in each mode.
func TestOCSPAndCRL(t *testing.T) {
	ctx := context.Background()
	ca := testpki.NewRevocationCA(t, "signet revocation CA")
	for _, c := range []struct {
		name            string
		withOCSP, withC bool
	}{{"ocsp", true, false}, {"crl", false, true}, {"ocsp-and-crl", true, true}} {
		t.Run(c.name, func(t *testing.T) {
			good := ca.Leaf(t, "good "+c.name, c.withOCSP, c.withC)
			bad := ca.Leaf(t, "revoked "+c.name, c.withOCSP, c.withC)
			ca.Revoke(bad.Chain[0])

			once := checker(t, revocation.Strict)
			res, err := once.Check(ctx, good.Chain)
			if err != nil || res.Status != revocation.StatusGood {
				t.Fatalf("good: %v %+v", err, res)
			}
			asked := ca.OCSPRequests.Load() + ca.CRLRequests.Load()
			if res, err := once.Check(ctx, good.Chain); err != nil || res.Status != revocation.StatusGood || ca.OCSPRequests.Load()+ca.CRLRequests.Load() != asked {
				t.Fatalf("second check of the same chain: %v %+v, or it asked the responders again", err, res)
			}
			for _, mode := range []revocation.Mode{revocation.Strict, revocation.Soft} {
				_, err = checker(t, mode).Check(ctx, bad.Chain)
				wantErr(t, err, revocation.ClassRevoked, "revoked", serialHex(bad), `"CN=revoked `+c.name)
			}
			res, err = checker(t, revocation.Off).Check(ctx, bad.Chain)
			if err != nil || res.Status != revocation.StatusOff {
				t.Fatalf("off: %v %+v", err, res)
			}

			ca.SetDown(true)
			defer ca.SetDown(false)
			_, err = checker(t, revocation.Strict).Check(ctx, good.Chain)
			wantErr(t, err, revocation.ClassUnknown, "status unknown", serialHex(good), "503", "--revocation soft")
			res, err = checker(t, revocation.Soft).Check(ctx, good.Chain)
			if err != nil || res.Status != revocation.StatusUnknown || !strings.Contains(res.Detail, "503") {
				t.Fatalf("soft, unreachable: %v %+v", err, res)
			}
		})
	}
	if ca.OCSPRequests.Load() == 0 || ca.CRLRequests.Load() == 0 {
		t.Fatalf("OCSP asked %d times, CRL %d times: both should have been used", ca.OCSPRequests.Load(), ca.CRLRequests.Load())
	}
}

// TestLocalCRL: --crl settles a certificate offline: revoked, good while
// the responders are down, and a stale CRL is not relied on.
func TestLocalCRL(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	ca := testpki.NewRevocationCA(t, "signet offline CA")
	good := ca.Leaf(t, "good offline", true, true)
	bad := ca.Leaf(t, "revoked offline", true, true)
	ca.Revoke(bad.Chain[0])
	fresh := ca.WriteCRL(t, dir, "fresh.crl", time.Now().Add(time.Hour))
	stale := ca.WriteCRL(t, dir, "stale.crl", time.Now().Add(-time.Minute))
	other := testpki.NewRevocationCA(t, "unrelated CA").WriteCRL(t, dir, "other.crl", time.Now().Add(time.Hour))
	ca.SetDown(true)
	before := ca.CRLRequests.Load()

	_, err := checker(t, revocation.Strict, other, fresh).Check(ctx, bad.Chain)
	wantErr(t, err, revocation.ClassRevoked, serialHex(bad), "local CRL")
	res, err := checker(t, revocation.Strict, fresh).Check(ctx, good.Chain)
	if err != nil || res.Status != revocation.StatusGood {
		t.Fatalf("good with a local CRL, responders down: %v %+v", err, res)
	}
	_, err = checker(t, revocation.Strict, stale).Check(ctx, good.Chain)
	wantErr(t, err, revocation.ClassUnknown, "status unknown")
	_, err = checker(t, revocation.Strict, other).Check(ctx, good.Chain)
	wantErr(t, err, revocation.ClassUnknown, "status unknown")
	if n := ca.CRLRequests.Load() - before; n != 0 {
		t.Errorf("the CRL endpoint answered %d requests while down", n)
	}

	// A chain naming nothing: no information, nothing asked.
	plain := testpki.ShortLived(t, "plain", time.Now().Add(time.Hour))
	res, err = checker(t, revocation.Strict).Check(ctx, plain.Chain)
	if err != nil || res.Status != revocation.StatusNoInformation {
		t.Fatalf("plain chain: %v %+v", err, res)
	}
}

func TestLoadCRLsAndModes(t *testing.T) {
	if _, err := revocation.LoadCRLs("/nonexistent.crl"); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing file: %v", err)
	}
	if _, err := revocation.ParseMode("lenient"); err == nil || !strings.Contains(err.Error(), "strict, soft or off") {
		t.Errorf("bad mode: %v", err)
	}
	if m, _ := revocation.ParseMode(""); m != revocation.Strict {
		t.Errorf("default mode %q, want strict", m)
	}
}
