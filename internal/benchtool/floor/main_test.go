package main

import (
	"context"
	"strings"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/registry/remote"

	"github.com/signet-oci/signet/internal/testregistry"
)

// pushSubject pushes an empty image to host/floor and, when signed, a
// notation-typed referrer of it carrying envelope; it returns the subject's
// reference by digest.
func pushSubject(t *testing.T, host string, signed bool, envelope []byte) string {
	t.Helper()
	ctx := context.Background()
	repo, err := remote.NewRepository(host + "/floor")
	if err != nil {
		t.Fatal(err)
	}
	repo.PlainHTTP = true
	subject, err := oras.PackManifest(ctx, repo, oras.PackManifestVersion1_1, "application/vnd.example.image", oras.PackManifestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if signed {
		blob := content.NewDescriptorFromBytes("application/jose+json", envelope)
		if err := repo.Push(ctx, blob, strings.NewReader(string(envelope))); err != nil {
			t.Fatal(err)
		}
		if _, err := oras.PackManifest(ctx, repo, oras.PackManifestVersion1_1, notarySignature, oras.PackManifestOptions{
			Subject: &subject,
			Layers:  []ocispec.Descriptor{blob},
		}); err != nil {
			t.Fatal(err)
		}
	}
	return host + "/floor@" + subject.Digest.String()
}

func TestFetch(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []testregistry.Option
	}{
		{"referrers API", nil},
		{"tag fallback", []testregistry.Option{testregistry.NoReferrers()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := testregistry.Start(t, tc.opts...)
			ref := pushSubject(t, reg.Host, true, []byte(`{"payload":"x"}`))
			if err := fetch(context.Background(), ref); err != nil {
				t.Fatalf("fetch %s: %v", ref, err)
			}
		})
	}
}

func TestFetchUnsigned(t *testing.T) {
	reg := testregistry.Start(t)
	ref := pushSubject(t, reg.Host, false, nil)
	err := fetch(context.Background(), ref)
	if err == nil || !strings.Contains(err.Error(), "no signature") {
		t.Fatalf("fetch of an unsigned subject: %v, want an error saying no signature", err)
	}
}
