package verify_test

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/signet-oci/signet/internal/faultreg"
	"github.com/signet-oci/signet/pkg/artifact"
	"github.com/signet-oci/signet/pkg/errdef"
	"github.com/signet-oci/signet/pkg/reference"
	"github.com/signet-oci/signet/pkg/remote"
	"github.com/signet-oci/signet/pkg/signature/jwt"
	"github.com/signet-oci/signet/pkg/verify"
)

// pushImage pushes a small image to repo, tagged latest, unsigned.
func pushImage(t *testing.T, srv *faultreg.Server, repo string) ocispec.Descriptor {
	t.Helper()
	cfg := srv.PushBlob(t, repo, ocispec.MediaTypeImageConfig, []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]},"repo":"`+repo+`"}`))
	m := ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest, Config: cfg, Layers: []ocispec.Descriptor{}}
	m.SchemaVersion = 2
	mb, _ := json.Marshal(m)
	return srv.PushManifest(t, repo, "latest", ocispec.MediaTypeImageManifest, mb)
}

// pushForged gives subject a signature artifact whose JWT signs another
// manifest: found, and refused.
func pushForged(t *testing.T, srv *faultreg.Server, repo string, subject ocispec.Descriptor) {
	t.Helper()
	key, cert := faultreg.Signer(t)
	other := subject
	other.Size++
	token, err := jwt.Sign(other, jwt.SignOptions{Signer: key, Certificates: []*x509.Certificate{cert}, Now: faultreg.Now.Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	blob := srv.PushBlob(t, repo, artifact.MediaTypeJWT, token)
	srv.PushBlob(t, repo, artifact.EmptyConfig.MediaType, artifact.EmptyConfigData)
	am, _ := artifact.MarshalOCI(artifact.NewOCI(artifact.ArtifactTypeNotaryV2, blob, subject, nil))
	srv.PushManifest(t, repo, "", ocispec.MediaTypeImageManifest, am)
}

// TestMany: many images in one call, concurrently: a verdict per image in
// the order given, the overall status (3 before 4 before 1), and no image
// costing more requests than it does alone.
func TestMany(t *testing.T) {
	srv := faultreg.New(t)
	var signed []string
	var s *faultreg.Seeded
	for i := range 12 {
		s = srv.Seed(t, fmt.Sprintf("signed%d", i))
		signed = append(signed, s.Repo+":latest")
	}
	pushImage(t, srv, "unsigned")
	forged := pushImage(t, srv, "forged")
	pushForged(t, srv, "forged", forged)
	opts := verify.Options{Trust: verify.Trust{Certificates: []*x509.Certificate{s.Cert}, Now: faultreg.Now}}
	refs := func(names ...string) []reference.Reference {
		var out []reference.Reference
		for _, n := range names {
			out = append(out, srv.Ref(t, n))
		}
		return out
	}

	// One image alone: the requests it costs.
	c := srv.Client(t, remote.Options{})
	if _, err := verify.Remote(context.Background(), c, srv.Ref(t, signed[0]), opts); err != nil {
		t.Fatal(err)
	}
	alone := c.Requests()

	c = srv.Client(t, remote.Options{})
	res := verify.Many(context.Background(), c, refs(signed...), opts, 4)
	if err := verify.Status(res); err != nil {
		t.Fatalf("all signed: %v", err)
	}
	for i, r := range res {
		if r.Reference != srv.Ref(t, signed[i]).Raw || r.Err != nil || r.Report == nil || !r.Report.Verified {
			t.Errorf("result %d: %+v, want %s verified", i, r, signed[i])
		}
	}
	if got := c.Requests(); got > alone*int64(len(signed)) {
		t.Errorf("%d images cost %d requests, more than %d each alone (%d)", len(signed), got, alone, alone*int64(len(signed)))
	}

	res = verify.Many(context.Background(), c, refs(signed[0], "unsigned:latest", "forged:latest", "missing:latest"), opts, 0)
	if res[0].Err != nil || !errors.Is(res[1].Err, errdef.ErrNotFound) || !errors.Is(res[2].Err, errdef.ErrVerification) || !errors.Is(res[3].Err, errdef.ErrNotFound) {
		t.Errorf("mixed: %v / %v / %v / %v; want ok, not found, verification, not found", res[0].Err, res[1].Err, res[2].Err, res[3].Err)
	}
	if res[2].Report == nil || len(res[2].Report.Signatures) != 1 || res[2].Report.Signatures[0].Valid {
		t.Errorf("forged: report %+v, want one invalid signature", res[2].Report)
	}
	err := verify.Status(res)
	if !errors.Is(err, errdef.ErrVerification) || !strings.Contains(err.Error(), "3 of 4 image(s) not verified") {
		t.Errorf("status = %v, want a verification failure counting 3 of 4", err)
	}
	if err := verify.Status(res[:2]); !errors.Is(err, errdef.ErrNotFound) || errors.Is(err, errdef.ErrVerification) {
		t.Errorf("status without the forged image = %v, want not found", err)
	}
	other := []verify.Result{{Err: errors.New("connection refused")}, res[0]}
	if err := verify.Status(other); err == nil || errors.Is(err, errdef.ErrNotFound) || errors.Is(err, errdef.ErrVerification) || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("status with an unreachable image = %v", err)
	}

	// A cancelled context: every image reports it, nothing hangs.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, r := range verify.Many(ctx, c, refs(signed[:3]...), opts, 2) {
		if !errors.Is(r.Err, context.Canceled) {
			t.Errorf("cancelled: %v", r.Err)
		}
	}
}

func TestReadReferences(t *testing.T) {
	refs, err := verify.ReadReferences(strings.NewReader("# images\n\n127.0.0.1:5000/a:latest\n  127.0.0.1:5000/b@sha256:" + strings.Repeat("0", 64) + "  \n"))
	if err != nil || len(refs) != 2 || refs[0].Repository != "a" || refs[1].Repository != "b" {
		t.Fatalf("ReadReferences = %+v, %v", refs, err)
	}
	for in, want := range map[string]string{
		"127.0.0.1:5000/a:latest\nfile:manifest.json\n":                 "line 2: file:manifest.json is not a registry reference",
		"127.0.0.1:5000/A B\n":                                          "line 1",
		strings.Repeat("x", 5000) + "\n":                                "longer than 4096",
		strings.Repeat("127.0.0.1:5000/a:latest\n", verify.MaxImages+1): "more than 10000 references",
	} {
		_, err := verify.ReadReferences(strings.NewReader(in))
		if !errors.Is(err, errdef.ErrUsage) || !strings.Contains(err.Error(), want) {
			t.Errorf("ReadReferences(%.40q) = %v, want a usage error containing %q", in, err, want)
		}
	}
}
