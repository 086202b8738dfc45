package cli

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/signet-oci/signet/internal/faultreg"
	"github.com/signet-oci/signet/pkg/artifact"
	"github.com/signet-oci/signet/pkg/registry"
)

// seedPrototypeOnly pushes an image signed only by a prototype (links
// API) artifact, as push-signature makes by default on signet's registry.
func seedPrototypeOnly(t *testing.T, srv *faultreg.Server, repo string) (*faultreg.Seeded, ocispec.Descriptor) {
	t.Helper()
	img := srv.Seed(t, "aux") // the image and a signature of it, in another repository
	srv.PushBlob(t, repo, ocispec.MediaTypeImageConfig, []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`))
	// The same manifest bytes as Seed's image, so the token signs it.
	resp, body := srv.Do(t, http.MethodGet, "/v2/aux/manifests/latest", "", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatal(resp.Status)
	}
	srv.PushManifest(t, repo, "latest", ocispec.MediaTypeImageManifest, body)
	blob := srv.PushBlob(t, repo, artifact.MediaTypeJWT, img.Token)
	pm, err := artifact.NewPrototype(blob, img.Subject).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	proto := srv.PushManifest(t, repo, "", artifact.MediaTypeArtifactManifest, pm)
	return img, proto
}

type copyJSON struct {
	Manifest  ocispec.Descriptor `json:"manifest"`
	Recursive bool               `json:"recursive"`
	Referrers []struct {
		Subject     string             `json:"subject"`
		Source      ocispec.Descriptor `json:"source"`
		Destination ocispec.Descriptor `json:"destination"`
		Existed     bool               `json:"existed"`
		Converted   bool               `json:"converted"`
		Discovery   string             `json:"discovery"`
	} `json:"referrers"`
	Converted int `json:"converted"`
}

// TestCopyRecursiveMovesOffThePrototype: copy -r from a registry with the
// links API to one like distribution converts the prototype signature,
// says so on stderr and in JSON, prints no progress on a non-terminal, and
// verify at the destination passes. A second run copies nothing.
func TestCopyRecursiveMovesOffThePrototype(t *testing.T) {
	src := faultreg.New(t)
	img, proto := seedPrototypeOnly(t, src, "busybox")
	dst := faultreg.NewConfig(t, registry.Config{DisableReferrersAPI: true, DisableLinks: true})
	dref := dst.Host + "/moved:latest"
	code, out, errOut := runCLI(t, "copy", "-r", src.Host+"/busybox:latest", dref, "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var res copyJSON
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if !res.Recursive || res.Converted != 1 || len(res.Referrers) != 1 || !res.Referrers[0].Converted ||
		res.Referrers[0].Source.Digest != proto.Digest || res.Referrers[0].Discovery != "tag-fallback" {
		t.Fatalf("JSON %s", out)
	}
	conv := res.Referrers[0].Destination.Digest.String()
	if !strings.Contains(errOut, "Converted the prototype artifact "+proto.Digest.String()+" to the OCI 1.1 artifact "+conv) {
		t.Errorf("stderr does not name the conversion: %s", errOut)
	}
	if strings.ContainsAny(errOut, "\x1b\r") {
		t.Errorf("progress output on a non-terminal: %q", errOut)
	}
	code, out, errOut = runCLI(t, "verify", dref, "-c", img.CertFile, "--format", "json")
	if code != 0 {
		t.Fatalf("verify at the destination: exit %d: %s %s", code, out, errOut)
	}
	var rep jsonReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil || rep.Valid != 1 || rep.Signatures[0].Artifact.Digest != conv {
		t.Fatalf("verify report %s (%v)", out, err)
	}

	before := dst.Total()
	code, out, errOut = runCLI(t, "copy", "-r", src.Host+"/busybox:latest", dref, "--format", "json", "--debug")
	if code != 0 {
		t.Fatalf("again: exit %d: %s", code, errOut)
	}
	if n := dst.Total() - before; n > 2 {
		t.Errorf("the repeated copy sent %d requests to the destination, want 2 (one per manifest)", n)
	}
	if !strings.Contains(errOut, "1 already at the destination") {
		t.Errorf("stderr %s", errOut)
	}
}

// TestCopyRecursiveNoReferrers: an image without referrers is copied, and
// the output says there were none.
func TestCopyRecursiveNoReferrers(t *testing.T) {
	srv := faultreg.New(t)
	if code, _, errOut := runCLI(t, "copy", layoutRef, srv.Host+"/busybox:latest"); code != 0 {
		t.Fatal(errOut)
	}
	code, _, errOut := runCLI(t, "copy", "-r", srv.Host+"/busybox:latest", srv.Host+"/other:latest")
	if code != 0 || !strings.Contains(errOut, "No referrers at the source: copied the image only") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
}

// TestCopyLayoutPathIsAFile: one clear line, exit 2, the file untouched.
func TestCopyLayoutPathIsAFile(t *testing.T) {
	f := filepath.Join(t.TempDir(), "layout")
	if err := os.WriteFile(f, []byte("not a layout"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"copy", "-r", layoutRef, "oci-layout:" + f + ":v1"},
		{"copy", "-r", "oci-layout:" + f + ":v1", "oci-layout:" + f + "2"},
	} {
		code, _, errOut := runCLI(t, args...)
		if code != 1 || strings.Count(strings.TrimSpace(errOut), "\n") != 0 || !strings.Contains(errOut, f+" is a file, not an OCI image layout directory") {
			t.Errorf("%v: exit %d, stderr %q", args, code, errOut)
		}
	}
	if b, _ := os.ReadFile(f); string(b) != "not a layout" {
		t.Error("the file was changed")
	}
}

// TestCopyRecursiveFailureLeavesLayout: a copy -r into an existing layout
// that fails half-way (the signature blob is refused) leaves the layout
// byte for byte as it was: same files, same index.json.
func TestCopyRecursiveFailureLeavesLayout(t *testing.T) {
	srv := faultreg.New(t)
	s := srv.Seed(t, "seeded")
	layout := filepath.Join(t.TempDir(), "layout")
	if code, _, errOut := runCLI(t, "copy", layoutRef, "oci-layout:"+layout+":base"); code != 0 {
		t.Fatal(errOut)
	}
	before := layoutFiles(layout)
	index, _ := os.ReadFile(filepath.Join(layout, "index.json"))
	srv.Use(faultreg.Always(faultreg.Match(http.MethodGet, faultreg.PathContains("/blobs/"+s.Blob.Digest.String())), http.StatusForbidden, nil, nil))
	code, _, errOut := runCLI(t, "copy", "-r", srv.Host+"/seeded:latest", "oci-layout:"+layout+":v1")
	if code != ExitError {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	after := layoutFiles(layout)
	now, _ := os.ReadFile(filepath.Join(layout, "index.json"))
	if len(after) != len(before) || !bytes.Equal(index, now) {
		t.Fatalf("the layout changed: %d files before, %d after; index.json %s -> %s", len(before), len(after), index, now)
	}
	if ents, _ := os.ReadDir(filepath.Dir(layout)); len(ents) != 1 {
		t.Fatalf("left %v beside the layout", ents)
	}
	// Control: without the fault the same copy succeeds and the layout
	// holds the image and its signature.
	srv.Reset()
	code, out, errOut := runCLI(t, "copy", "-r", srv.Host+"/seeded:latest", "oci-layout:"+layout+":v1", "--format", "json")
	var res copyJSON
	if code != 0 || json.Unmarshal([]byte(out), &res) != nil || len(res.Referrers) != 1 || res.Referrers[0].Discovery != "oci-layout" {
		t.Fatalf("control: exit %d: %s %s", code, out, errOut)
	}
	if ents, _ := os.ReadDir(filepath.Dir(layout)); len(ents) != 1 {
		t.Fatalf("left %v beside the layout", ents)
	}
}

// TestCopyRecursiveRefusedManifest: a destination that refuses the
// signature's manifest fails the copy (exit 1, the refusal named), prints
// no result, and does not count the refused referrer as copied.
func TestCopyRecursiveRefusedManifest(t *testing.T) {
	src := faultreg.New(t)
	s := src.Seed(t, "busybox")
	dst := faultreg.New(t)
	dst.Use(func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, "/manifests/"+s.Artifact.Digest.String()) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"errors":[{"code":"MANIFEST_INVALID","message":"signatures are not accepted here"}]}`))
			return true
		}
		return false
	})
	code, out, errOut := runCLI(t, "copy", "-r", src.Host+"/busybox:latest", dst.Host+"/moved:latest", "--format", "json")
	if code != ExitError || out != "" {
		t.Fatalf("exit %d, stdout %q: %s", code, out, errOut)
	}
	if !strings.Contains(errOut, s.Artifact.Digest.String()) || !strings.Contains(errOut, "Before the failure: copied 0 referrers") || strings.Contains(errOut, "Copied 1 referrer") {
		t.Fatalf("stderr %s", errOut)
	}
}

// layoutFiles lists the blob files and the ingest directory of a layout.
func layoutFiles(dir string) map[string]bool {
	files := map[string]bool{}
	_ = filepath.WalkDir(filepath.Join(dir, "blobs"), func(p string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			files[p] = true
		}
		return nil
	})
	if _, err := os.Stat(filepath.Join(dir, "ingest")); err == nil {
		files[filepath.Join(dir, "ingest")] = true
	}
	return files
}

// TestConcurrentCopiesIntoOneLayout: signet copies into one existing layout
// at the same time each publish their index.json entries under the
// layout's lock, merged with what is there: no tag one of them wrote is
// lost (a rename of each staged index.json over the layout's loses all but
// the last), and the signature artifact stays listed.
func TestConcurrentCopiesIntoOneLayout(t *testing.T) {
	srv := faultreg.New(t)
	s := srv.Seed(t, "seeded")
	layout := filepath.Join(t.TempDir(), "layout")
	if code, _, errOut := runCLI(t, "copy", layoutRef, "oci-layout:"+layout+":base"); code != 0 {
		t.Fatal(errOut)
	}
	const n = 6
	errs := make(chan string, n)
	for i := 0; i < n; i++ {
		go func(i int) {
			code, _, errOut := runCLI(t, "copy", "-r", "--no-progress", srv.Host+"/seeded:latest", "oci-layout:"+layout+":t"+strconv.Itoa(i))
			if code != 0 {
				errs <- errOut
				return
			}
			errs <- ""
		}(i)
	}
	for i := 0; i < n; i++ {
		if e := <-errs; e != "" {
			t.Fatal(e)
		}
	}
	b, err := os.ReadFile(filepath.Join(layout, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	var idx ocispec.Index
	if err := json.Unmarshal(b, &idx); err != nil {
		t.Fatal(err)
	}
	tags := map[string]string{}
	listed := map[string]bool{}
	for _, d := range idx.Manifests {
		listed[d.Digest.String()] = true
		if tag := d.Annotations[ocispec.AnnotationRefName]; tag != "" {
			if _, dup := tags[tag]; dup {
				t.Errorf("tag %s listed twice", tag)
			}
			tags[tag] = d.Digest.String()
		}
	}
	for i := 0; i < n; i++ {
		if tags["t"+strconv.Itoa(i)] != s.Subject.Digest.String() {
			t.Errorf("tag t%d: %q, want %s (index.json: %s)", i, tags["t"+strconv.Itoa(i)], s.Subject.Digest, b)
		}
	}
	if tags["base"] == "" || !listed[s.Artifact.Digest.String()] {
		t.Errorf("base tag or the signature artifact lost: %s", b)
	}
	if ents, _ := os.ReadDir(filepath.Dir(layout)); len(ents) != 1 {
		t.Fatalf("left %v beside the layout", ents)
	}
}
