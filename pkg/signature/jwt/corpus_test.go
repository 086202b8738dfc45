package jwt_test

import (
	"encoding/json"
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

//go:generate go run ./internal/corpusgen -out ../../../testdata/jwt-corpus -manifest ../../../testdata/docker-generate/legacy-manifest.json

// CorpusDir is the adversarial corpus written by internal/corpusgen.
const corpusDir = "../../../testdata/jwt-corpus"

// corpusCase is a case.json.
type corpusCase struct {
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Expect      string    `json:"expect"`
	Class       string    `json:"class"`
	Now         time.Time `json:"now"`
	Subject     struct {
		MediaType string `json:"mediaType"`
		Digest    string `json:"digest"`
		Size      int64  `json:"size"`
	} `json:"subject"`
	Trusted []string `json:"trusted"`
	CLIExit int      `json:"cliExit"`
}

// requiredCases are the cases issue 5 asks for; the corpus must hold each.
var requiredCases = []string{
	"alg-none", "hs256-keyed-with-cert-public-key", "rs256-with-ec-key", "es256-with-p384-key",
	"typ-missing", "typ-jwt", "two-segments", "four-segments", "padding-in-signature", "padding-in-header",
	"trailing-newline", "token-over-1mib", "duplicate-header-alg", "duplicate-claims-digest",
	"claims-other-digest", "claims-other-size", "claims-other-media-type", "reference-other-host",
	"exp-in-past", "nbf-in-future", "leaf-expired", "leaf-not-yet-valid", "chain-to-untrusted-root",
	"intermediate-not-ca", "rsa-1024", "key-usage-without-digital-signature", "x5c-hundreds-of-certificates",
	"kid-only-unknown-key", "kid-only-forged-kid",
	"valid-walkthrough-openssl-cert", "valid-ec-p256", "valid-leaf-chained-to-root", "valid-chain-intermediate-to-root", "valid-kid-only",
}

func loadCorpus(t *testing.T) map[string]corpusCase {
	t.Helper()
	ents, err := os.ReadDir(corpusDir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]corpusCase{}
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(corpusDir, e.Name(), "case.json"))
		if err != nil {
			t.Fatal(err)
		}
		var c corpusCase
		if err := json.Unmarshal(b, &c); err != nil {
			t.Fatalf("%s: %v", e.Name(), err)
		}
		if c.Name != e.Name() || (c.Expect != "valid" && c.Expect != "reject") || c.Now.IsZero() || len(c.Trusted) == 0 {
			t.Fatalf("%s: bad case.json: %+v", e.Name(), c)
		}
		out[c.Name] = c
	}
	return out
}

// TestCorpus runs every case of testdata/jwt-corpus through jwt.Verify at
// the case's fixed time: valid controls verify, every other case is refused
// with its expected class (and as a verification error, exit status 3).
func TestCorpus(t *testing.T) {
	cases := loadCorpus(t)
	for _, name := range requiredCases {
		if _, ok := cases[name]; !ok {
			t.Errorf("corpus lacks the required case %q", name)
		}
	}
	classes := map[string]bool{}
	for c := jwt.Malformed; c <= jwt.InvalidInput; c++ {
		classes[c.String()] = true
	}
	valid, rejected := 0, 0
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(corpusDir, name)
			token, err := os.ReadFile(filepath.Join(dir, "token.jwt"))
			if err != nil {
				t.Fatal(err)
			}
			manifest, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
			if err != nil {
				t.Fatal(err)
			}
			subject := ocispec.Descriptor{MediaType: c.Subject.MediaType, Digest: digest.Digest(c.Subject.Digest), Size: c.Subject.Size}
			if digest.FromBytes(manifest) != subject.Digest || int64(len(manifest)) != subject.Size {
				t.Fatalf("case.json subject does not describe manifest.json")
			}
			var paths []string
			for _, p := range c.Trusted {
				paths = append(paths, filepath.Join(dir, p))
			}
			certs, err := signature.LoadCertificates(paths...)
			if err != nil {
				t.Fatal(err)
			}
			res, err := jwt.Verify(token, subject, jwt.VerifyOptions{TrustedCertificates: certs, Now: c.Now})
			if c.Expect == "valid" {
				if err != nil {
					t.Fatalf("%s: valid control refused: %v", c.Description, err)
				}
				if len(res.Chain) == 0 {
					t.Fatal("no chain in the result")
				}
				return
			}
			if err == nil {
				t.Fatalf("%s: ACCEPTED (want %s)", c.Description, c.Class)
			}
			if !classes[c.Class] {
				t.Fatalf("case.json class %q is not a jwt.Class", c.Class)
			}
			var je *jwt.Error
			if !errors.As(err, &je) {
				t.Fatalf("error %v is not a *jwt.Error", err)
			}
			if je.Class.String() != c.Class {
				t.Fatalf("%s: class %q, want %q (%v)", c.Description, je.Class, c.Class, err)
			}
			if !errors.Is(err, errdef.ErrVerification) {
				t.Fatalf("error does not match errdef.ErrVerification: %v", err)
			}
		})
		if c.Expect == "valid" {
			valid++
		} else {
			rejected++
		}
	}
	t.Logf("%d cases: %d valid controls, %d rejects", len(cases), valid, rejected)
}
