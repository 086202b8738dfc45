//go:build unix

package target

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/signet-oci/signet/internal/testimage"
	"github.com/signet-oci/signet/pkg/discover"
	"github.com/signet-oci/signet/pkg/manifest"
	"github.com/signet-oci/signet/pkg/reference"
)

// hostileLayout is a layout directory with an oci-layout file and the
// index.json listing descs.
func hostileLayout(t *testing.T, descs ...ocispec.Descriptor) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "lay")
	if err := os.MkdirAll(filepath.Join(dir, "blobs", "sha256"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if descs == nil {
		descs = []ocispec.Descriptor{}
	}
	b, err := json.Marshal(ocispec.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageIndex, Manifests: descs})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "index.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// blobFile is where a layout keeps the blob of digest d.
func blobFile(dir string, d digest.Digest) string {
	return filepath.Join(dir, "blobs", d.Algorithm().String(), d.Encoded())
}

// manifestDesc describes a manifest of size bytes with a digest made up
// from seed (its file need not hold those bytes: the attacker's choice).
func manifestDesc(seed string, size int64) ocispec.Descriptor {
	return ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromString(seed), Size: size}
}

// openHostile opens dir as verify, discover and pull-signature do, and
// returns the error, failing the test when the opening takes more than
// 20 seconds (a FIFO or an endless file would keep it forever) or
// allocates more than maxAlloc bytes.
func openHostile(t *testing.T, dir string, maxAlloc uint64) error {
	t.Helper()
	ref, err := reference.Parse("oci-layout:" + dir + ":latest")
	if err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	done := make(chan error, 1)
	go func() {
		_, err := Discoverer(context.Background(), "verify", ref, nil, discover.Options{})
		done <- err
	}()
	select {
	case err = <-done:
	case <-time.After(20 * time.Second):
		t.Fatalf("opening the layout %s is still reading after 20s", dir)
	}
	runtime.ReadMemStats(&after)
	alloc := after.TotalAlloc - before.TotalAlloc
	if alloc > maxAlloc {
		t.Errorf("opening the layout allocated %d bytes, over %d", alloc, maxAlloc)
	}
	t.Logf("opening the layout allocated %d bytes in all", alloc)
	return err
}

func wantRefusal(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
		t.Fatalf("got %v; want one line with %q", err, want)
	}
}

// TestLayoutIndexOverItsBound: an index.json of 64 MiB is refused unread
// at MaxLayoutIndexSize (16 MiB), not decoded whole.
func TestLayoutIndexOverItsBound(t *testing.T) {
	dir := hostileLayout(t)
	big := `{"schemaVersion":2,"manifests":[],"annotations":{"x":"` + strings.Repeat("a", 64<<20) + `"}}`
	if err := os.WriteFile(filepath.Join(dir, "index.json"), []byte(big), 0o644); err != nil {
		t.Fatal(err)
	}
	size := len(big)
	big = ""
	err := openHostile(t, dir, 8<<20)
	wantRefusal(t, err, fmt.Sprintf("the OCI layout %s: index.json is %d bytes, over the %d-byte limit for index.json; refused unread", dir, size, MaxLayoutIndexSize))
}

// TestLayoutManifestOverItsBound: a manifest listed with a size of 64 MiB
// (a sparse file of that size) is refused unread at manifest.MaxManifestSize.
func TestLayoutManifestOverItsBound(t *testing.T) {
	d := manifestDesc("huge", 64<<20)
	dir := hostileLayout(t, d)
	f, err := os.Create(blobFile(dir, d.Digest))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(d.Size); err != nil {
		t.Fatal(err)
	}
	f.Close()
	err = openHostile(t, dir, 8<<20)
	wantRefusal(t, err, fmt.Sprintf("the OCI layout %s: blobs/sha256/%s is %d bytes, over the %d-byte limit for a manifest; refused unread", dir, d.Digest.Encoded(), d.Size, manifest.MaxManifestSize))
}

// TestLayoutFIFO: a manifest that is a FIFO is refused unread; opening it
// would wait for a writer forever.
func TestLayoutFIFO(t *testing.T) {
	d := manifestDesc("fifo", 1<<40)
	dir := hostileLayout(t, d)
	if err := syscall.Mkfifo(blobFile(dir, d.Digest), 0o644); err != nil {
		t.Skipf("no FIFO here: %v", err)
	}
	err := openHostile(t, dir, 8<<20)
	wantRefusal(t, err, fmt.Sprintf("the OCI layout %s: blobs/sha256/%s is not a regular file (a named pipe); refused unread", dir, d.Digest.Encoded()))
}

// TestLayoutSymlinkOut: a manifest that is a symbolic link leading out of
// the layout (to /dev/zero, an endless device; to a file elsewhere) is
// refused; one to a file inside the layout is followed.
func TestLayoutSymlinkOut(t *testing.T) {
	outside := filepath.Join(t.TempDir(), "elsewhere")
	if err := os.WriteFile(outside, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{"/dev/zero", outside} {
		d := manifestDesc(target, 1<<40)
		dir := hostileLayout(t, d)
		if err := os.Symlink(target, blobFile(dir, d.Digest)); err != nil {
			t.Fatal(err)
		}
		err := openHostile(t, dir, 8<<20)
		wantRefusal(t, err, fmt.Sprintf("the OCI layout %s: blobs/sha256/%s leads out of the layout directory (a symbolic link); refused", dir, d.Digest.Encoded()))
	}

	// index.json itself, a link to /dev/zero.
	dir := hostileLayout(t)
	if err := os.Remove(filepath.Join(dir, "index.json")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/dev/zero", filepath.Join(dir, "index.json")); err != nil {
		t.Fatal(err)
	}
	wantRefusal(t, openHostile(t, dir, 8<<20), fmt.Sprintf("the OCI layout %s: index.json leads out of the layout directory (a symbolic link); refused", dir))

	// Inside: a layout whose blobs are links to files kept in the layout.
	lay := filepath.Join(t.TempDir(), "lay")
	if err := testimage.WriteOCILayout(lay); err != nil {
		t.Fatal(err)
	}
	blobs := filepath.Join(lay, "blobs", "sha256")
	ents, err := os.ReadDir(blobs)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(lay, "store"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if err := os.Rename(filepath.Join(blobs, e.Name()), filepath.Join(lay, "store", e.Name())); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(filepath.Join("..", "..", "store", e.Name()), filepath.Join(blobs, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	ref, _ := reference.Parse("oci-layout:" + lay + ":latest")
	if _, _, err := ResolveManifest(context.Background(), ref, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := Discoverer(context.Background(), "verify", ref, nil, discover.Options{}); err != nil {
		t.Fatalf("a layout whose blobs link inside it: %v", err)
	}
}

// TestLayoutTooManyFiles: an index.json listing 60,000 manifests is
// refused after MaxLayoutFiles files, not read to its end (nested indexes
// would multiply it without end).
func TestLayoutTooManyFiles(t *testing.T) {
	descs := make([]ocispec.Descriptor, 60_000)
	for i := range descs {
		descs[i] = manifestDesc(fmt.Sprint("m", i), 100)
	}
	dir := hostileLayout(t, descs...)
	err := openHostile(t, dir, 512<<20)
	wantRefusal(t, err, fmt.Sprintf("the OCI layout %s: more than %d files to read (index.json and the manifests it lists, recursively); refused", dir, MaxLayoutFiles))
}

// TestLayoutTooManyBytes: 17 valid manifests of 4 MiB each (68 MiB) are
// refused at MaxLayoutBytes (64 MiB) in all. oras-go reads them at once,
// each into a buffer that grows past its size to see its end, then decodes
// it: what is allocated in all stays within 8 times the budget (5.7 with
// -race).
func TestLayoutTooManyBytes(t *testing.T) {
	var descs []ocispec.Descriptor
	var blobs [][]byte
	for i := 0; len(descs)*manifest.MaxManifestSize <= MaxLayoutBytes; i++ {
		head := fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[],"annotations":{"n":"%d","pad":"`, i)
		b := []byte(head + strings.Repeat("p", manifest.MaxManifestSize-len(head)-3) + `"}}`)
		blobs = append(blobs, b)
		descs = append(descs, ocispec.Descriptor{MediaType: ocispec.MediaTypeImageIndex, Digest: digest.FromBytes(b), Size: int64(len(b))})
	}
	dir := hostileLayout(t, descs...)
	for i, b := range blobs {
		if err := os.WriteFile(blobFile(dir, descs[i].Digest), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	blobs = nil
	err := openHostile(t, dir, 8*MaxLayoutBytes)
	wantRefusal(t, err, fmt.Sprintf("the OCI layout %s: more than %d bytes to read (index.json and the manifests it lists, recursively, at the sizes they are listed with); refused", dir, MaxLayoutBytes))
}

// TestLayoutTooManyDescriptors: an index.json of 16 MiB holding 5.6
// million "{}" entries (each a descriptor oras-go indexes, with no file to
// open) is refused after MaxLayoutObjects; it kept oras-go busy for
// minutes.
func TestLayoutTooManyDescriptors(t *testing.T) {
	dir := hostileLayout(t)
	n := (MaxLayoutIndexSize - 64) / 3
	idx := `{"schemaVersion":2,"manifests":[` + strings.Repeat(`{},`, n-1) + `{}]}`
	if err := os.WriteFile(filepath.Join(dir, "index.json"), []byte(idx), 0o644); err != nil {
		t.Fatal(err)
	}
	idx = ""
	err := openHostile(t, dir, 64<<20)
	wantRefusal(t, err, fmt.Sprintf("the OCI layout %s: more than %d descriptors to read (index.json and the manifests it lists, recursively); refused", dir, MaxLayoutObjects))
}

// TestLayoutListedSizes: an index listing 20,000 manifests at 1 TiB each,
// each file a link to a 2-byte file in the layout: oras-go allocates a
// buffer of the listed size (up to 32 MiB) for each before reading a byte,
// 20,000 at once. Those buffers count against MaxLayoutBytes and at most
// openWhileIndexing files are open at once: refused in under a second,
// with at most a few buffers allocated (before: still allocating after 20 s).
func TestLayoutListedSizes(t *testing.T) {
	var children []ocispec.Descriptor
	for i := 0; i < 20_000; i++ {
		children = append(children, manifestDesc(fmt.Sprint("c", i), 1<<40))
	}
	b, err := json.Marshal(ocispec.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageIndex, Manifests: children})
	if err != nil {
		t.Fatal(err)
	}
	top := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageIndex, Digest: digest.FromBytes(b), Size: int64(len(b))}
	dir := hostileLayout(t, top)
	if err := os.WriteFile(blobFile(dir, top.Digest), b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "small"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range children {
		if err := os.Symlink(filepath.Join("..", "..", "small"), blobFile(dir, c.Digest)); err != nil {
			t.Fatal(err)
		}
	}
	err = openHostile(t, dir, 8*32<<20)
	wantRefusal(t, err, fmt.Sprintf("the OCI layout %s: more than %d bytes to read (index.json and the manifests it lists, recursively, at the sizes they are listed with); refused", dir, MaxLayoutBytes))
}
