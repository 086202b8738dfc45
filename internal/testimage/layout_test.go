package testimage

import (
	"bytes"
	"context"
	"os"
	"testing"

	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/content/memory"
	"oras.land/oras-go/v2/content/oci"
)

// TestOCILayoutWithOras: the committed layout is what `signet copy
// oci-layout:testdata/oci-layout:latest …` reads through oras-go; tag
// "latest" must be the docker-generate manifest (what the prototype signed)
// and both tags must copy completely.
func TestOCILayoutWithOras(t *testing.T) {
	ctx := context.Background()
	store, err := oci.NewFromFS(ctx, os.DirFS(repoTestdata+"/"+OCILayoutDir))
	if err != nil {
		t.Fatal(err)
	}
	img := New()
	want := map[string][]byte{Tag: img.DockerGenerateManifest(), OCITag: img.OCIManifest()}
	for tag, w := range want {
		desc, err := oras.Copy(ctx, store, tag, memory.New(), tag, oras.DefaultCopyOptions)
		if err != nil {
			t.Fatalf("copy %s: %v", tag, err)
		}
		got, err := content.FetchAll(ctx, store, desc)
		if err != nil || !bytes.Equal(got, w) {
			t.Fatalf("tag %s: manifest %s, %v", tag, got, err)
		}
	}
	d, _ := store.Resolve(ctx, Tag)
	if d.MediaType != mtDockerManifest {
		t.Errorf("latest is %s", d.MediaType)
	}
}
