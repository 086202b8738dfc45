package cli_test

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/signet-oci/signet/internal/faultreg"
	"github.com/signet-oci/signet/internal/testimage"
	"github.com/signet-oci/signet/pkg/registry"
)

// multiEnv copies the multi-platform test image (an index of linux/amd64,
// linux/arm64/v8, linux/arm/v7) into the registry at host, repository
// "busybox", and returns the index's digest.
func multiEnv(t *testing.T, host string) (*env, string) {
	t.Helper()
	e := &env{t: t, host: host, dir: t.TempDir()}
	layout := filepath.Join(e.dir, "multi")
	if err := testimage.WriteMultiArchLayout(layout); err != nil {
		t.Fatal(err)
	}
	return e, strings.TrimSpace(e.ok("copy", "oci-layout:"+layout+":"+testimage.MultiTag, e.ref(":multi")))
}

// ipCert makes a key and a certificate for 127.0.0.1 (x509 JWTs name the
// registry host).
func (e *env) ipCert(name string) (key, crt string) {
	key, crt = e.path(name+".key"), e.path(name+".crt")
	e.ok("generate", "cert", "--key-out", key, "--cert-out", crt, "--ip", "127.0.0.1", "--key-type", "ec-p256")
	return key, crt
}

// TestSignRecursive: the index and every platform manifest are signed and
// pushed, one result each; each platform then verifies on its own, with
// the registry shapes of the embedded registry (links + referrers API, and
// the tag fallback).
func TestSignRecursive(t *testing.T) {
	for _, shape := range []string{"full", "noapi"} {
		t.Run(shape, func(t *testing.T) {
			cfg := registry.Config{}
			if shape == "noapi" {
				cfg.DisableLinks, cfg.DisableReferrersAPI = true, true
			}
			e, index := multiEnv(t, faultreg.NewConfig(t, cfg).Host)
			key, crt := e.ipCert("signer")
			var res struct {
				Signed []struct {
					Subject        ocispec.Descriptor `json:"subject"`
					Platform       string             `json:"platform"`
					Artifact       ocispec.Descriptor `json:"artifact"`
					ArtifactFormat string             `json:"artifactFormat"`
					Discovery      string             `json:"discovery"`
				} `json:"signed"`
			}
			out := e.ok("sign", "-k", key, "-c", crt, "--recursive", "--format", "json", e.ref("@"+index))
			if err := json.Unmarshal([]byte(out), &res); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			ma := testimage.NewMultiArch()
			wantDiscovery := map[string]string{"full": "links", "noapi": "tag-fallback"}[shape]
			if len(res.Signed) != 4 || res.Signed[0].Subject.Digest.String() != index || res.Signed[0].Platform != "" {
				t.Fatalf("signed: %+v", res.Signed)
			}
			for i, s := range res.Signed[1:] {
				want := ma.ManifestDescriptor(i)
				if s.Subject.Digest != want.Digest || s.Subject.Size != want.Size || s.Platform != []string{"linux/amd64", "linux/arm64/v8", "linux/arm/v7"}[i] || s.Discovery != wantDiscovery {
					t.Errorf("signed[%d] = %+v, want %s %s", i+1, s, want.Digest, wantDiscovery)
				}
			}
			for i, p := range []string{"linux/amd64", "linux/arm64", "linux/arm/v7"} {
				out := e.ok("verify", e.ref("@"+index), "--platform", p, "-c", crt)
				want := "VALID    " + res.Signed[i+1].Artifact.Digest.String()
				if !strings.HasPrefix(out, want) || !strings.Contains(out, "@"+ma.ManifestDescriptor(i).Digest.String()+": 1 of 1 signature(s) valid\n") {
					t.Errorf("verify --platform %s:\n%s\nwant %s", p, out, want)
				}
			}
		})
	}
}

// TestSignRecursiveMissingManifest: an index listing a manifest the
// repository lacks is refused before anything is signed or pushed.
func TestSignRecursiveMissingManifest(t *testing.T) {
	srv := faultreg.New(t)
	e, index := multiEnv(t, srv.Host)
	key, crt := e.ipCert("signer")
	arm := testimage.NewMultiArch().ManifestDescriptor(1).Digest.String()
	srv.Use(faultreg.Always(faultreg.Match(http.MethodHead, faultreg.PathSuffix("/manifests/"+arm)), http.StatusNotFound, nil, nil))
	code, out, errOut := e.run("sign", "-k", key, "-c", crt, "--recursive", e.ref("@"+index))
	if code != 4 || out != "" || !strings.Contains(errOut, "lists linux/arm64/v8 "+arm) || !strings.Contains(errOut, "push the image first") {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	srv.Reset()
	if out := e.ok("discover", e.ref("@"+index), "--format", "json"); strings.Contains(out, `"foundBy"`) {
		t.Errorf("something was pushed:\n%s", out)
	}
}

// TestIndexBudget: discover of an index costs the index's own discovery,
// one GET of the index and one discovery per platform manifest; discover
// --platform one GET of the index more than a discovery of the platform
// manifest by digest; verify through the index (--via-index) the two
// verifications and the index GET.
func TestIndexBudget(t *testing.T) {
	e, index := multiEnv(t, faultreg.New(t).Host)
	b := &budgetEnv{env: e}
	key, crt := e.ipCert("signer")
	e.ok("sign", "-k", key, "-c", crt, "-o", e.path("index.jwt"), e.ref("@"+index))
	e.ok("push-signature", "--signature", e.path("index.jwt"), e.ref("@"+index))
	arm := testimage.NewMultiArch().ManifestDescriptor(1).Digest.String()

	plain, _ := b.requests("discover", e.ref("@"+arm)) // HEAD, referrers, links
	// 13: the index's graph (HEAD, referrers, links; its signature's:
	// HEAD, referrers, links), one GET of the index, and per platform
	// manifest its referrers and links (no HEAD: the index describes it).
	reqs := b.within(2*plain+1+3*(plain-1), "discover INDEX", "discover", e.ref("@"+index))
	if n := count(reqs, "GET", "/manifests/"+index); n != 1 {
		t.Errorf("discover INDEX fetched the index %d times", n)
	}
	b.within(plain+1, "discover --platform", "discover", e.ref("@"+index), "--platform", "linux/arm64")
	own, _ := b.requests("verify", e.ref("@"+index), "-c", crt)
	code, _, _ := e.run("verify", e.ref("@"+arm), "-c", crt)
	if code != 4 {
		t.Fatalf("verify of the unsigned arm64 manifest: exit %d, want 4", code)
	}
	b.within(2*own+2, "verify --platform --via-index", "verify", e.ref("@"+index), "--platform", "linux/arm64", "--via-index", "-c", crt)
}

func count(reqs []string, method, pathSuffix string) int {
	n := 0
	for _, r := range reqs {
		m, u, _ := strings.Cut(r, " ")
		if m == method && strings.HasSuffix(u, pathSuffix) {
			n++
		}
	}
	return n
}
