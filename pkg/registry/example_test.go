package registry_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/registry/remote"

	"github.com/signet-oci/signet/pkg/registry"
)

// The embedded registry in-process: a *registry.Registry is an
// http.Handler, here on a loopback listener (httptest.NewServer of the
// real handler), with storage in memory. Any OCI client talks to it; this
// one is oras-go, pushing a small artifact, tagging it and listing the tags.
func Example() {
	reg, err := registry.New(registry.Config{Memory: true})
	if err != nil {
		panic(err)
	}
	defer reg.Close()
	srv := httptest.NewServer(reg)
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")

	ctx := context.Background()
	repo, err := remote.NewRepository(host + "/demo/hello")
	if err != nil {
		panic(err)
	}
	repo.PlainHTTP = true

	layer, err := oras.PushBytes(ctx, repo, "text/plain", []byte("hello, world\n"))
	if err != nil {
		panic(err)
	}
	manifest, err := oras.PackManifest(ctx, repo, oras.PackManifestVersion1_1, "application/vnd.example.hello",
		oras.PackManifestOptions{Layers: []ocispec.Descriptor{layer}, ManifestAnnotations: map[string]string{ocispec.AnnotationCreated: "2026-01-01T00:00:00Z"}})
	if err != nil {
		panic(err)
	}
	if err := repo.Tag(ctx, manifest, "v1"); err != nil {
		panic(err)
	}
	fmt.Println("pushed", manifest.Digest)

	err = repo.Tags(ctx, "", func(tags []string) error {
		fmt.Println("tags:", tags)
		return nil
	})
	if err != nil {
		panic(err)
	}
	desc, err := repo.Resolve(ctx, "v1")
	if err != nil {
		panic(err)
	}
	b, err := content.FetchAll(ctx, repo.Blobs(), layer)
	if err != nil {
		panic(err)
	}
	fmt.Printf("v1 is %s; its layer holds %q\n", desc.Digest, b)

	// The OCI 1.1 referrers API: a manifest whose subject is v1 is listed
	// among v1's referrers.
	note, err := oras.PackManifest(ctx, repo, oras.PackManifestVersion1_1, "application/vnd.example.note",
		oras.PackManifestOptions{Subject: &manifest, ManifestAnnotations: map[string]string{ocispec.AnnotationCreated: "2026-01-01T00:00:00Z"}})
	if err != nil {
		panic(err)
	}
	err = repo.Referrers(ctx, manifest, "", func(referrers []ocispec.Descriptor) error {
		for _, r := range referrers {
			fmt.Println("referrer:", r.ArtifactType, r.Digest == note.Digest)
		}
		return nil
	})
	if err != nil {
		panic(err)
	}
	// Output:
	// pushed sha256:0df7e0c7597592ba8403a4da9f3848ca8183510e35a3617c3dba3974a547eabe
	// tags: [v1]
	// v1 is sha256:0df7e0c7597592ba8403a4da9f3848ca8183510e35a3617c3dba3974a547eabe; its layer holds "hello, world\n"
	// referrer: application/vnd.example.note true
}

// Serve runs the registry on its own listener until the context is
// cancelled (what `signet registry serve` does). Port 0 picks a free port;
// Ready gets the base URL once the registry listens.
func ExampleServe() {
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- registry.Serve(ctx, registry.ServeOptions{
			Addr:   "127.0.0.1:0",
			Memory: true,
			Ready:  func(url string) { ready <- url },
		})
	}()
	var url string
	select {
	case url = <-ready:
	case err := <-done:
		panic(err)
	}
	resp, err := http.Get(url + "/v2/")
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	fmt.Println("GET /v2/:", resp.Status, resp.Header.Get("Docker-Distribution-API-Version"))

	cancel()
	fmt.Println("stopped:", <-done)
	// Output:
	// GET /v2/: 200 OK registry/2.0
	// stopped: <nil>
}
