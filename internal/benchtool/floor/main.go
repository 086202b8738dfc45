// Command floor links the libraries a verify needs (oras-go's registry
// client, notation-go's verifier, go-digest) and exits at once: its run time
// and peak memory are what any program built on them pays before doing
// anything. scripts/bench.sh times it beside `notation verify` and `signet
// verify` (docs/performance.md, "The floor").
package main

import (
	"os"

	"github.com/notaryproject/notation-go/verifier"
	"github.com/opencontainers/go-digest"
	"oras.land/oras-go/v2/registry/remote"
)

// The references keep the packages linked (and initialised) without
// running any of their code.
var (
	_ = remote.NewRepository
	_ = verifier.New
	_ = digest.FromBytes
)

func main() { os.Exit(0) }
