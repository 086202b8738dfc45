package cli

import (
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/mattn/go-isatty"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/signet-oci/signet/pkg/transfer"
)

// progressMinSize is the smallest blob that gets a bar: manifests,
// configs and signatures (a few KiB each, thousands in a referrers graph)
// would only flicker.
const progressMinSize = 256 << 10

// writerIsTerminal reports whether w is a terminal.
func writerIsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

// progressBars shows one bar per blob being copied (bytes, rate, time
// left) on a terminal. It is a transfer.Observer.
type progressBars struct {
	p    *mpb.Progress
	mu   sync.Mutex
	bars map[digest.Digest]*mpb.Bar
}

var _ transfer.Observer = (*progressBars)(nil)

// newProgress returns the bars for w, or nil when w is not a terminal or
// off is set.
func newProgress(w io.Writer, off bool) *progressBars {
	if off || !writerIsTerminal(w) {
		return nil
	}
	return &progressBars{p: mpb.New(mpb.WithOutput(w)), bars: map[digest.Digest]*mpb.Bar{}}
}

// observer is pb as a transfer.Observer (nil when there are no bars).
func (pb *progressBars) observer() transfer.Observer {
	if pb == nil {
		return nil
	}
	return pb
}

func (pb *progressBars) Start(d ocispec.Descriptor) {
	if d.Size < progressMinSize {
		return
	}
	pb.mu.Lock()
	defer pb.mu.Unlock()
	if pb.bars[d.Digest] != nil {
		return
	}
	name := d.Digest.Encoded()
	if len(name) > 12 {
		name = name[:12]
	}
	pb.bars[d.Digest] = pb.p.AddBar(d.Size,
		mpb.PrependDecorators(decor.Name(name+" ", decor.WC{W: 13}), decor.Counters(decor.SizeB1024(0), "% .1f / % .1f")),
		mpb.AppendDecorators(decor.AverageSpeed(decor.SizeB1024(0), " % .1f", decor.WC{W: 12}), decor.Name(" "), decor.OnComplete(decor.AverageETA(decor.ET_STYLE_GO), "done")),
	)
}

func (pb *progressBars) bar(d ocispec.Descriptor) *mpb.Bar {
	pb.mu.Lock()
	defer pb.mu.Unlock()
	return pb.bars[d.Digest]
}

func (pb *progressBars) Read(d ocispec.Descriptor, n int64) {
	if b := pb.bar(d); b != nil {
		b.IncrInt64(n)
	}
}

func (pb *progressBars) Done(d ocispec.Descriptor) {
	if b := pb.bar(d); b != nil {
		b.SetCurrent(d.Size)
	}
}

func (pb *progressBars) Skipped(ocispec.Descriptor) {}

func (pb *progressBars) Mounted(d ocispec.Descriptor) {
	if b := pb.bar(d); b != nil {
		b.SetCurrent(d.Size)
	}
}

// wait finishes the display: bars not complete (a failed copy) are
// aborted, then the container waits for its last render.
func (pb *progressBars) wait() {
	if pb == nil {
		return
	}
	pb.mu.Lock()
	for _, b := range pb.bars {
		if !b.Completed() {
			b.Abort(false)
		}
	}
	pb.mu.Unlock()
	pb.p.Wait()
}

// plural is "1 thing" or "n things".
func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}
