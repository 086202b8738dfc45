package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/vbauerster/mpb/v8"

	"github.com/signet-oci/signet/internal/faultreg"
	"github.com/signet-oci/signet/internal/testtool"
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

// TestProgressOnAPseudoTerminal runs copy with stderr on a pseudo-terminal
// (util-linux script(1), which allocates one; the terminal is given a size
// as a user's would have): the large layer gets a bar that ends "done";
// --no-progress turns it off there too.
func TestProgressOnAPseudoTerminal(t *testing.T) {
	script := testtool.Tool(t, "script", "")
	srv := faultreg.New(t)
	layer := make([]byte, 2<<20)
	for i := range layer {
		layer[i] = byte(i * 7)
	}
	l := srv.PushBlob(t, "big", "application/vnd.oci.image.layer.v1.tar", layer)
	cfg := srv.PushBlob(t, "big", ocispec.MediaTypeImageConfig, []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`))
	m := ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest, Config: cfg, Layers: []ocispec.Descriptor{l}}
	m.SchemaVersion = 2
	mb, _ := json.Marshal(m)
	srv.PushManifest(t, "big", "latest", ocispec.MediaTypeImageManifest, mb)
	run := func(extra string) string {
		dir := t.TempDir()
		cmdline := fmt.Sprintf("stty cols 160 rows 40; SIGNET_CLI_TEST_AS_SIGNET=1 %s copy %s/big:latest oci-layout:%s/out:v1 %s", os.Args[0], srv.Host, dir, extra)
		out, err := exec.Command(script, "-qec", cmdline, "/dev/null").CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		return string(out)
	}
	out := run("")
	name := l.Digest.Encoded()[:12]
	if !strings.Contains(out, name) || !strings.Contains(out, "2.0 MiB / 2.0 MiB") || !strings.Contains(out, "done") {
		t.Fatalf("no progress bar for the 2 MiB layer on a terminal: %q", out)
	}
	if out := run("--no-progress"); strings.Contains(out, name) || !strings.Contains(out, "Copied ") {
		t.Fatalf("--no-progress: %q", out)
	}
}
