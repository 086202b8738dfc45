package verify_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/registry/remote/retry"

	"github.com/signet-oci/signet/internal/faultreg"
	"github.com/signet-oci/signet/pkg/artifact"
	"github.com/signet-oci/signet/pkg/errdef"
	"github.com/signet-oci/signet/pkg/registry"
	"github.com/signet-oci/signet/pkg/remote"
	"github.com/signet-oci/signet/pkg/verify"
)

// Tests in this file run verify.Remote against hostile and faulty
// registries (internal/faultreg): the outcome must be a verdict with a
// reason or a bounded error, never a hang, a crash or an accepted forgery.

func faultOpts(s *faultreg.Seeded) verify.Options {
	return verify.Options{Trust: verify.Trust{Certificates: []*x509.Certificate{s.Cert}, Now: faultreg.Now}}
}

func remoteVerify(t *testing.T, srv *faultreg.Server, s *faultreg.Seeded, ropts remote.Options) (*verify.Report, error, time.Duration) {
	t.Helper()
	c := srv.Client(t, ropts)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	start := time.Now()
	rep, err := verify.Remote(ctx, c, srv.Ref(t, s.Repo+":latest"), faultOpts(s))
	return rep, err, time.Since(start)
}

func TestFaultControlValid(t *testing.T) {
	srv := faultreg.New(t)
	s := srv.Seed(t, "busybox")
	rep, err, _ := remoteVerify(t, srv, s, remote.Options{})
	if err != nil || rep.Valid != 1 {
		t.Fatalf("control: %v %+v", err, rep)
	}
}

// TestFaultWrongBlobBytes: the registry serves other bytes for the
// signature blob's digest (same size, and a longer body). The signature is
// reported not valid with a digest reason; the bytes are never verified.
func TestFaultWrongBlobBytes(t *testing.T) {
	for _, tc := range []struct {
		name string
		body func([]byte) []byte
		want string // the reason, after "fetching signature blob <digest>: "
	}{
		{"same-size", func(b []byte) []byte {
			x := append([]byte{}, b...)
			x[len(x)-1] ^= 1
			return x
		}, "mismatched digest"},
		{"other-valid-token", nil, "mismatched digest"},
		{"longer", func(b []byte) []byte { return append(append([]byte{}, b...), b...) }, "mismatch Content-Length"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := faultreg.New(t)
			s := srv.Seed(t, "busybox")
			var body []byte
			if tc.body != nil {
				body = tc.body(s.Token)
			} else {
				// a different, genuinely valid signature of the same subject
				body = srv.SignatureFor(t, "other", s.Subject).Token
			}
			srv.Use(faultreg.Always(faultreg.Match(http.MethodGet, faultreg.PathSuffix("/blobs/"+s.Blob.Digest.String())), 200,
				http.Header{"Content-Type": {"application/octet-stream"}, "Docker-Content-Digest": {s.Blob.Digest.String()}}, body))
			rep, err, _ := remoteVerify(t, srv, s, remote.Options{})
			if !errors.Is(err, errdef.ErrVerification) {
				t.Fatalf("err = %v, want a verification failure", err)
			}
			if rep == nil || len(rep.Signatures) != 1 || rep.Signatures[0].Valid || rep.Valid != 0 {
				t.Fatalf("report: %+v", rep)
			}
			v := rep.Signatures[0]
			prefix := "fetching signature blob " + s.Blob.Digest.String() + ": "
			if v.Class != "fetch" || !strings.HasPrefix(v.Reason, prefix) || !strings.HasSuffix(v.Reason, tc.want) {
				t.Fatalf("verdict: class %q reason %q, want class fetch and %q…%q", v.Class, v.Reason, prefix, tc.want)
			}
		})
	}
}

// TestFaultWrongManifestBytes: the artifact manifest served under its
// digest is another one (naming the same subject and a valid signature
// blob): detected by digest, the signature is not valid.
func TestFaultWrongManifestBytes(t *testing.T) {
	srv := faultreg.New(t)
	s := srv.Seed(t, "busybox")
	other := srv.SignatureFor(t, "busybox", s.Subject) // a second, valid artifact
	_, body := srv.Do(t, http.MethodGet, "/v2/busybox/manifests/"+other.Artifact.Digest.String(), "", nil)
	// Serve the second artifact's bytes under both digests.
	srv.Use(faultreg.Always(faultreg.Match(http.MethodGet, faultreg.PathSuffix("/manifests/"+s.Artifact.Digest.String())), 200,
		http.Header{"Content-Type": {ocispec.MediaTypeImageManifest}, "Docker-Content-Digest": {s.Artifact.Digest.String()}}, body))
	rep, err, _ := remoteVerify(t, srv, s, remote.Options{})
	if err != nil {
		t.Fatalf("the genuine second signature must still verify: %v", err)
	}
	if len(rep.Signatures) != 2 || rep.Valid != 1 {
		t.Fatalf("report: %+v", rep)
	}
	for _, v := range rep.Signatures {
		want := "fetching artifact manifest " + s.Artifact.Digest.String() + ": manifest " + s.Artifact.Digest.String() + ": mismatched digest"
		if v.Artifact.Digest == s.Artifact.Digest && (v.Valid || v.Class != "fetch" || v.Reason != want) {
			t.Fatalf("tampered artifact: %+v, want class fetch and reason %q", v, want)
		}
	}
}

// TestFaultRetry5xx: 500 and 503 on the referrers API and the manifest,
// then success: retried, and the signature verifies.
func TestFaultRetry5xx(t *testing.T) {
	srv := faultreg.New(t)
	s := srv.Seed(t, "busybox")
	srv.Use(
		faultreg.FailFirst(faultreg.Match(http.MethodGet, faultreg.PathContains("/referrers/")), nil, 500, 503),
		faultreg.FailFirst(faultreg.Match("", faultreg.PathSuffix("/manifests/latest")), nil, 503),
		faultreg.FailFirst(faultreg.Match(http.MethodGet, faultreg.PathContains("/blobs/")), nil, 502, 500),
	)
	rep, err, _ := remoteVerify(t, srv, s, remote.Options{})
	if err != nil || rep.Valid != 1 {
		t.Fatalf("after retries: %v %+v", err, rep)
	}
	if n := srv.Count(http.MethodGet, "/v2/busybox/referrers/"+s.Subject.Digest.String()); n < 3 {
		t.Fatalf("referrers requested %d times, want 3 (two failures, one success)", n)
	}
}

// TestFault5xxForever: a registry that always fails is retried a bounded
// number of times, and the error names it.
func TestFault5xxForever(t *testing.T) {
	srv := faultreg.New(t)
	s := srv.Seed(t, "busybox")
	srv.Use(faultreg.Always(faultreg.Match("", faultreg.PathContains("/v2/")), 503, nil, nil))
	_, err, took := remoteVerify(t, srv, s, remote.Options{})
	if err == nil || !strings.Contains(err.Error(), srv.Host) || !strings.HasSuffix(err.Error(), "response status code 503: Service Unavailable") {
		t.Fatalf("err = %v, want one naming %s and its 503", err, srv.Host)
	}
	if n := srv.Total(); n > 20 || took > 10*time.Second {
		t.Fatalf("%d requests in %s: retries are not bounded", n, took)
	}
}

// TestFault429RetryAfter: Retry-After is honoured (the real default
// policy waits the second it asks for) and bounded (an hour is cut to the
// policy's maximum wait).
func TestFault429RetryAfter(t *testing.T) {
	t.Run("honoured", func(t *testing.T) {
		srv := faultreg.New(t)
		s := srv.Seed(t, "busybox")
		srv.Use(faultreg.FailFirst(faultreg.Match(http.MethodGet, faultreg.PathContains("/referrers/")), http.Header{"Retry-After": {"1"}}, 429))
		rep, err, took := remoteVerify(t, srv, s, remote.Options{Retry: retry.DefaultPolicy})
		if err != nil || rep.Valid != 1 {
			t.Fatalf("%v %+v", err, rep)
		}
		if took < 900*time.Millisecond {
			t.Fatalf("took %s: Retry-After: 1 not honoured", took)
		}
	})
	t.Run("bounded", func(t *testing.T) {
		srv := faultreg.New(t)
		s := srv.Seed(t, "busybox")
		srv.Use(faultreg.Always(faultreg.Match(http.MethodGet, faultreg.PathContains("/referrers/")), 429, http.Header{"Retry-After": {"3600"}}, nil))
		policy := &retry.GenericPolicy{Retryable: retry.DefaultPredicate, Backoff: retry.DefaultBackoff, MinWait: 10 * time.Millisecond, MaxWait: 200 * time.Millisecond, MaxRetry: 3}
		_, err, took := remoteVerify(t, srv, s, remote.Options{Retry: policy})
		if err == nil || !strings.HasPrefix(err.Error(), "listing referrers of "+s.Subject.Digest.String()) || !strings.HasSuffix(err.Error(), "response status code 429: Too Many Requests") {
			t.Fatalf("err = %v, want the referrers listing's 429", err)
		}
		if took > 5*time.Second {
			t.Fatalf("took %s: Retry-After: 3600 was not capped", took)
		}
	})
}

// TestFaultHang: a registry that never answers, or stalls mid-body, is
// given up on within the configured timeouts, with an error naming it.
func TestFaultHang(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault func(*faultreg.Seeded, <-chan struct{}) faultreg.Fault
		want  string // after "registry HOST "
	}{
		// No answer at all: the header wait runs out.
		{"no-headers", func(_ *faultreg.Seeded, rel <-chan struct{}) faultreg.Fault {
			return faultreg.Hang(faultreg.Match("", faultreg.PathContains("/v2/")), rel)
		}, "did not answer within 200ms; check that it is up and reachable (--timeout sets this bound)"},
		// Headers, then a stalled body: the request's deadline runs out.
		{"referrers-stall-mid-body", func(_ *faultreg.Seeded, rel <-chan struct{}) faultreg.Fault {
			return faultreg.HangBody(faultreg.Match(http.MethodGet, faultreg.PathContains("/referrers/")), ocispec.MediaTypeImageIndex, 4096, []byte(`{"schemaVersion":2,"manifests":[`), rel)
		}, "did not answer before the deadline (--timeout)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := faultreg.New(t)
			s := srv.Seed(t, "busybox")
			rel := make(chan struct{})
			defer close(rel)
			srv.Use(tc.fault(s, rel))
			_, err, took := remoteVerify(t, srv, s, remote.Options{HeaderTimeout: 200 * time.Millisecond, Timeout: 500 * time.Millisecond})
			// The library returns the typed error naming the registry; the
			// CLI turns it into the user's line (remote.Explain).
			var (
				hang     *remote.HangError
				deadline *remote.DeadlineError
			)
			switch {
			case errors.As(err, &hang) && hang.Host == srv.Host, errors.As(err, &deadline) && deadline.Host == srv.Host:
			case errors.Is(err, context.DeadlineExceeded) && strings.Contains(err.Error(), "http://"+srv.Host+"/"):
				// A body that stalls: the request's own deadline.
			default:
				t.Fatalf("err = %v, want a HangError, DeadlineError or deadline for %s", err, srv.Host)
			}
			if line, want := remote.Explain(srv.Host, err).Error(), "registry "+srv.Host+" "+tc.want; line != want {
				t.Fatalf("explained: %q, want %q", line, want)
			}
			if took > 10*time.Second {
				t.Fatalf("took %s", took)
			}
			t.Logf("%s after %s", err, took.Round(time.Millisecond))
		})
	}
}

// TestFaultHugeResponses: an endless referrers body and an endless blob
// are cut at the bounds; an artifact declaring a huge blob is refused
// unread.
func TestFaultHugeResponses(t *testing.T) {
	t.Run("referrers", func(t *testing.T) {
		srv := faultreg.New(t)
		s := srv.Seed(t, "busybox")
		entry := []byte(`{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:` + strings.Repeat("a", 64) + `","size":1},`)
		srv.Use(faultreg.Endless(faultreg.Match(http.MethodGet, faultreg.PathContains("/referrers/")), ocispec.MediaTypeImageIndex, []byte(`{"schemaVersion":2,"manifests":[`), entry))
		_, err, took := remoteVerify(t, srv, s, remote.Options{MaxMetadataSize: 64 << 10})
		// The body is read up to the bound and no further: the index is
		// cut short there.
		if !errors.Is(err, io.ErrUnexpectedEOF) || !strings.HasPrefix(err.Error(), "listing referrers of "+s.Subject.Digest.String()+": ") || took > 10*time.Second {
			t.Fatalf("err = %v after %s, want the referrers listing cut short (unexpected EOF)", err, took)
		}
	})
	t.Run("blob", func(t *testing.T) {
		srv := faultreg.New(t)
		s := srv.Seed(t, "busybox")
		srv.Use(faultreg.Endless(faultreg.Match(http.MethodGet, faultreg.PathSuffix("/blobs/"+s.Blob.Digest.String())), "application/octet-stream", s.Token, []byte("AAAAAAAAAAAAAAAA")))
		rep, err, took := remoteVerify(t, srv, s, remote.Options{})
		if !errors.Is(err, errdef.ErrVerification) || rep.Signatures[0].Valid || took > 10*time.Second {
			t.Fatalf("err = %v after %s: %+v", err, took, rep)
		}
		want := "fetching signature blob " + s.Blob.Digest.String() + ": trailing data"
		if v := rep.Signatures[0]; v.Class != "fetch" || v.Reason != want {
			t.Fatalf("verdict: class %q reason %q, want class fetch and %q", v.Class, v.Reason, want)
		}
	})
	t.Run("declared-huge-blob", func(t *testing.T) {
		srv := faultreg.New(t)
		s := srv.Seed(t, "busybox")
		huge := ocispec.Descriptor{MediaType: artifact.MediaTypeJWT, Digest: digest.FromString("huge"), Size: 1 << 40}
		am, _ := artifact.MarshalOCI(artifact.NewOCI(artifact.ArtifactTypeNotaryV2, huge, s.Subject, nil))
		fake := digest.FromBytes(am)
		// The registry would refuse this manifest (unknown blob): serve it
		// and list it beside the genuine one.
		idx := `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[` +
			`{"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"` + artifact.ArtifactTypeNotaryV2 + `","digest":"` + fake.String() + `","size":` + itoa(int64(len(am))) + `},` +
			`{"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"` + artifact.ArtifactTypeNotaryV2 + `","digest":"` + s.Artifact.Digest.String() + `","size":` + itoa(s.Artifact.Size) + `}]}`
		srv.Use(
			faultreg.Always(faultreg.Match(http.MethodGet, faultreg.PathContains("/referrers/")), 200, http.Header{"Content-Type": {ocispec.MediaTypeImageIndex}}, []byte(idx)),
			faultreg.Always(faultreg.Match("", faultreg.PathSuffix("/manifests/"+fake.String())), 200, http.Header{"Content-Type": {ocispec.MediaTypeImageManifest}, "Docker-Content-Digest": {fake.String()}}, am),
		)
		rep, err, _ := remoteVerify(t, srv, s, remote.Options{})
		if err != nil || rep.Valid != 1 || len(rep.Signatures) != 2 {
			t.Fatalf("%v %+v", err, rep)
		}
		if n := srv.Count(http.MethodGet, "/v2/busybox/blobs/"+huge.Digest.String()); n != 0 {
			t.Fatalf("the huge blob was requested %d times", n)
		}
	})
}

// TestFaultTagFallback: on a registry without the referrers API, the
// sha256-<hex> tag holds the subject itself, or an index whose entries do
// not name the subject: nothing is trusted, and verify says so.
func TestFaultTagFallback(t *testing.T) {
	// A registry without the referrers API and without the links
	// extension, as distribution v3 is: both answer 404 (checked below).
	withoutAPI := func(t *testing.T) *faultreg.Server {
		srv := faultreg.NewConfig(t, registry.Config{DisableReferrersAPI: true, DisableLinks: true})
		for _, p := range []string{"/v2/busybox/referrers/" + digest.FromString("x").String(), "/v2/_ext/oci-artifacts/v1/busybox/manifests/" + digest.FromString("x").String() + "/links"} {
			if resp, _ := srv.Do(t, http.MethodGet, p, "", nil); resp.StatusCode != 404 {
				t.Fatalf("GET %s: %s, want 404 (no such API)", p, resp.Status)
			}
		}
		return srv
	}
	noSignature := func(srv *faultreg.Server, s *faultreg.Seeded) string {
		return "no signature found for " + srv.Host + "/" + s.Repo + "@" + s.Subject.Digest.String()
	}
	t.Run("tag-holds-subject", func(t *testing.T) {
		srv := withoutAPI(t)
		s := srv.Seed(t, "busybox")
		_, sb := srv.Do(t, http.MethodGet, "/v2/busybox/manifests/latest", "", nil)
		srv.PushManifest(t, "busybox", "sha256-"+s.Subject.Digest.Encoded(), ocispec.MediaTypeImageManifest, sb)
		rep, err, _ := remoteVerify(t, srv, s, remote.Options{})
		if !errors.Is(err, errdef.ErrNotFound) || err.Error() != noSignature(srv, s) {
			t.Fatalf("err = %v, want %q", err, noSignature(srv, s))
		}
		want := []string{"the referrers tag sha256-" + s.Subject.Digest.Encoded() + " holds " + s.Subject.Digest.String() + " (the subject itself), not an index of referrers; ignored"}
		if !slices.Equal(reportWarnings(rep), want) {
			t.Fatalf("warnings %q, want %q", reportWarnings(rep), want)
		}
	})
	t.Run("index-not-naming-subject", func(t *testing.T) {
		srv := withoutAPI(t)
		s := srv.Seed(t, "busybox")
		// A valid signature of another image, listed under this subject's tag.
		_, ob := srv.Do(t, http.MethodGet, "/v2/busybox/manifests/latest", "", nil)
		otherImg := append(append([]byte{}, ob...), ' ')
		od := srv.PushManifest(t, "busybox", "other", ocispec.MediaTypeImageManifest, otherImg)
		foreign := srv.SignatureFor(t, "busybox", od)
		idx := `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"` + artifact.ArtifactTypeNotaryV2 + `","digest":"` + foreign.Artifact.Digest.String() + `","size":` + itoa(foreign.Artifact.Size) + `}]}`
		srv.PushManifest(t, "busybox", "sha256-"+s.Subject.Digest.Encoded(), ocispec.MediaTypeImageIndex, []byte(idx))
		rep, err, _ := remoteVerify(t, srv, s, remote.Options{})
		if !errors.Is(err, errdef.ErrNotFound) || err.Error() != noSignature(srv, s) || rep == nil || rep.Valid != 0 {
			t.Fatalf("err = %v, report %+v: want %q", err, rep, noSignature(srv, s))
		}
		want := []string{"artifact " + foreign.Artifact.Digest.String() + " does not point at " + s.Subject.Digest.String() + " (listed by [tag-fallback]): not a referrer of this subject; ignored"}
		if !slices.Equal(rep.Warnings, want) {
			t.Fatalf("warnings %q, want %q", rep.Warnings, want)
		}
		for _, v := range rep.Signatures {
			if v.Valid {
				t.Fatalf("foreign signature accepted: %+v", v)
			}
		}
		t.Logf("%v; verdicts %+v; warnings %q", err, rep.Signatures, rep.Warnings)
	})
}

// TestFaultTooManySignatures: more artifacts than --max-signatures: only
// the bound is examined and a warning says so.
func TestFaultTooManySignatures(t *testing.T) {
	srv := faultreg.New(t)
	s := srv.Seed(t, "busybox")
	for range 5 {
		srv.SignatureFor(t, "busybox", s.Subject)
	}
	c := srv.Client(t, remote.Options{})
	opts := faultOpts(s)
	opts.MaxSignatures = 3
	rep, err := verify.Remote(context.Background(), c, srv.Ref(t, "busybox:latest"), opts)
	if err != nil || len(rep.Signatures) != 3 {
		t.Fatalf("%v %+v", err, rep)
	}
	want := []string{"more than 3 signature artifacts found; examining the first 3 (raise --max-signatures)"}
	if !slices.Equal(rep.Warnings, want) {
		t.Fatalf("warnings %q, want %q", rep.Warnings, want)
	}
}

func reportWarnings(rep *verify.Report) []string {
	if rep == nil {
		return nil
	}
	return rep.Warnings
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestFaultSignatureUnfetchable: when the registry fails while serving a
// signature (5xx after the retries, no answer), nothing proves the
// signature invalid: verify returns the registry's error (exit status 1,
// explained as for a listing that fails), not "none valid" (3, which
// scripts read as forged or untrusted), and the verdict still says why.
// Bytes that do not match their digest stay a verification failure
// (TestFaultWrongBlobBytes).
func TestFaultSignatureUnfetchable(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault func(*faultreg.Seeded, <-chan struct{}) faultreg.Fault
		ropts remote.Options
		want  string // the explained line, after "registry HOST "
	}{
		{"blob-503-forever", func(s *faultreg.Seeded, _ <-chan struct{}) faultreg.Fault {
			return faultreg.Always(faultreg.Match(http.MethodGet, faultreg.PathContains("/blobs/")), 503, nil, nil)
		}, remote.Options{Retry: faultreg.FastRetry()}, ""},
		{"artifact-manifest-503-forever", func(s *faultreg.Seeded, _ <-chan struct{}) faultreg.Fault {
			return faultreg.Always(faultreg.Match(http.MethodGet, faultreg.PathSuffix("/manifests/"+s.Artifact.Digest.String())), 503, nil, nil)
		}, remote.Options{Retry: faultreg.FastRetry()}, ""},
		{"blob-no-answer", func(s *faultreg.Seeded, rel <-chan struct{}) faultreg.Fault {
			return faultreg.Hang(faultreg.Match(http.MethodGet, faultreg.PathContains("/blobs/")), rel)
		}, remote.Options{HeaderTimeout: 200 * time.Millisecond}, "did not answer within 200ms; check that it is up and reachable (--timeout sets this bound)"},
		// Headers at once, then the genuine bytes one every 20 ms: the
		// request's whole-request bound (remote.Options.Timeout, 5 min by
		// default) cuts it, not only a stalled body.
		{"blob-trickled", func(s *faultreg.Seeded, rel <-chan struct{}) faultreg.Fault {
			return func(w http.ResponseWriter, r *http.Request) bool {
				if r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, "/blobs/"+s.Blob.Digest.String()) {
					return false
				}
				w.Header().Set("Content-Length", strconv.Itoa(len(s.Token)))
				w.WriteHeader(http.StatusOK)
				for _, b := range s.Token {
					select {
					case <-r.Context().Done():
						return true
					case <-rel:
						return true
					case <-time.After(20 * time.Millisecond):
					}
					if _, err := w.Write([]byte{b}); err != nil {
						return true
					}
					w.(http.Flusher).Flush()
				}
				return true
			}
		}, remote.Options{Timeout: 500 * time.Millisecond}, "did not answer before the deadline (--timeout)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := faultreg.New(t)
			s := srv.Seed(t, "busybox")
			if tc.name == "blob-trickled" && len(s.Token) < 100 {
				t.Fatalf("the token (%d bytes) trickles in under the timeout", len(s.Token))
			}
			rel := make(chan struct{})
			defer close(rel)
			srv.Use(tc.fault(s, rel))
			rep, err, took := remoteVerify(t, srv, s, tc.ropts)
			if err == nil || errors.Is(err, errdef.ErrVerification) || errors.Is(err, errdef.ErrNotFound) {
				t.Fatalf("err = %v; want the registry's error, neither a verification failure nor not found", err)
			}
			if rep == nil || len(rep.Signatures) != 1 || rep.Signatures[0].Valid || rep.Signatures[0].Class != "fetch" || rep.Verified {
				t.Fatalf("report %+v; want the one signature, not valid, class fetch", rep)
			}
			// A body cut by the request's deadline is the only failure
			// that does not name its registry: the CLI names the last
			// one asked, as for a listing cut so (TestFaultHang).
			if h := remote.HostOf(err); h != srv.Host && (h != "" || tc.name != "blob-trickled") {
				t.Fatalf("err = %v; want it to name registry %s", err, srv.Host)
			}
			if tc.want != "" {
				if line, want := remote.Explain(srv.Host, err).Error(), "registry "+srv.Host+" "+tc.want; line != want {
					t.Fatalf("explained: %q, want %q", line, want)
				}
			} else if !strings.Contains(err.Error(), "503") {
				t.Fatalf("err = %v; want the 503", err)
			}
			if took > 10*time.Second {
				t.Fatalf("took %s", took)
			}
		})
	}
}

// TestFaultRedirects: a blob redirected to another origin (a CDN, as
// registries do) is fetched there and digest-checked like any other; a
// redirect loop is cut after Go's 10 redirects: one signature costs a
// bounded number of requests, and the outcome is the registry's error.
func TestFaultRedirects(t *testing.T) {
	t.Run("to-another-origin", func(t *testing.T) {
		srv := faultreg.New(t)
		s := srv.Seed(t, "busybox")
		for _, tc := range []struct {
			name  string
			body  []byte
			valid bool
		}{{"genuine bytes", s.Token, true}, {"other bytes", bytes.Repeat([]byte("x"), len(s.Token)), false}} {
			var served atomic.Int32
			cdn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				served.Add(1)
				w.Write(tc.body)
			}))
			defer cdn.Close()
			srv.Reset()
			srv.Use(faultreg.Always(faultreg.Match(http.MethodGet, faultreg.PathSuffix("/blobs/"+s.Blob.Digest.String())), http.StatusTemporaryRedirect, http.Header{"Location": {cdn.URL + "/blob"}}, nil))
			rep, err, _ := remoteVerify(t, srv, s, remote.Options{})
			if served.Load() != 1 || rep == nil || len(rep.Signatures) != 1 {
				t.Fatalf("%s: the CDN served %d times; report %+v, err %v", tc.name, served.Load(), rep, err)
			}
			v := rep.Signatures[0]
			if tc.valid && (err != nil || !v.Valid) {
				t.Fatalf("%s: %+v, err %v; want valid", tc.name, v, err)
			}
			if !tc.valid && (!errors.Is(err, errdef.ErrVerification) || v.Valid || v.Class != "fetch" || !strings.HasSuffix(v.Reason, "mismatched digest")) {
				t.Fatalf("%s: %+v, err %v; want class fetch, mismatched digest", tc.name, v, err)
			}
		}
	})
	t.Run("loop", func(t *testing.T) {
		srv := faultreg.New(t)
		s := srv.Seed(t, "busybox")
		path := "/v2/busybox/blobs/" + s.Blob.Digest.String()
		srv.Use(faultreg.Always(faultreg.Match(http.MethodGet, faultreg.PathSuffix("/blobs/"+s.Blob.Digest.String())), http.StatusFound, http.Header{"Location": {srv.URL + path}}, nil))
		rep, err, took := remoteVerify(t, srv, s, remote.Options{})
		if err == nil || errors.Is(err, errdef.ErrVerification) || !strings.Contains(err.Error(), "stopped after 10 redirects") {
			t.Fatalf("err = %v; want the registry's error, stopped after 10 redirects", err)
		}
		if rep == nil || len(rep.Signatures) != 1 || rep.Signatures[0].Class != "fetch" {
			t.Fatalf("report %+v", rep)
		}
		if n := srv.Count(http.MethodGet, path); n > 11 || took > 10*time.Second {
			t.Fatalf("%d requests for the blob in %s; want at most 11", n, took)
		}
	})
}
