package jwt_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/signet-oci/signet/pkg/errdef"
	"github.com/signet-oci/signet/pkg/signature"
	"github.com/signet-oci/signet/pkg/signature/jwt"
)

// fuzzFixture is the corpus's trust and subject: every corpus token is a
// seed, the valid controls are the only tokens that may verify.
type fuzzFixture struct {
	trusted []*fuzzTrust
	valid   [][]byte
	seeds   [][]byte
}

type fuzzTrust struct {
	opts    jwt.VerifyOptions
	subject ocispec.Descriptor
}

func loadFuzzFixture(f *testing.F) *fuzzFixture {
	ents, err := os.ReadDir(corpusDir)
	if err != nil {
		f.Fatal(err)
	}
	fx := &fuzzFixture{}
	for _, e := range ents {
		dir := filepath.Join(corpusDir, e.Name())
		tok, err := os.ReadFile(filepath.Join(dir, "token.jwt"))
		if err != nil || len(tok) > 64<<10 {
			continue
		}
		fx.seeds = append(fx.seeds, tok)
		if e.Name() == "valid-walkthrough-openssl-cert" || e.Name() == "valid-chain-intermediate-to-root" || e.Name() == "valid-kid-only" {
			var paths []string
			ms, _ := filepath.Glob(filepath.Join(dir, "trusted-*.pem"))
			paths = append(paths, ms...)
			certs, err := signature.LoadCertificates(paths...)
			if err != nil {
				f.Fatal(err)
			}
			m, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
			if err != nil {
				f.Fatal(err)
			}
			fx.trusted = append(fx.trusted, &fuzzTrust{
				opts:    jwt.VerifyOptions{TrustedCertificates: certs, Now: time.Date(2030, 6, 1, 0, 0, 0, 0, time.UTC)},
				subject: ocispec.Descriptor{MediaType: dockerV2, Digest: digest.FromBytes(m), Size: int64(len(m))},
			})
		}
	}
	// The tokens that verify under one of the trusts: the valid controls,
	// and corpus tokens whose signer one of these trusts happens to trust.
	for _, s := range fx.seeds {
		for _, tr := range fx.trusted {
			if _, err := jwt.Verify(s, tr.subject, tr.opts); err == nil {
				fx.valid = append(fx.valid, s)
				break
			}
		}
	}
	if len(fx.trusted) != 3 || len(fx.valid) < 3 {
		f.Fatalf("corpus fixture incomplete: %d trusts, %d valid", len(fx.trusted), len(fx.valid))
	}
	return fx
}

// FuzzVerify: whatever the token, Verify either refuses it with one
// *jwt.Error of a known class that is a verification error, or accepts it,
// and it accepts nothing but the corpus's valid controls (each under the
// trust it was made for, or a corpus token by a signer one of these trusts
// trusts): mutating a valid token never yields another.
func FuzzVerify(f *testing.F) {
	fx := loadFuzzFixture(f)
	for _, s := range fx.seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, token []byte) {
		for _, tr := range fx.trusted {
			res, err := jwt.Verify(token, tr.subject, tr.opts)
			if err == nil {
				known := false
				for _, v := range fx.valid {
					known = known || bytes.Equal(v, token)
				}
				if !known || res == nil || len(res.Chain) == 0 {
					t.Fatalf("accepted a token that is not a valid control: %q", token)
				}
				continue
			}
			var je *jwt.Error
			if !errors.As(err, &je) || je.Class < jwt.Malformed || je.Class > jwt.SubjectMismatch || !errors.Is(err, errdef.ErrVerification) {
				t.Fatalf("error %T %v is not a verification *jwt.Error", err, err)
			}
			if res != nil {
				t.Fatal("result with an error")
			}
		}
	})
}

// FuzzParse: Parse never panics; what it refuses, Verify refuses as
// Malformed (or TooLarge); what it accepts has a header and claims.
func FuzzParse(f *testing.F) {
	fx := loadFuzzFixture(f)
	for _, s := range fx.seeds {
		f.Add(s)
	}
	f.Add([]byte("a.b.c"))
	f.Add([]byte(".."))
	f.Fuzz(func(t *testing.T, token []byte) {
		h, c, err := jwt.Parse(token)
		if err != nil {
			var je *jwt.Error
			if !errors.As(err, &je) || je.Class != jwt.Malformed || h != nil || c != nil {
				t.Fatalf("Parse: %T %v", err, err)
			}
			tr := fx.trusted[0]
			_, verr := jwt.Verify(token, tr.subject, tr.opts)
			if !errors.As(verr, &je) || (je.Class != jwt.Malformed && je.Class != jwt.TooLarge) {
				t.Fatalf("Parse refused (%v) but Verify said %v", err, verr)
			}
			return
		}
		if h == nil || c == nil {
			t.Fatal("nil header or claims without an error")
		}
	})
}
