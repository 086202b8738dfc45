// Command signet-testdata regenerates signet's committed test fixtures
// (testdata/oci-layout, testdata/docker-archive/*.tar and
// testdata/docker-generate/legacy-manifest.json) from the deterministic
// test image in internal/testimage. Run it from the repository root:
//
//	go run ./cmd/signet-testdata [-o testdata]
//
// Every run writes the same bytes; internal/testimage's tests check that
// the committed fixtures match.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/signet-oci/signet/internal/testimage"
)

func main() {
	out := flag.String("o", "testdata", "testdata `directory` to write the fixtures into")
	flag.Parse()
	if flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "usage: signet-testdata [-o DIR]")
		os.Exit(2)
	}
	if err := testimage.Generate(*out); err != nil {
		fmt.Fprintln(os.Stderr, "signet-testdata:", err)
		os.Exit(1)
	}
	for _, f := range testimage.GeneratedFiles() {
		fmt.Println(f)
	}
}
