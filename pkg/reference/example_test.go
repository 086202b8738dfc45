package reference_test

import (
	"errors"
	"fmt"

	"github.com/signet-oci/signet/pkg/errdef"
	"github.com/signet-oci/signet/pkg/reference"
)

// Every form a signet command takes parses into one Reference; Kind says
// which fields are set.
func ExampleParse() {
	for _, s := range []string{
		"127.0.0.1:5000/busybox:latest",
		"registry.example/team/app@sha256:4f5a1d27c8b4c89b3d3d2b8b9f1f7e6c5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a",
		"oci-layout:./busybox-layout:v1",
		"docker-archive:busybox.tar",
		"file:manifest.json",
	} {
		ref, err := reference.Parse(s)
		if err != nil {
			fmt.Println(err)
			continue
		}
		switch ref.Kind {
		case reference.Registry:
			fmt.Printf("%s: registry %s, repository %s, selector %s\n", ref.Kind, ref.Registry, ref.Repository, ref.Selector())
		case reference.OCILayout:
			fmt.Printf("%s: directory %s, selector %s\n", ref.Kind, ref.Path, ref.Selector())
		default:
			fmt.Printf("%s: file %s\n", ref.Kind, ref.Path)
		}
	}
	// Output:
	// registry: registry 127.0.0.1:5000, repository busybox, selector latest
	// registry: registry registry.example, repository team/app, selector sha256:4f5a1d27c8b4c89b3d3d2b8b9f1f7e6c5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a
	// oci-layout: directory ./busybox-layout, selector v1
	// docker-archive: file busybox.tar
	// file: file manifest.json
}

// A reference that does not parse is a usage error: errdef.ErrUsage, which
// the CLI turns into exit status 2.
func ExampleParse_error() {
	_, err := reference.Parse("Busybox:latest")
	fmt.Println(errors.Is(err, errdef.ErrUsage))
	fmt.Println(err)
	// Output:
	// true
	// invalid reference "Busybox:latest": a registry reference starts with the registry host, as in 127.0.0.1:5000/busybox:latest
}

// WithDigest pins a tagged reference to the digest it resolved to.
func ExampleReference_WithDigest() {
	ref, err := reference.Parse("127.0.0.1:5000/busybox:latest")
	if err != nil {
		panic(err)
	}
	fmt.Println(ref.Repo())
	fmt.Println(ref.WithDigest("sha256:4f5a1d27c8b4c89b3d3d2b8b9f1f7e6c5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a"))
	// Output:
	// 127.0.0.1:5000/busybox
	// 127.0.0.1:5000/busybox@sha256:4f5a1d27c8b4c89b3d3d2b8b9f1f7e6c5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a
}
