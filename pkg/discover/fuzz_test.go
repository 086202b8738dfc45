package discover_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/registry/remote/retry"

	"github.com/signet-oci/signet/pkg/artifact"
	"github.com/signet-oci/signet/pkg/discover"
	"github.com/signet-oci/signet/pkg/reference"
	"github.com/signet-oci/signet/pkg/remote"
)

type rtFunc func(*http.Request) (*http.Response, error)

func (f rtFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func respond(r *http.Request, code int, mediaType string, body []byte) *http.Response {
	h := http.Header{}
	if mediaType != "" {
		h.Set("Content-Type", mediaType)
	}
	if code == 200 && len(body) > 0 && strings.Contains(r.URL.Path, "/manifests/") {
		h.Set("Docker-Content-Digest", digest.FromBytes(body).String())
	}
	if r.Method == http.MethodHead {
		return &http.Response{StatusCode: code, Header: h, Body: io.NopCloser(bytes.NewReader(nil)), ContentLength: int64(len(body)), Request: r}
	}
	return &http.Response{StatusCode: code, Header: h, Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body)), Request: r}
}

// FuzzReferrersIndex feeds arbitrary referrers API responses to
// Signatures, with a registry (in process, no network) that holds a subject,
// one genuine signature artifact and its blob. Invariants: no panic; every
// signature returned without an error names the subject and its envelope's
// bytes match the blob digest.
func FuzzReferrersIndex(f *testing.F) {
	subjectBody := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}`)
	subject := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromBytes(subjectBody), Size: int64(len(subjectBody))}
	token := []byte("header.claims.signature")
	blob := ocispec.Descriptor{MediaType: artifact.MediaTypeJWT, Digest: digest.FromBytes(token), Size: int64(len(token))}
	artBody, _ := artifact.MarshalOCI(artifact.NewOCI(artifact.ArtifactTypeNotaryV2, blob, subject, nil))
	art := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, ArtifactType: artifact.ArtifactTypeNotaryV2, Digest: digest.FromBytes(artBody), Size: int64(len(artBody))}
	manifests := map[string][]byte{"latest": subjectBody, subject.Digest.String(): subjectBody, art.Digest.String(): artBody}
	blobs := map[string][]byte{blob.Digest.String(): token}

	good, _ := json.Marshal(ocispec.Index{Versioned: specsV2, MediaType: ocispec.MediaTypeImageIndex, Manifests: []ocispec.Descriptor{art}})
	f.Add(good)
	f.Add(index())
	f.Add([]byte(`{"schemaVersion":2,"manifests":[{"digest":"` + subject.Digest.String() + `","size":1}]}`))
	f.Add([]byte(`{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"` + art.Digest.String() + `","size":1}]}`))
	f.Add([]byte(`{"manifests":null}`))
	f.Add([]byte(`not json`))

	ref, err := reference.Parse("127.0.0.1:5000/fuzz:latest")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, referrers []byte) {
		tr := rtFunc(func(r *http.Request) (*http.Response, error) {
			p := r.URL.Path
			switch {
			case strings.Contains(p, "/_ext/"):
				return respond(r, 404, "", nil), nil
			case strings.Contains(p, "/referrers/"):
				return respond(r, 200, ocispec.MediaTypeImageIndex, referrers), nil
			case strings.Contains(p, "/manifests/"):
				if b, ok := manifests[p[strings.LastIndex(p, "/")+1:]]; ok {
					return respond(r, 200, ocispec.MediaTypeImageManifest, b), nil
				}
			case strings.Contains(p, "/blobs/"):
				if b, ok := blobs[p[strings.LastIndex(p, "/")+1:]]; ok {
					return respond(r, 200, "application/octet-stream", b), nil
				}
			}
			return respond(r, 404, "", nil), nil
		})
		c, err := remote.New(remote.Options{Transport: tr, Retry: &retry.GenericPolicy{Retryable: retry.DefaultPredicate, Backoff: retry.DefaultBackoff, MaxRetry: 0}, MaxMetadataSize: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		d, err := discover.New(c, ref, discover.Options{Depth: 1, Concurrency: 2})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		found, _, err := d.Signatures(ctx, subject, discover.SignatureOptions{MaxSignatures: 10})
		if err != nil {
			return
		}
		if len(found) > 10 {
			t.Fatalf("%d signatures examined", len(found))
		}
		for _, x := range found {
			if x.Err != nil {
				continue
			}
			if !x.Signature.Names(subject.Digest) {
				t.Fatalf("signature %s does not name the subject", x.Artifact.Digest)
			}
			if digest.FromBytes(x.Envelope) != x.Signature.Blob.Digest {
				t.Fatalf("envelope bytes do not match %s", x.Signature.Blob.Digest)
			}
		}
	})
}
