package verify_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/signet-oci/signet/internal/faultreg"
	"github.com/signet-oci/signet/internal/testimage"
	"github.com/signet-oci/signet/internal/testpki"
	"github.com/signet-oci/signet/pkg/errdef"
	"github.com/signet-oci/signet/pkg/imageindex"
	"github.com/signet-oci/signet/pkg/reference"
	"github.com/signet-oci/signet/pkg/remote"
	"github.com/signet-oci/signet/pkg/verify"
)

// pushMulti pushes the multi-platform test image to repo (through the
// registry's API, on a real loopback listener) and returns the index's
// descriptor.
func pushMulti(t *testing.T, srv *faultreg.Server, repo string) ocispec.Descriptor {
	t.Helper()
	ma := testimage.NewMultiArch()
	for _, b := range ma.Blobs {
		srv.PushBlob(t, repo, "application/octet-stream", b)
	}
	for _, m := range ma.Manifests {
		srv.PushManifest(t, repo, "", ocispec.MediaTypeImageManifest, m)
	}
	return srv.PushManifest(t, repo, "multi", ocispec.MediaTypeImageIndex, ma.Index)
}

func indexed(t *testing.T, srv *faultreg.Server, ref reference.Reference, o verify.IndexOptions, cert *x509.Certificate) (*verify.Report, error) {
	t.Helper()
	o.Trust = verify.Trust{Certificates: []*x509.Certificate{cert}, Now: faultreg.Now}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return verify.Indexed(ctx, srv.Client(t, remote.Options{}), ref, o)
}

func platform(t *testing.T, s string) *ocispec.Platform {
	t.Helper()
	p, err := imageindex.ParsePlatform(s)
	if err != nil {
		t.Fatal(err)
	}
	return &p
}

// TestIndexedSignatureOnIndex: only the index is signed. Its signature is
// accepted for a platform manifest only with AcceptIndex, and the report
// says that it covers the index.
func TestIndexedSignatureOnIndex(t *testing.T) {
	srv := faultreg.New(t)
	idx := pushMulti(t, srv, "multi")
	sig := srv.SignatureFor(t, "multi", idx)
	ma := testimage.NewMultiArch()
	arm := ma.ManifestDescriptor(1)
	indexRef := srv.Ref(t, "multi@"+idx.Digest.String())
	armRef := srv.Ref(t, "multi@"+arm.Digest.String())

	for name, o := range map[string]verify.IndexOptions{
		"platform": {Platform: platform(t, "linux/arm64")},
		"manifest": {Manifest: armRef},
	} {
		t.Run(name, func(t *testing.T) {
			rep, err := indexed(t, srv, indexRef, o, sig.Cert)
			if !errors.Is(err, errdef.ErrNotFound) || rep == nil || rep.Verified || rep.ViaIndex != nil {
				t.Fatalf("without AcceptIndex: %v, %+v", err, rep)
			}
			want := "; the index " + indexRef.Raw + " that lists it has 1 valid signature(s) of 1: add --via-index"
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not name the signed index (%q)", err, want)
			}
			o.AcceptIndex = true
			rep, err = indexed(t, srv, indexRef, o, sig.Cert)
			if err != nil || !rep.Verified || rep.Valid != 1 {
				t.Fatalf("with AcceptIndex: %v, %+v", err, rep)
			}
			if rep.Subject.Digest != arm.Digest || rep.ViaIndex == nil || rep.ViaIndex.Index.Digest != idx.Digest || rep.ViaIndex.Platform != "linux/arm64/v8" || rep.ViaIndex.Reference != indexRef.Raw {
				t.Errorf("report: subject %s, viaIndex %+v", rep.Subject.Digest, rep.ViaIndex)
			}
			if rep.Signatures[0].Artifact.Digest != sig.Artifact.Digest {
				t.Errorf("verdict artifact %v, want the index's signature %v", rep.Signatures[0].Artifact, sig.Artifact)
			}
			// A certificate that does not vouch for the index's signer:
			// signatures found, none valid (exit status 3).
			_, other := otherSigner(t)
			if rep, err := indexed(t, srv, indexRef, o, other); !errors.Is(err, errdef.ErrVerification) || rep.Verified {
				t.Errorf("untrusted index signature: %v, %+v", err, rep)
			}
		})
	}
}

// otherSigner is a self-signed certificate that signed nothing here.
func otherSigner(t *testing.T) (any, *x509.Certificate) {
	t.Helper()
	_, c := testpki.Issue(t, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:   faultreg.Now.Add(-24 * time.Hour),
		NotAfter:    faultreg.Now.Add(24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	}, nil, nil)
	return nil, c
}

// TestIndexedOwnSignatureFirst: a platform manifest signed itself is
// verified by its own signature; the index is not consulted.
func TestIndexedOwnSignatureFirst(t *testing.T) {
	srv := faultreg.New(t)
	idx := pushMulti(t, srv, "multi")
	arm := testimage.NewMultiArch().ManifestDescriptor(1)
	arm.Platform = nil
	sig := srv.SignatureFor(t, "multi", arm)
	rep, err := indexed(t, srv, srv.Ref(t, "multi:multi"), verify.IndexOptions{Platform: platform(t, "linux/arm64/v8"), AcceptIndex: true}, sig.Cert)
	if err != nil || !rep.Verified || rep.ViaIndex != nil || rep.Subject.Digest != arm.Digest {
		t.Fatalf("%v %+v", err, rep)
	}
	if n := srv.Count(http.MethodGet, "/v2/multi/referrers/"+idx.Digest.String()); n != 0 {
		t.Errorf("the index's referrers were asked %d times", n)
	}
}

// TestIndexedRefuses: the index must list the manifest exactly (digest,
// size, media type), its bytes must match its digest, and a reference to
// a single manifest is not an index.
func TestIndexedRefuses(t *testing.T) {
	ma := testimage.NewMultiArch()
	arm := ma.ManifestDescriptor(1)

	t.Run("not listed", func(t *testing.T) {
		srv := faultreg.New(t)
		idx := pushMulti(t, srv, "multi")
		sig := srv.SignatureFor(t, "multi", idx)
		other := srv.Seed(t, "multi") // another image in the same repository
		_, err := indexed(t, srv, srv.Ref(t, "multi:multi"), verify.IndexOptions{Manifest: srv.Ref(t, "multi@"+other.Subject.Digest.String()), AcceptIndex: true}, sig.Cert)
		if !errors.Is(err, errdef.ErrNotFound) || !strings.Contains(err.Error(), "does not list") {
			t.Errorf("%v", err)
		}
	})
	t.Run("size mismatch", func(t *testing.T) {
		// A signed index whose arm64 entry has the right digest but
		// another size: it does not describe the manifest, and its
		// signature must not be taken for it.
		srv := faultreg.New(t)
		pushMulti(t, srv, "multi")
		var idx ocispec.Index
		if err := json.Unmarshal(ma.Index, &idx); err != nil {
			t.Fatal(err)
		}
		idx.Manifests[1].Size++
		b, _ := json.Marshal(idx)
		bad := srv.PushManifest(t, "multi", "bad", ocispec.MediaTypeImageIndex, b)
		sig := srv.SignatureFor(t, "multi", bad)
		for name, o := range map[string]verify.IndexOptions{
			"platform": {Platform: platform(t, "linux/arm64"), AcceptIndex: true},
			"manifest": {Manifest: srv.Ref(t, "multi@"+arm.Digest.String()), AcceptIndex: true},
		} {
			rep, err := indexed(t, srv, srv.Ref(t, "multi:bad"), o, sig.Cert)
			if err == nil || (rep != nil && rep.Verified) {
				t.Errorf("%s: accepted: %+v", name, rep)
			}
		}
	})
	t.Run("index bytes tampered", func(t *testing.T) {
		srv := faultreg.New(t)
		idx := pushMulti(t, srv, "multi")
		sig := srv.SignatureFor(t, "multi", idx)
		forged := bytes.Replace(ma.Index, []byte(`"arm64"`), []byte(`"arm65"`), 1)
		srv.Use(func(w http.ResponseWriter, r *http.Request) bool {
			if r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, "/manifests/"+idx.Digest.String()) && !strings.HasSuffix(r.URL.Path, "/manifests/multi") {
				return false
			}
			w.Header().Set("Content-Type", ocispec.MediaTypeImageIndex)
			w.Header().Set("Docker-Content-Digest", idx.Digest.String())
			_, _ = w.Write(forged)
			return true
		})
		rep, err := indexed(t, srv, srv.Ref(t, "multi@"+idx.Digest.String()), verify.IndexOptions{Platform: platform(t, "linux/arm64"), AcceptIndex: true}, sig.Cert)
		if err == nil || rep != nil {
			t.Errorf("a tampered index was used: %v %+v", err, rep)
		}
	})
	t.Run("single manifest", func(t *testing.T) {
		srv := faultreg.New(t)
		s := srv.Seed(t, "one")
		_, err := indexed(t, srv, srv.Ref(t, "one:latest"), verify.IndexOptions{Platform: platform(t, "linux/amd64")}, s.Cert)
		if !errors.Is(err, errdef.ErrUsage) || !strings.Contains(err.Error(), "not an image index") {
			t.Errorf("%v", err)
		}
	})
	t.Run("platform missing", func(t *testing.T) {
		srv := faultreg.New(t)
		idx := pushMulti(t, srv, "multi")
		sig := srv.SignatureFor(t, "multi", idx)
		_, err := indexed(t, srv, srv.Ref(t, "multi:multi"), verify.IndexOptions{Platform: platform(t, "linux/s390x"), AcceptIndex: true}, sig.Cert)
		if !errors.Is(err, errdef.ErrNotFound) || !strings.Contains(err.Error(), "its platforms: linux/amd64, linux/arm/v7, linux/arm64/v8") {
			t.Errorf("%v", err)
		}
	})
}
