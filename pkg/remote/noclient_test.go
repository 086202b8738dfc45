package remote_test

import (
	"context"
	"errors"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/signet-oci/signet/pkg/discover"
	"github.com/signet-oci/signet/pkg/push"
	"github.com/signet-oci/signet/pkg/reference"
	"github.com/signet-oci/signet/pkg/remote"
	"github.com/signet-oci/signet/pkg/verify"
)

// A program that forgets remote.New gets ErrNoClient from every request
// method, and from the libraries that take a client, instead of a nil
// pointer panic.
func TestNilAndZeroClientRefused(t *testing.T) {
	ctx := context.Background()
	ref, err := reference.Parse("127.0.0.1:1/demo/app:v1")
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("x")
	desc := ocispec.Descriptor{MediaType: "text/plain", Digest: digest.FromBytes(data), Size: 1}
	for name, c := range map[string]*remote.Client{"nil": nil, "zero": {}} {
		calls := map[string]func() error{
			"Repository":    func() error { _, err := c.Repository(ref); return err },
			"Links":         func() error { _, err := c.Links(ctx, ref, "v1", ""); return err },
			"ServesLinks":   func() error { _, err := c.ServesLinks(ctx, ref, desc.Digest); return err },
			"PushSmallBlob": func() error { _, err := c.PushSmallBlob(ctx, ref, desc, data); return err },
			"PushManifest":  func() error { _, err := c.PushManifest(ctx, ref, "v1", desc, data, nil); return err },
			"UpdateReferrersIndex": func() error {
				_, err := c.UpdateReferrersIndex(ctx, ref, desc.Digest, remote.IndexChange{Add: []ocispec.Descriptor{desc}}, nil)
				return err
			},
			"Login":        func() error { return c.Login(ctx, nil, ref.Registry) },
			"discover.New": func() error { _, err := discover.New(c, ref, discover.Options{}); return err },
			"verify.Remote": func() error {
				_, err := verify.Remote(ctx, c, ref, verify.Options{})
				return err
			},
			"push.Push": func() error {
				_, err := push.Push(ctx, c, push.Request{Ref: ref, Signature: data, SignatureFormat: "jwt", Subject: desc, Format: push.FormatOCI})
				return err
			},
		}
		for call, f := range calls {
			if err := f(); !errors.Is(err, remote.ErrNoClient) {
				t.Errorf("%s client, %s: err = %v, want ErrNoClient", name, call, err)
			}
		}
	}
}
