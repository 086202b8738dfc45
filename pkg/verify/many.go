package verify

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/signet-oci/signet/pkg/errdef"
	"github.com/signet-oci/signet/pkg/reference"
	"github.com/signet-oci/signet/pkg/remote"
)

// Bounds for verifying many images in one call.
const (
	// DefaultConcurrency is how many images Many verifies at once.
	DefaultConcurrency = 8
	// MaxImages bounds the references of one call (and of a --from-file list).
	MaxImages = 10000
	// maxLine bounds one line of a reference list.
	maxLine = 4096
)

// Result is the outcome for one image of Many.
type Result struct {
	// Reference is the image as given.
	Reference string
	// Report is the verdict on its signatures; nil when the image could not
	// be examined (unknown, unreachable).
	Report *Report
	// Err is nil when the image has a valid signature; otherwise it wraps
	// errdef.ErrVerification (signatures, none valid), errdef.ErrNotFound
	// (no signature, or no such image) or another error.
	Err error
}

// Many verifies each of refs as Remote does, at most concurrency at a time
// (0: DefaultConcurrency), through one client: connections and tokens are
// shared, and each image costs the requests it would cost alone. Results
// are in the order of refs. Only ctx's cancellation stops the others; an
// image's failure is its own result.
func Many(ctx context.Context, client *remote.Client, refs []reference.Reference, opts Options, concurrency int) []Result {
	if concurrency <= 0 {
		concurrency = DefaultConcurrency
	}
	out := make([]Result, len(refs))
	var eg errgroup.Group
	eg.SetLimit(concurrency)
	for i, ref := range refs {
		out[i].Reference = ref.Raw
		eg.Go(func() error {
			if err := ctx.Err(); err != nil {
				out[i].Err = err
				return nil
			}
			o := opts
			o.Scope = "" // each image's own repository selects its trust policy
			out[i].Report, out[i].Err = Remote(ctx, client, ref, o)
			return nil
		})
	}
	_ = eg.Wait()
	return out
}

// Status is the outcome of Many as one error: nil when every image has a
// valid signature; otherwise, in this order, an error wrapping
// errdef.ErrVerification when an image has signatures and none is valid,
// errdef.ErrNotFound when an image has no signature or does not exist, or
// the first other error (an unreachable registry, say).
func Status(results []Result) error {
	var failed, missing, other int
	var firstOther error
	for _, r := range results {
		switch {
		case r.Err == nil:
		case errors.Is(r.Err, errdef.ErrVerification):
			failed++
		case errors.Is(r.Err, errdef.ErrNotFound):
			missing++
		default:
			other++
			if firstOther == nil {
				firstOther = r.Err
			}
		}
	}
	bad := failed + missing + other
	switch {
	case bad == 0:
		return nil
	case failed > 0:
		return errdef.Verification(fmt.Errorf("%d of %d image(s) not verified: %d with no valid signature, %d unsigned or unknown, %d not checked", bad, len(results), failed, missing, other))
	case missing > 0:
		return errdef.NotFound(fmt.Errorf("%d of %d image(s) not verified: %d unsigned or unknown, %d not checked", bad, len(results), missing, other))
	}
	return fmt.Errorf("%d of %d image(s) could not be checked: %w", other, len(results), firstOther)
}

// ReadReferences reads a list of image references, one per line; blank
// lines and lines starting with # are skipped. It refuses (with the line
// number) a line that is not a registry reference, a line over 4 KiB, and
// more than MaxImages references.
func ReadReferences(r io.Reader) ([]reference.Reference, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1024), maxLine)
	var refs []reference.Reference
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if len(refs) == MaxImages {
			return nil, errdef.Usage(fmt.Errorf("more than %d references", MaxImages))
		}
		ref, err := reference.Parse(line)
		if err != nil {
			return nil, errdef.Usage(fmt.Errorf("line %d: %w", n, err))
		}
		if ref.Kind != reference.Registry {
			return nil, errdef.Usage(fmt.Errorf("line %d: %s is not a registry reference", n, line))
		}
		refs = append(refs, ref)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, errdef.Usage(fmt.Errorf("a line longer than %d bytes", maxLine))
		}
		return nil, err
	}
	return refs, nil
}
