// Command benchtool populates a registry for scripts/bench.sh: it gives a
// subject N referrers quickly, pushing the artifact manifests concurrently
// through oras-go. On a registry without the referrers API it then writes
// the sha256-<hex> referrers index once, with every referrer in it, as the
// tag fallback would have left it after N pushes one at a time.
//
//	go run ./internal/benchtool -ref 127.0.0.1:5000/busybox:latest -n 10000 [-fallback-index]
//
// It prints the subject's digest. It is for benchmarks only.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strconv"
	"sync/atomic"

	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"
	"oras.land/oras-go/v2/registry/remote"
)

// ArtifactType is what benchtool's referrers are: not signatures, so that
// verify skips them without fetching.
const ArtifactType = "application/vnd.example.bench+json"

func main() {
	ref := flag.String("ref", "", "subject `reference` (registry/repository:tag), pushed already")
	n := flag.Int("n", 100, "referrers to push")
	conc := flag.Int("concurrency", 16, "concurrent pushes")
	fallback := flag.Bool("fallback-index", false, "also write the sha256-<hex> referrers index (registries without the referrers API)")
	flag.Parse()
	if err := run(context.Background(), *ref, *n, *conc, *fallback); err != nil {
		fmt.Fprintln(os.Stderr, "benchtool:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, ref string, n, conc int, fallback bool) error {
	repo, err := remote.NewRepository(ref)
	if err != nil {
		return err
	}
	repo.PlainHTTP = true
	// The registry indexes subjects itself (or the index is written once
	// below): no per-push read-modify-write of the referrers index.
	_ = repo.SetReferrersCapability(true)
	subject, err := repo.Resolve(ctx, repo.Reference.Reference)
	if err != nil {
		return fmt.Errorf("resolving the subject: %w", err)
	}
	empty := ocispec.DescriptorEmptyJSON
	if ok, _ := repo.Blobs().Exists(ctx, empty); !ok {
		if err := repo.Blobs().Push(ctx, empty, bytes.NewReader(empty.Data)); err != nil {
			return err
		}
	}
	empty.Data = nil
	descs := make([]ocispec.Descriptor, n)
	var done atomic.Int64
	eg, ectx := errgroup.WithContext(ctx)
	eg.SetLimit(conc)
	for i := range n {
		eg.Go(func() error {
			m := ocispec.Manifest{
				Versioned:    specs.Versioned{SchemaVersion: 2},
				MediaType:    ocispec.MediaTypeImageManifest,
				ArtifactType: ArtifactType,
				Config:       empty,
				Layers:       []ocispec.Descriptor{empty},
				Subject:      &subject,
				Annotations:  map[string]string{"org.example.bench.index": strconv.Itoa(i)},
			}
			b, err := json.Marshal(m)
			if err != nil {
				return err
			}
			d := ocispec.Descriptor{MediaType: m.MediaType, Digest: digest.FromBytes(b), Size: int64(len(b))}
			if err := repo.Manifests().Push(ectx, d, bytes.NewReader(b)); err != nil {
				return fmt.Errorf("referrer %d: %w", i, err)
			}
			d.ArtifactType, d.Annotations = ArtifactType, m.Annotations
			descs[i] = d
			done.Add(1)
			return nil
		})
	}
	if err := eg.Wait(); err != nil {
		return err
	}
	if fallback {
		idx := ocispec.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageIndex, Manifests: descs}
		b, err := json.Marshal(idx)
		if err != nil {
			return err
		}
		d := ocispec.Descriptor{MediaType: idx.MediaType, Digest: digest.FromBytes(b), Size: int64(len(b))}
		tag := "sha256-" + subject.Digest.Encoded()
		if err := repo.Manifests().PushReference(ctx, d, bytes.NewReader(b), tag); err != nil {
			return fmt.Errorf("referrers index (%d bytes): %w", len(b), err)
		}
	}
	fmt.Println(subject.Digest)
	return nil
}
