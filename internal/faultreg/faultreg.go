// Package faultreg is a hostile or faulty registry for tests: the embedded
// registry (pkg/registry, started by internal/testregistry), with fault injectors in
// front of it that can fail, delay, hang, rewrite or replace any response.
// Tests of the client side (pkg/remote, pkg/discover, pkg/verify, internal/cli)
// use it to prove that signet detects wrong bytes, retries what is worth
// retrying, and stays bounded in time, count and memory.
//
// It is for tests only; nothing in signet's binaries imports it.
package faultreg

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/registry/remote/retry"

	"github.com/signet-oci/signet/internal/testregistry"
	"github.com/signet-oci/signet/pkg/artifact"
	"github.com/signet-oci/signet/pkg/reference"
	"github.com/signet-oci/signet/pkg/registry"
	"github.com/signet-oci/signet/pkg/remote"
	"github.com/signet-oci/signet/pkg/signature/jwt"
)

// Now is the fixed time the seeded signature and certificate are valid at.
var Now = time.Date(2030, 6, 1, 0, 0, 0, 0, time.UTC)

// Fault sees every request before the registry does. It returns true when
// it has answered the request itself.
type Fault func(w http.ResponseWriter, r *http.Request) bool

// Server is a registry with faults in front.
type Server struct {
	URL  string // http://127.0.0.1:PORT
	Host string // 127.0.0.1:PORT

	mu     sync.Mutex
	faults []Fault
	count  map[string]int // requests per "METHOD path"
	total  atomic.Int64
}

// New starts a registry with no faults.
func New(t testing.TB) *Server {
	t.Helper()
	return NewConfig(t, registry.Config{})
}

// NewConfig starts a registry configured by cfg (for instance without the
// referrers API and the links extension, like distribution) with no
// faults.
func NewConfig(t testing.TB, cfg registry.Config) *Server {
	t.Helper()
	s := &Server{count: map[string]int{}}
	reg := testregistry.Start(t, testregistry.Config(cfg), testregistry.Wrap(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s.total.Add(1)
			s.mu.Lock()
			s.count[r.Method+" "+r.URL.Path]++
			faults := append([]Fault(nil), s.faults...)
			s.mu.Unlock()
			for _, f := range faults {
				if f(w, r) {
					return
				}
			}
			next.ServeHTTP(w, r)
		})
	}))
	s.URL, s.Host = reg.URL, reg.Host
	return s
}

// Use adds faults, which run in order before the registry.
func (s *Server) Use(f ...Fault) {
	s.mu.Lock()
	s.faults = append(s.faults, f...)
	s.mu.Unlock()
}

// Reset removes every fault.
func (s *Server) Reset() {
	s.mu.Lock()
	s.faults = nil
	s.mu.Unlock()
}

// Count is the number of requests for method and path so far.
func (s *Server) Count(method, path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count[method+" "+path]
}

// Total is the number of requests so far.
func (s *Server) Total() int64 { return s.total.Load() }

// Ref parses HOST/repoAndSelector.
func (s *Server) Ref(t testing.TB, repoAndSelector string) reference.Reference {
	t.Helper()
	ref, err := reference.Parse(s.Host + "/" + repoAndSelector)
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

// FastRetry is a retry policy for tests: three retries, 10-50 ms apart,
// honouring Retry-After up to 50 ms.
func FastRetry() retry.Policy {
	return &retry.GenericPolicy{Retryable: retry.DefaultPredicate, Backoff: retry.DefaultBackoff, MinWait: 10 * time.Millisecond, MaxWait: 50 * time.Millisecond, MaxRetry: 3}
}

// Client returns a client for the server with opts (Retry defaults to
// FastRetry; set Retry to retry.DefaultPolicy to test the real one).
func (s *Server) Client(t testing.TB, opts remote.Options) *remote.Client {
	t.Helper()
	if opts.Retry == nil {
		opts.Retry = FastRetry()
	}
	c, err := remote.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Do sends a request straight to the registry behind the faults' backs
// only if no fault matches it; it is what seeding uses.
func (s *Server) Do(t testing.TB, method, path, contentType string, body []byte) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// PushBlob uploads data to repo.
func (s *Server) PushBlob(t testing.TB, repo, mediaType string, data []byte) ocispec.Descriptor {
	t.Helper()
	d := digest.FromBytes(data)
	resp, body := s.Do(t, http.MethodPost, "/v2/"+repo+"/blobs/uploads/?digest="+d.String(), "application/octet-stream", data)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("push blob: %s %s", resp.Status, body)
	}
	return ocispec.Descriptor{MediaType: mediaType, Digest: d, Size: int64(len(data))}
}

// PushManifest puts body under ref (a tag or digest; empty: its digest).
func (s *Server) PushManifest(t testing.TB, repo, ref, mediaType string, body []byte) ocispec.Descriptor {
	t.Helper()
	d := digest.FromBytes(body)
	if ref == "" {
		ref = d.String()
	}
	resp, b := s.Do(t, http.MethodPut, "/v2/"+repo+"/manifests/"+ref, mediaType, body)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("push manifest %s: %s %s", ref, resp.Status, b)
	}
	return ocispec.Descriptor{MediaType: mediaType, Digest: d, Size: int64(len(body))}
}

// Seeded is what Seed pushed.
type Seeded struct {
	Repo     string
	Subject  ocispec.Descriptor // the image manifest, tagged "latest"
	Artifact ocispec.Descriptor // the OCI 1.1 signature artifact manifest
	Blob     ocispec.Descriptor // the JWT blob
	Token    []byte
	CertFile string // PEM of the signer's certificate, to give with -c
	Cert     *x509.Certificate
}

// Seed pushes to repo a small image (tagged latest) and one valid x509 JWT
// signature of it as an OCI 1.1 artifact with a subject. The signature and
// certificate are valid at Now.
func (s *Server) Seed(t testing.TB, repo string) *Seeded {
	t.Helper()
	cfg := s.PushBlob(t, repo, ocispec.MediaTypeImageConfig, []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`))
	m := ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest, Config: cfg, Layers: []ocispec.Descriptor{}}
	m.SchemaVersion = 2
	mb, _ := json.Marshal(m)
	subject := s.PushManifest(t, repo, "latest", ocispec.MediaTypeImageManifest, mb)
	sig := s.SignatureFor(t, repo, subject)
	return sig
}

// SignatureFor signs subject and pushes the signature artifact to repo.
func (s *Server) SignatureFor(t testing.TB, repo string, subject ocispec.Descriptor) *Seeded {
	t.Helper()
	key, cert := Signer(t)
	token, err := jwt.Sign(subject, jwt.SignOptions{Signer: key, Certificates: []*x509.Certificate{cert}, Now: Now.Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	blob := s.PushBlob(t, repo, artifact.MediaTypeJWT, token)
	s.PushBlob(t, repo, artifact.EmptyConfig.MediaType, artifact.EmptyConfigData)
	am, _ := artifact.MarshalOCI(artifact.NewOCI(artifact.ArtifactTypeNotaryV2, blob, subject, nil))
	art := s.PushManifest(t, repo, "", ocispec.MediaTypeImageManifest, am)
	art.ArtifactType = artifact.ArtifactTypeNotaryV2
	certFile := filepath.Join(t.TempDir(), "signer.crt")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	return &Seeded{Repo: repo, Subject: subject, Artifact: art, Blob: blob, Token: token, CertFile: certFile, Cert: cert}
}

var (
	signerOnce sync.Once
	signerKey  *ecdsa.PrivateKey
	signerCert *x509.Certificate
)

// Signer is a self-signed EC P-256 signer valid 2025-2035 for 127.0.0.1.
func Signer(t testing.TB) (*ecdsa.PrivateKey, *x509.Certificate) {
	t.Helper()
	signerOnce.Do(func() {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err)
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "faultreg signer"},
			NotBefore: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2035, 1, 1, 0, 0, 0, 0, time.UTC),
			KeyUsage: x509.KeyUsageDigitalSignature, BasicConstraintsValid: true,
			IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public(), k)
		if err != nil {
			panic(err)
		}
		signerKey = k
		signerCert, _ = x509.ParseCertificate(der)
	})
	return signerKey, signerCert
}

// Match selects requests by method ("" any) and a path predicate.
func Match(method string, path func(string) bool) func(*http.Request) bool {
	return func(r *http.Request) bool {
		return (method == "" || r.Method == method) && path(r.URL.Path)
	}
}

// PathContains matches paths containing sub.
func PathContains(sub string) func(string) bool {
	return func(p string) bool { return strings.Contains(p, sub) }
}

// PathSuffix matches paths ending in suffix.
func PathSuffix(suffix string) func(string) bool {
	return func(p string) bool { return strings.HasSuffix(p, suffix) }
}

// FailFirst answers the first len(codes) matching requests with codes in
// turn (with header set on each), then lets requests through.
func FailFirst(match func(*http.Request) bool, header http.Header, codes ...int) Fault {
	var mu sync.Mutex
	n := 0
	return func(w http.ResponseWriter, r *http.Request) bool {
		if !match(r) {
			return false
		}
		mu.Lock()
		defer mu.Unlock()
		if n >= len(codes) {
			return false
		}
		for k, v := range header {
			w.Header()[k] = v
		}
		w.WriteHeader(codes[n])
		n++
		return true
	}
}

// Always answers matching requests with code and body.
func Always(match func(*http.Request) bool, code int, header http.Header, body []byte) Fault {
	return func(w http.ResponseWriter, r *http.Request) bool {
		if !match(r) {
			return false
		}
		for k, v := range header {
			w.Header()[k] = v
		}
		if body != nil && w.Header().Get("Content-Length") == "" {
			w.Header().Set("Content-Length", strconvItoa(len(body)))
		}
		w.WriteHeader(code)
		if r.Method != http.MethodHead {
			w.Write(body)
		}
		return true
	}
}

// Hang never answers matching requests: it waits until the client gives up
// (or release is closed).
func Hang(match func(*http.Request) bool, release <-chan struct{}) Fault {
	return func(w http.ResponseWriter, r *http.Request) bool {
		if !match(r) {
			return false
		}
		select {
		case <-r.Context().Done():
		case <-release:
		}
		return true
	}
}

// HangBody sends headers for matching requests (status code, Content-Length
// as declared) and a first chunk, then stalls until the client gives up.
func HangBody(match func(*http.Request) bool, contentType string, declared int, first []byte, release <-chan struct{}) Fault {
	return func(w http.ResponseWriter, r *http.Request) bool {
		if !match(r) {
			return false
		}
		w.Header().Set("Content-Type", contentType)
		w.Header().Set("Content-Length", strconvItoa(declared))
		w.WriteHeader(http.StatusOK)
		w.Write(first)
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		select {
		case <-r.Context().Done():
		case <-release:
		}
		return true
	}
}

// Endless streams an unbounded body (repeating chunk) for matching
// requests until the client stops reading.
func Endless(match func(*http.Request) bool, contentType string, prefix, chunk []byte) Fault {
	return func(w http.ResponseWriter, r *http.Request) bool {
		if !match(r) {
			return false
		}
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(http.StatusOK)
		if _, err := w.Write(prefix); err != nil {
			return true
		}
		for i := 0; i < 1<<20; i++ { // at most 1Mi chunks; the client stops long before
			if _, err := w.Write(chunk); err != nil {
				return true
			}
		}
		return true
	}
}

func strconvItoa(n int) string {
	return big.NewInt(int64(n)).String()
}
