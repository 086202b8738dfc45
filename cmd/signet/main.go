// Command signet signs container images and stores, discovers, pulls and
// verifies their signatures in OCI registries.
//
// All the work is done by the packages under pkg/; this file only hands the
// command line to internal/cli and turns the result into the exit status.
package main

import (
	"os"

	"github.com/signet-oci/signet/internal/cli"
)

func main() {
	os.Exit(cli.Main())
}
