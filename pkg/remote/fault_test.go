package remote_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/signet-oci/signet/internal/faultreg"
	"github.com/signet-oci/signet/pkg/remote"
)

func blobDesc(data []byte) ocispec.Descriptor {
	return ocispec.Descriptor{MediaType: "application/octet-stream", Digest: digest.FromBytes(data), Size: int64(len(data))}
}

// TestFaultPushSmallBlobRetried: 500 and 503 on the upload, then success:
// the POST (with its body) is retried and the blob lands intact.
func TestFaultPushSmallBlobRetried(t *testing.T) {
	srv := faultreg.New(t)
	srv.Use(faultreg.FailFirst(faultreg.Match(http.MethodPost, faultreg.PathContains("/blobs/uploads/")), nil, 500, 503))
	data := []byte("signature bytes")
	c := srv.Client(t, remote.Options{})
	up, err := c.PushSmallBlob(context.Background(), srv.Ref(t, "busybox"), blobDesc(data), data)
	if err != nil || !up {
		t.Fatalf("%v %v", up, err)
	}
	resp, body := srv.Do(t, http.MethodGet, "/v2/busybox/blobs/"+digest.FromBytes(data).String(), "", nil)
	if resp.StatusCode != 200 || string(body) != string(data) {
		t.Fatalf("stored %s %q", resp.Status, body)
	}
}

// TestFaultPushSmallBlobOtherOrigin: a registry that sends the upload to
// another origin is refused, the blob is not sent there.
func TestFaultPushSmallBlobOtherOrigin(t *testing.T) {
	srv := faultreg.New(t)
	srv.Use(faultreg.Always(faultreg.Match(http.MethodPost, faultreg.PathContains("/blobs/uploads/")), 202, http.Header{"Location": {"http://attacker.example/upload"}}, nil))
	data := []byte("signature bytes")
	_, err := srv.Client(t, remote.Options{}).PushSmallBlob(context.Background(), srv.Ref(t, "busybox"), blobDesc(data), data)
	if err == nil || !strings.Contains(err.Error(), "another origin") {
		t.Fatalf("err = %v", err)
	}
}

// TestFaultPushSmallBlobMismatch: content that does not match its
// descriptor is never sent.
func TestFaultPushSmallBlobMismatch(t *testing.T) {
	srv := faultreg.New(t)
	_, err := srv.Client(t, remote.Options{}).PushSmallBlob(context.Background(), srv.Ref(t, "busybox"), blobDesc([]byte("a")), []byte("b"))
	want := "blob " + blobDesc([]byte("a")).Digest.String() + ": content does not match its descriptor"
	if err == nil || err.Error() != want || srv.Total() != 0 {
		t.Fatalf("err = %v, %d requests; want %q and none", err, srv.Total(), want)
	}
}

// TestFaultLinksHang: a links endpoint that never answers is given up on
// within the header timeout (each retry too), with an error naming the
// registry.
func TestFaultLinksHang(t *testing.T) {
	srv := faultreg.New(t)
	rel := make(chan struct{})
	defer close(rel)
	srv.Use(faultreg.Hang(faultreg.Match("", faultreg.PathContains("/_ext/")), rel))
	c := srv.Client(t, remote.Options{HeaderTimeout: 100 * time.Millisecond, Timeout: 300 * time.Millisecond})
	start := time.Now()
	_, err := c.Links(context.Background(), srv.Ref(t, "busybox:latest"), "latest", "")
	if err == nil || !strings.Contains(err.Error(), srv.Host) || time.Since(start) > 5*time.Second {
		t.Fatalf("err = %v after %s", err, time.Since(start))
	}
}

// TestFaultLinksNotJSON: a 200 that is not the links shape means the
// extension is absent.
func TestFaultLinksNotJSON(t *testing.T) {
	srv := faultreg.New(t)
	srv.Use(faultreg.Always(faultreg.Match("", faultreg.PathContains("/_ext/")), 200, http.Header{"Content-Type": {"text/html"}}, []byte("<html>hello</html>")))
	_, err := srv.Client(t, remote.Options{}).Links(context.Background(), srv.Ref(t, "busybox:latest"), "latest", "")
	if !errors.Is(err, remote.ErrLinksUnsupported) {
		t.Fatalf("err = %v", err)
	}
}

func TestDecodeLinksBounds(t *testing.T) {
	if _, err := remote.DecodeLinks(strings.NewReader(`{"links":[`+strings.Repeat(`{},`, 100)+`{}]}`), 64); !errors.Is(err, remote.ErrLinksTooLarge) {
		t.Fatalf("over the size limit: %v", err)
	}
	if _, err := remote.DecodeLinks(strings.NewReader(`{"links":[{}`), 0); !errors.Is(err, io.ErrUnexpectedEOF) || err.Error() != "truncated: unexpected EOF" {
		t.Fatalf("truncated: %v", err)
	}
	lr, err := remote.DecodeLinks(strings.NewReader(`{"digest":"sha256:x","links":[{"a":1}]}`), 0)
	if err != nil || len(lr.Links) != 1 {
		t.Fatalf("%v %+v", err, lr)
	}
}

// TestFaultHangRetriedOnce: a host that never answers costs at most two
// header waits however many requests follow (a header timeout is retried
// once, then the host is known not to answer), and the error names it.
func TestFaultHangRetriedOnce(t *testing.T) {
	srv := faultreg.New(t)
	rel := make(chan struct{})
	defer close(rel)
	srv.Use(faultreg.Hang(faultreg.Match("", faultreg.PathContains("/v2/")), rel))
	const wait = 200 * time.Millisecond
	c := srv.Client(t, remote.Options{HeaderTimeout: wait})
	start := time.Now()
	for i := 0; i < 5; i++ {
		_, err := c.Links(context.Background(), srv.Ref(t, "busybox:latest"), "latest", "")
		var hang *remote.HangError
		if !errors.As(err, &hang) || hang.Host != srv.Host {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	if took := time.Since(start); took > 2*wait+3*time.Second {
		t.Fatalf("took %s", took)
	}
	if n := srv.Total(); n != 2 {
		t.Fatalf("%d requests reached the hung registry, want 2", n)
	}
}

// TestFaultHangWindow: requests started while a hung registry's one retry
// is under way share that retry's window: the whole costs two header
// waits, not one more per late request. A registry that answers again is
// given full waits again.
func TestFaultHangWindow(t *testing.T) {
	srv := faultreg.New(t)
	rel := make(chan struct{})
	defer close(rel)
	srv.Use(faultreg.Hang(faultreg.Match("", faultreg.PathContains("/_ext/")), rel))
	const wait = 2 * time.Second
	c := srv.Client(t, remote.Options{HeaderTimeout: wait})
	start := time.Now()
	errs := make(chan error, 3)
	for _, after := range []time.Duration{0, 1800 * time.Millisecond, 3 * time.Second} {
		go func() {
			time.Sleep(after)
			_, err := c.Links(context.Background(), srv.Ref(t, "busybox:latest"), "latest", "")
			errs <- err
		}()
	}
	for range 3 {
		if err := <-errs; err == nil || !strings.Contains(err.Error(), srv.Host) {
			t.Fatalf("err = %v", err)
		}
	}
	// Two waits end at 4 s; a third for the late request would end at 5 s.
	if took := time.Since(start); took > 2*wait+800*time.Millisecond {
		t.Fatalf("took %s, want about %s", took, 2*wait)
	}
	// A registry that hangs once and then answers: the retry gets its
	// answer and the hang is forgotten: a later hang gets its full two
	// waits again.
	srv.Reset()
	var hangNext atomic.Bool
	hangNext.Store(true)
	srv.Use(func(w http.ResponseWriter, r *http.Request) bool {
		if !strings.Contains(r.URL.Path, "/_ext/") || !hangNext.Swap(false) {
			return false
		}
		<-r.Context().Done()
		return true
	})
	c = srv.Client(t, remote.Options{HeaderTimeout: 300 * time.Millisecond})
	var hang *remote.HangError
	if _, err := c.Links(context.Background(), srv.Ref(t, "busybox:latest"), "latest", ""); errors.As(err, &hang) {
		t.Fatalf("hang then answer: %v", err)
	}
	hangNext.Store(true)
	before := srv.Total()
	if _, err := c.Links(context.Background(), srv.Ref(t, "busybox:latest"), "latest", ""); errors.As(err, &hang) {
		t.Fatalf("second hang then answer: %v", err)
	}
	if n := srv.Total() - before; n != 2 {
		t.Fatalf("after an answer, a new hang got %d requests, want 2 (a retry)", n)
	}
}
