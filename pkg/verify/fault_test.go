package verify_test

import (
	"context"
	"crypto/x509"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/registry/remote/retry"

	"github.com/signet-oci/signet/internal/errdef"
	"github.com/signet-oci/signet/internal/faultreg"
	"github.com/signet-oci/signet/pkg/artifact"
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
	}{
		{"same-size", func(b []byte) []byte {
			x := append([]byte{}, b...)
			x[len(x)-1] ^= 1
			return x
		}},
		{"other-valid-token", nil},
		{"longer", func(b []byte) []byte { return append(append([]byte{}, b...), b...) }},
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
			r := strings.ToLower(v.Reason)
			if v.Class != "fetch" || !strings.Contains(r, "digest") && !strings.Contains(r, "size") && !strings.Contains(r, "content-length") {
				t.Fatalf("verdict: class %q reason %q", v.Class, v.Reason)
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
		if v.Artifact.Digest == s.Artifact.Digest && (v.Valid || v.Class != "fetch") {
			t.Fatalf("tampered artifact: %+v", v)
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
	if err == nil || !strings.Contains(err.Error(), srv.Host) {
		t.Fatalf("err = %v, want one naming %s", err, srv.Host)
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
		if err == nil || !strings.Contains(err.Error(), "429") {
			t.Fatalf("err = %v, want the 429", err)
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
	}{
		{"no-headers", func(_ *faultreg.Seeded, rel <-chan struct{}) faultreg.Fault {
			return faultreg.Hang(faultreg.Match("", faultreg.PathContains("/v2/")), rel)
		}},
		{"referrers-stall-mid-body", func(_ *faultreg.Seeded, rel <-chan struct{}) faultreg.Fault {
			return faultreg.HangBody(faultreg.Match(http.MethodGet, faultreg.PathContains("/referrers/")), ocispec.MediaTypeImageIndex, 4096, []byte(`{"schemaVersion":2,"manifests":[`), rel)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := faultreg.New(t)
			s := srv.Seed(t, "busybox")
			rel := make(chan struct{})
			defer close(rel)
			srv.Use(tc.fault(s, rel))
			_, err, took := remoteVerify(t, srv, s, remote.Options{HeaderTimeout: 200 * time.Millisecond, Timeout: 500 * time.Millisecond})
			if err == nil || !strings.Contains(err.Error(), srv.Host) {
				t.Fatalf("err = %v, want an error naming %s", err, srv.Host)
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
		if err == nil || took > 10*time.Second {
			t.Fatalf("err = %v after %s", err, took)
		}
		t.Log(err)
	})
	t.Run("blob", func(t *testing.T) {
		srv := faultreg.New(t)
		s := srv.Seed(t, "busybox")
		srv.Use(faultreg.Endless(faultreg.Match(http.MethodGet, faultreg.PathSuffix("/blobs/"+s.Blob.Digest.String())), "application/octet-stream", s.Token, []byte("AAAAAAAAAAAAAAAA")))
		rep, err, took := remoteVerify(t, srv, s, remote.Options{})
		if !errors.Is(err, errdef.ErrVerification) || rep.Signatures[0].Valid || took > 10*time.Second {
			t.Fatalf("err = %v after %s: %+v", err, took, rep)
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
	t.Run("tag-holds-subject", func(t *testing.T) {
		srv := faultreg.New(t)
		s := srv.Seed(t, "busybox")
		srv.Use(faultreg.Always(faultreg.Match("", faultreg.PathContains("/referrers/")), 404, nil, nil))
		_, sb := srv.Do(t, http.MethodGet, "/v2/busybox/manifests/latest", "", nil)
		srv.PushManifest(t, "busybox", "sha256-"+s.Subject.Digest.Encoded(), ocispec.MediaTypeImageManifest, sb)
		rep, err, _ := remoteVerify(t, srv, s, remote.Options{})
		if !errors.Is(err, errdef.ErrNotFound) || len(reportWarnings(rep)) == 0 {
			t.Fatalf("err = %v, report %+v: want no signature, with a warning", err, rep)
		}
		t.Logf("%v (warnings %q)", err, reportWarnings(rep))
	})
	t.Run("index-not-naming-subject", func(t *testing.T) {
		srv := faultreg.New(t)
		s := srv.Seed(t, "busybox")
		srv.Use(faultreg.Always(faultreg.Match("", faultreg.PathContains("/referrers/")), 404, nil, nil))
		// A valid signature of another image, listed under this subject's tag.
		_, ob := srv.Do(t, http.MethodGet, "/v2/busybox/manifests/latest", "", nil)
		otherImg := append(append([]byte{}, ob...), ' ')
		od := srv.PushManifest(t, "busybox", "other", ocispec.MediaTypeImageManifest, otherImg)
		foreign := srv.SignatureFor(t, "busybox", od)
		idx := `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"` + artifact.ArtifactTypeNotaryV2 + `","digest":"` + foreign.Artifact.Digest.String() + `","size":` + itoa(foreign.Artifact.Size) + `}]}`
		srv.PushManifest(t, "busybox", "sha256-"+s.Subject.Digest.Encoded(), ocispec.MediaTypeImageIndex, []byte(idx))
		rep, err, _ := remoteVerify(t, srv, s, remote.Options{})
		if !errors.Is(err, errdef.ErrNotFound) || rep == nil || rep.Valid != 0 || len(rep.Warnings) == 0 || !strings.Contains(strings.Join(rep.Warnings, "\n"), foreign.Artifact.Digest.String()) {
			t.Fatalf("err = %v, report %+v: want no signature, with a warning naming the foreign artifact", err, rep)
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
	if err != nil || len(rep.Signatures) != 3 || len(rep.Warnings) == 0 {
		t.Fatalf("%v %+v", err, rep)
	}
}

func reportWarnings(rep *verify.Report) []string {
	if rep == nil {
		return nil
	}
	return rep.Warnings
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
