package remote

import (
	"errors"
	"fmt"
	"net/url"
	"testing"
	"time"

	"oras.land/oras-go/v2/registry/remote/errcode"
)

// TestHostOfAndErrorCodes: the registry host and the error codes are read
// from the typed errors, however deeply wrapped; Explain uses the host the
// error names and leaves an explained error as it is.
func TestHostOfAndErrorCodes(t *testing.T) {
	u, _ := url.Parse("http://reg.example:5000/v2/busybox/manifests/sha256:00")
	resp := &errcode.ErrorResponse{Method: "PUT", URL: u, StatusCode: 404, Errors: errcode.Errors{{Code: errcode.ErrorCodeManifestUnknown, Message: "manifest unknown"}}}
	wrapped := fmt.Errorf("pushing: %w", fmt.Errorf("artifact: %w", resp))
	for _, c := range []struct {
		err  error
		host string
	}{
		{wrapped, "reg.example:5000"},
		{fmt.Errorf("x: %w", &HangError{Host: "a:1", After: time.Second}), "a:1"},
		{&DeadlineError{Host: "b:2"}, "b:2"},
		{fmt.Errorf("x: %w", &url.Error{Op: "Get", URL: "https://c.example/v2/", Err: errors.New("refused")}), "c.example"},
		{errors.New("plain"), ""},
	} {
		if got := HostOf(c.err); got != c.host {
			t.Errorf("HostOf(%v) = %q, want %q", c.err, got, c.host)
		}
	}
	if !HasErrorCode(wrapped, errcode.ErrorCodeManifestBlobUnknown, errcode.ErrorCodeManifestUnknown) {
		t.Error("HasErrorCode missed MANIFEST_UNKNOWN in a wrapped ErrorResponse")
	}
	if HasErrorCode(wrapped, errcode.ErrorCodeBlobUnknown) || HasErrorCode(errors.New("MANIFEST_UNKNOWN"), errcode.ErrorCodeManifestUnknown) {
		t.Error("HasErrorCode matched a code that is not there (or a message's text)")
	}
	hang := fmt.Errorf("resolving: %w", &HangError{Host: "a:1", After: time.Second})
	once := Explain("other:9", hang)
	if once.Error() != "registry a:1 did not answer within 1s; check that it is up and reachable (--timeout sets this bound)" {
		t.Errorf("Explain: %q", once)
	}
	if twice := Explain("other:9", fmt.Errorf("again: %w", once)); twice.Error() != "again: "+once.Error() {
		t.Errorf("Explain of an explained error: %q", twice)
	}
}
