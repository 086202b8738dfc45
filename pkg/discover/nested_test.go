package discover_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/signet-oci/signet/internal/faultreg"
	"github.com/signet-oci/signet/pkg/discover"
	"github.com/signet-oci/signet/pkg/remote"
)

// TestNestedHint: on the embedded registry, whose referrers answer says
// whether any referrer has referrers of its own, --depth 8 asks nothing
// about referrers without any (the subject's listing only), and still
// follows — and finds — a signature of a signature once there is one.
func TestNestedHint(t *testing.T) {
	srv := faultreg.New(t)
	s := srv.Seed(t, "busybox")
	srv.SignatureFor(t, "busybox", s.Subject) // a second signature of the subject
	artifactListed := func() int {
		return srv.Count(http.MethodGet, "/v2/busybox/referrers/"+s.Artifact.Digest.String())
	}

	g, err := newDiscoverer(t, srv, "busybox:latest", remote.Options{}, discover.Options{Depth: 8}).Discover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Referrers) != 2 || g.Truncated {
		t.Fatalf("%d referrers (truncated %v), want 2", len(g.Referrers), g.Truncated)
	}
	if n := artifactListed(); n != 0 {
		t.Errorf("the signature's referrers were asked %d times; the registry said it has none", n)
	}

	// A signature of the first signature: followed and found at depth 2.
	nested := srv.SignatureFor(t, "busybox", s.Artifact)
	g, err = newDiscoverer(t, srv, "busybox:latest", remote.Options{}, discover.Options{Depth: 8}).Discover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, n := range g.Referrers {
		if n.Digest == s.Artifact.Digest {
			found = len(n.Referrers) == 1 && n.Referrers[0].Digest == nested.Artifact.Digest
		}
	}
	if !found {
		t.Errorf("the signature of the signature %s was not found at depth 2: %+v", nested.Artifact.Digest, g.Referrers)
	}
	if n := artifactListed(); n != 1 {
		t.Errorf("the signature's referrers were asked %d times, want 1", n)
	}
}
