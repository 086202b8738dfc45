// Command floor links the libraries a verify needs (oras-go's registry
// client, notation-go's verifier, go-digest) and, with no argument, exits
// at once: its run time and peak memory are what any program built on them
// pays before doing anything.
//
// With -fetch REF (host/repository@digest, plain HTTP) it also makes the
// requests no verify of a Notary Project signature can do without, through
// oras-go: resolve the subject, list its referrers of the notation
// signature type (the referrers API filtered by artifactType, or oras-go's
// sha256-<hex> tag fallback), fetch the first signature manifest and its
// envelope blob, every digest checked; then it exits, nothing verified.
//
// scripts/bench.sh times both beside `notation verify` and `signet verify`
// (docs/performance.md, "The floor").
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/notaryproject/notation-go/verifier"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/registry/remote"
)

// The references keep the packages linked (and initialised) without
// running any of their code.
var (
	_ = verifier.New
	_ = digest.FromBytes
)

// notarySignature is the artifact type of a Notary Project signature.
const notarySignature = "application/vnd.cncf.notary.signature"

func main() {
	fetchRef := flag.String("fetch", "", "make a verify's requests for this `reference` (host/repository@digest, plain HTTP), then exit")
	flag.Parse()
	if *fetchRef == "" {
		os.Exit(0)
	}
	if err := fetch(context.Background(), *fetchRef); err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	}
}

// fetch resolves ref, lists its notation signatures and fetches the first
// one's manifest and envelope.
func fetch(ctx context.Context, ref string) error {
	repo, err := remote.NewRepository(ref)
	if err != nil {
		return err
	}
	repo.PlainHTTP = true
	subject, err := repo.Resolve(ctx, repo.Reference.Reference)
	if err != nil {
		return err
	}
	var sig *ocispec.Descriptor
	errFound := errors.New("found")
	err = repo.Referrers(ctx, subject, notarySignature, func(refs []ocispec.Descriptor) error {
		if len(refs) > 0 {
			sig = &refs[0]
			return errFound
		}
		return nil
	})
	if err != nil && !errors.Is(err, errFound) {
		return err
	}
	if sig == nil {
		return fmt.Errorf("%s: no signature", ref)
	}
	raw, err := content.FetchAll(ctx, repo, *sig)
	if err != nil {
		return err
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return err
	}
	if len(m.Layers) != 1 {
		return fmt.Errorf("signature manifest has %d layers, not 1", len(m.Layers))
	}
	_, err = content.FetchAll(ctx, repo.Blobs(), m.Layers[0])
	return err
}
