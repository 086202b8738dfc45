package cli

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/vbauerster/mpb/v8"
)

// TestProgressOnlyOnATerminal: no bars for a buffer, a pipe or a file, nor
// with --no-progress.
func TestProgressOnlyOnATerminal(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	f, err := os.Create(t.TempDir() + "/err")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for name, out := range map[string]any{"buffer": &bytes.Buffer{}, "pipe": w, "file": f} {
		if newProgress(out.(interface{ Write([]byte) (int, error) }), false) != nil {
			t.Errorf("progress bars on a %s", name)
		}
	}
	if newProgress(os.Stderr, true) != nil {
		t.Error("progress bars with --no-progress")
	}
	var nilBars *progressBars
	if nilBars.observer() != nil {
		t.Error("a nil display is an observer")
	}
	nilBars.wait() // no panic
}

// TestProgressBarsShowBytesRateAndTimeLeft drives the display as a copy
// does and reads what it drew: a bar for the large blob (named by its
// digest, with its size), none for the small one.
func TestProgressBarsShowBytesRateAndTimeLeft(t *testing.T) {
	var out bytes.Buffer
	// A buffer is no terminal: refresh as on one.
	pb := &progressBars{p: mpb.New(mpb.WithOutput(&out), mpb.WithWidth(160), mpb.WithAutoRefresh()), bars: map[digest.Digest]*mpb.Bar{}}
	big := ocispec.Descriptor{MediaType: "application/vnd.oci.image.layer.v1.tar", Digest: digest.FromString("big"), Size: 4 << 20}
	small := ocispec.Descriptor{MediaType: "application/vnd.oci.image.config.v1+json", Digest: digest.FromString("small"), Size: 100}
	obs := pb.observer()
	obs.Start(big)
	obs.Start(small)
	for i := 0; i < 3; i++ {
		obs.Read(big, 1<<20)
	}
	time.Sleep(400 * time.Millisecond) // a render or two while it runs
	obs.Read(big, 1<<20)
	obs.Read(small, 100)
	obs.Done(big)
	obs.Done(small)
	pb.wait()
	s := out.String()
	if !strings.Contains(s, big.Digest.Encoded()[:12]) || !strings.Contains(s, "4.0 MiB") {
		t.Fatalf("no bar for the 4 MiB blob: %q", s)
	}
	if strings.Contains(s, small.Digest.Encoded()[:12]) {
		t.Fatalf("a bar for a 100-byte blob: %q", s)
	}
	if !strings.Contains(s, "MiB/s") || !strings.Contains(s, "3.0 MiB / 4.0 MiB") {
		t.Fatalf("no rate, or no bytes so far: %q", s)
	}
}
