// Command benchtool populates a registry for scripts/bench.sh: it gives a
// subject N referrers quickly, pushing the artifact manifests concurrently
// through oras-go. On a registry without the referrers API it then writes
// the sha256-<hex> referrers index once, with every referrer in it, as the
// tag fallback would have left it after N pushes one at a time.
//
//	go run ./internal/benchtool -ref 127.0.0.1:5000/busybox:latest -n 10000 [-fallback-index]
//
// It prints the subject's digest. Other modes, for the registry
// comparisons (one Go client, the same for both registries):
//
//	benchtool -tags 1000 -ref HOST/REPO:TAG         tag the manifest 1000 more times
//	benchtool -hammer URL -n 500 [-c 4] [-method HEAD] [-accept TYPE]
//	                                                 N requests, bodies read; prints the seconds
//	benchtool -push-blob FILE -digest D -ref HOST/REPO   POST + PUT (monolithic); prints the seconds
//	benchtool -pull-blob D -ref HOST/REPO            GET to io.Discard, bytes counted; prints the seconds
//
// It is for benchmarks only.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

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
	tags := flag.Int("tags", 0, "tag the manifest at -ref this many more times, and exit")
	hammer := flag.String("hammer", "", "send -n requests to this `URL` (-c at a time) and print the seconds taken")
	method := flag.String("method", http.MethodGet, "request method for -hammer")
	accept := flag.String("accept", "", "Accept header for -hammer")
	pushBlob := flag.String("push-blob", "", "push this `file` as a blob of -digest to -ref's repository (POST then PUT)")
	pullBlob := flag.String("pull-blob", "", "pull the blob of this `digest` from -ref's repository")
	dg := flag.String("digest", "", "digest of -push-blob's file")
	flag.Parse()
	var err error
	switch {
	case *hammer != "":
		err = timed(func() error { return hammerURL(*hammer, *method, *accept, *n, *conc) })
	case *pushBlob != "":
		err = timed(func() error { return pushBlobFile(*ref, *pushBlob, digest.Digest(*dg)) })
	case *pullBlob != "":
		err = timed(func() error { return pullBlobDigest(*ref, digest.Digest(*pullBlob)) })
	case *tags > 0:
		err = tagMany(context.Background(), *ref, *tags, *conc)
	default:
		err = run(context.Background(), *ref, *n, *conc, *fallback)
	}
	if err != nil {
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

// timed runs f and prints the seconds it took.
func timed(f func() error) error {
	start := time.Now()
	if err := f(); err != nil {
		return err
	}
	fmt.Printf("%.6f\n", time.Since(start).Seconds())
	return nil
}

var client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}}

func hammerURL(url, method, accept string, n, conc int) error {
	eg := errgroup.Group{}
	eg.SetLimit(max(conc, 1))
	for range n {
		eg.Go(func() error {
			req, err := http.NewRequest(method, url, nil)
			if err != nil {
				return err
			}
			if accept != "" {
				req.Header.Set("Accept", accept)
			}
			resp, err := client.Do(req)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			if _, err := io.Copy(io.Discard, resp.Body); err != nil {
				return err
			}
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("%s %s: %s", method, url, resp.Status)
			}
			return nil
		})
	}
	return eg.Wait()
}

// hostRepo splits HOST/REPO.
func hostRepo(ref string) (string, string) {
	h, r, _ := strings.Cut(ref, "/")
	return h, r
}

func pushBlobFile(ref, file string, d digest.Digest) error {
	host, repo := hostRepo(ref)
	resp, err := client.Post("http://"+host+"/v2/"+repo+"/blobs/uploads/", "", nil)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("POST upload: %s", resp.Status)
	}
	loc, err := resp.Location()
	if err != nil {
		return err
	}
	q := loc.Query()
	q.Set("digest", d.String())
	loc.RawQuery = q.Encode()
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	req, err := http.NewRequest(http.MethodPut, loc.String(), f)
	if err != nil {
		return err
	}
	req.ContentLength = fi.Size()
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err = client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("PUT upload: %s", resp.Status)
	}
	return nil
}

func pullBlobDigest(ref string, d digest.Digest) error {
	host, repo := hostRepo(ref)
	resp, err := client.Get("http://" + host + "/v2/" + repo + "/blobs/" + d.String())
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET blob: %s", resp.Status)
	}
	// The bytes are counted, not hashed: this times the registry, and
	// hashing would add the same client cost to both sides.
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil {
		return err
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		return fmt.Errorf("blob %s: %d of %d bytes", d, n, resp.ContentLength)
	}
	return nil
}

// tagMany tags the manifest at ref n more times (t0 … tN-1).
func tagMany(ctx context.Context, ref string, n, conc int) error {
	repo, err := remote.NewRepository(ref)
	if err != nil {
		return err
	}
	repo.PlainHTTP = true
	desc, rc, err := repo.FetchReference(ctx, repo.Reference.Reference)
	if err != nil {
		return err
	}
	b, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		return err
	}
	eg, ectx := errgroup.WithContext(ctx)
	eg.SetLimit(conc)
	for i := range n {
		eg.Go(func() error {
			return repo.PushReference(ectx, desc, bytes.NewReader(b), "t"+strconv.Itoa(i))
		})
	}
	return eg.Wait()
}
