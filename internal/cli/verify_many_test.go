package cli

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signet-oci/signet/internal/faultreg"
)

// TestVerifyMany: several images in one call: one verdict line per image in
// the order given, exit 0 only when every image verifies (4 with an
// unsigned one), --from-file (stdin too) and one JSON report per image.
func TestVerifyMany(t *testing.T) {
	srv := faultreg.New(t)
	a := srv.Seed(t, "a")
	srv.Seed(t, "b")
	ra, rb := srv.Host+"/a:latest", srv.Host+"/b:latest"
	// An image without signature: the subject of b pushed to c.
	_, body := srv.Do(t, "GET", "/v2/b/manifests/latest", "", nil)
	var m struct {
		Config struct {
			Digest string `json:"digest"`
		} `json:"config"`
	}
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	_, cfg := srv.Do(t, "GET", "/v2/b/blobs/"+m.Config.Digest, "", nil)
	srv.PushBlob(t, "c", "application/vnd.oci.image.config.v1+json", cfg)
	srv.PushManifest(t, "c", "latest", "application/vnd.oci.image.manifest.v1+json", body)
	rc := srv.Host + "/c:latest"

	code, out, errOut := runCLI(t, "verify", ra, rb, "-c", a.CertFile)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != ExitOK || len(lines) != 2 || !strings.HasPrefix(lines[0], "VALID    "+srv.Host+"/a@sha256:") || !strings.HasPrefix(lines[1], "VALID    "+srv.Host+"/b@sha256:") {
		t.Fatalf("two signed images: exit %d\n%s\n%s", code, out, errOut)
	}

	code, out, errOut = runCLI(t, "verify", ra, rc, rb, "-c", a.CertFile)
	lines = strings.Split(strings.TrimSpace(out), "\n")
	if code != ExitNotFound || len(lines) != 3 || !strings.HasPrefix(lines[1], "UNSIGNED "+srv.Host+"/c") || !strings.Contains(lines[1], "no signature found") || !strings.HasPrefix(lines[2], "VALID ") {
		t.Fatalf("with an unsigned image: exit %d, want %d\n%s\n%s", code, ExitNotFound, out, errOut)
	}
	if !strings.Contains(errOut, "1 of 3 image(s) not verified") {
		t.Errorf("stderr %q: want the count of images not verified", errOut)
	}

	// --from-file: a file, and stdin.
	list := filepath.Join(t.TempDir(), "images.txt")
	if err := os.WriteFile(list, []byte("# release\n"+ra+"\n\n"+rb+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := runCLI(t, "verify", "--from-file", list, "-c", a.CertFile); code != ExitOK || strings.Count(out, "VALID ") != 2 {
		t.Fatalf("--from-file: exit %d\n%s\n%s", code, out, errOut)
	}
	code, sout, serr := RunString(withVerifyTime(context.Background(), faultreg.Now), ra+"\n"+rc+"\n",
		"verify", "--from-file", "-", "-c", a.CertFile, "--format", "json", srv.Host+"/missing:latest")
	if code != ExitNotFound {
		t.Fatalf("--from-file - --format json: exit %d, want %d\n%s\n%s", code, ExitNotFound, sout, serr)
	}
	dec := json.NewDecoder(strings.NewReader(sout))
	var reps []struct {
		Reference string `json:"reference"`
		Verified  bool   `json:"verified"`
		Error     string `json:"error"`
	}
	for {
		var r struct {
			Reference string `json:"reference"`
			Verified  bool   `json:"verified"`
			Error     string `json:"error"`
		}
		if err := dec.Decode(&r); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		reps = append(reps, r)
	}
	// The arguments first, then the file's.
	if len(reps) != 3 || reps[0].Reference != srv.Host+"/missing:latest" || reps[0].Error != srv.Host+"/missing:latest: not found (check the repository and tag, or push the image first with 'signet copy')" || reps[0].Verified ||
		reps[1].Reference != ra || !reps[1].Verified || reps[1].Error != "" || reps[2].Reference != rc || reps[2].Verified || !strings.Contains(reps[2].Error, "no signature") {
		t.Errorf("JSON reports: %+v", reps)
	}

	// Usage errors: -f with several images, a bad line, nothing listed.
	for _, args := range [][]string{{ra, rb}, {"--from-file", list}, {"--from-file", list, ra}} {
		code, out, errOut := runCLI(t, append([]string{"verify", "-f", "sig.jwt", "-c", a.CertFile}, args...)...)
		if want := "Error: " + errSignatureFileMany.Error() + "\n"; code != ExitUsage || errOut != want || out != "" {
			t.Errorf("-f with %v: exit %d, stdout %q, stderr %q; want %d, %q", args, code, out, errOut, ExitUsage, want)
		}
	}
	bad := filepath.Join(t.TempDir(), "bad.txt")
	os.WriteFile(bad, []byte(ra+"\nfile:manifest.json\n"), 0o644)
	if code, _, errOut := runCLI(t, "verify", "--from-file", bad, "-c", a.CertFile); code != ExitUsage || !strings.Contains(errOut, "line 2") {
		t.Errorf("a bad line: exit %d, want %d naming line 2 (%s)", code, ExitUsage, errOut)
	}
	// --from-file - and --password-stdin cannot share stdin.
	if code, out, errOut := RunString(context.Background(), "secret\n"+ra+"\n", "verify", "--from-file", "-", "-u", "alice", "--password-stdin", "-c", a.CertFile); code != ExitUsage || out != "" ||
		errOut != "Error: --from-file - and --password-stdin both read stdin: list the images in a file, or log in first ('signet login')\n" {
		t.Errorf("--from-file - with --password-stdin: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	// A missing list is named, like every missing local input (exit 2).
	missing := filepath.Join(t.TempDir(), "images.txt")
	if code, _, errOut := runCLI(t, "verify", "--from-file", missing, "-c", a.CertFile); code != ExitUsage || errOut != "Error: --from-file "+missing+" does not exist; check the path\n" {
		t.Errorf("a missing list: exit %d, stderr %q; want %d and the missing-input line", code, errOut, ExitUsage)
	}
	empty := filepath.Join(t.TempDir(), "empty.txt")
	os.WriteFile(empty, []byte("# nothing\n"), 0o644)
	if code, _, errOut := runCLI(t, "verify", "--from-file", empty, "-c", a.CertFile); code != ExitUsage || !strings.Contains(errOut, "lists no image") {
		t.Errorf("an empty list: exit %d, want %d (%s)", code, ExitUsage, errOut)
	}
}

// TestVerifyManyUnresolved: an image that could not be resolved (unknown,
// or its registry refusing the connection) among several gets the report a
// single image gets: no subject (docs/schemas/verify.json requires a digest
// in one), and the explained one-line error, not the transport's chain.
func TestVerifyManyUnresolved(t *testing.T) {
	srv := faultreg.New(t)
	a := srv.Seed(t, "a")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	ra, missing, down := srv.Host+"/a:latest", srv.Host+"/missing:latest", closed+"/x:1"
	wantDown := "cannot connect to registry " + closed + "; is it running (signet registry serve)?"

	code, out, errOut := runCLI(t, "verify", ra, missing, down, "-c", a.CertFile, "--format", "json")
	if code != ExitNotFound {
		t.Fatalf("exit %d, want %d\n%s\n%s", code, ExitNotFound, out, errOut)
	}
	dec := json.NewDecoder(strings.NewReader(out))
	var reps []map[string]any
	for {
		var r map[string]any
		if err := dec.Decode(&r); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		reps = append(reps, r)
	}
	if len(reps) != 3 {
		t.Fatalf("%d reports, want 3\n%s", len(reps), out)
	}
	if _, ok := reps[0]["subject"]; !ok || reps[0]["verified"] != true {
		t.Errorf("the signed image: %v", reps[0])
	}
	for i, want := range []string{missing + ": not found (check the repository and tag, or push the image first with 'signet copy')", wantDown} {
		r := reps[i+1]
		if s, ok := r["subject"]; ok {
			t.Errorf("%v: a subject %v for an image not resolved", r["reference"], s)
		}
		if r["error"] != want || r["verified"] != false {
			t.Errorf("%v: error %q, want %q", r["reference"], r["error"], want)
		}
	}

	code, out, errOut = runCLI(t, "verify", ra, down, "-c", a.CertFile)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != ExitError || len(lines) != 2 || lines[1] != "ERROR    "+down+"  "+wantDown {
		t.Errorf("text: exit %d, want %d; lines %q, want the second %q\n%s", code, ExitError, lines, "ERROR    "+down+"  "+wantDown, errOut)
	}
	// stderr counts the images, as it does for the other classes.
	if want := "Error: 1 of 2 image(s) could not be checked: " + wantDown + "\n"; !strings.HasSuffix(errOut, want) {
		t.Errorf("stderr %q, want it to end with %q", errOut, want)
	}
}

// TestVerifyFileUnresolvedJSON: in file mode too, a MANIFEST that could not
// be resolved (unknown: exit status 4; its registry down: 1) still gets a
// JSON report on stdout, without subject, saying why; a usage error (a
// missing file: MANIFEST) prints none.
func TestVerifyFileUnresolvedJSON(t *testing.T) {
	srv := faultreg.New(t)
	a := srv.Seed(t, "a")
	sig := filepath.Join(t.TempDir(), "sig.jwt")
	if err := os.WriteFile(sig, a.Token, 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	for _, c := range []struct {
		manifest string
		code     int
		err      string
	}{
		{srv.Host + "/a:nope", ExitNotFound, srv.Host + "/a:nope: not found (check the repository and tag, or push the image first with 'signet copy')"},
		{closed + "/a:latest", ExitError, "cannot connect to registry " + closed + "; is it running (signet registry serve)?"},
	} {
		code, out, errOut := runCLI(t, "verify", "-f", sig, "-c", a.CertFile, "--format", "json", c.manifest)
		var rep map[string]any
		if jerr := json.Unmarshal([]byte(out), &rep); jerr != nil || code != c.code {
			t.Errorf("%s: exit %d, want %d; stdout %q (%v); stderr %q", c.manifest, code, c.code, out, jerr, errOut)
			continue
		}
		if _, ok := rep["subject"]; ok || rep["error"] != c.err || rep["verified"] != false || rep["reference"] != c.manifest {
			t.Errorf("%s: report %v, want no subject and error %q", c.manifest, rep, c.err)
		}
	}
	missing := filepath.Join(t.TempDir(), "m.json")
	if code, out, _ := runCLI(t, "verify", "-f", sig, "-c", a.CertFile, "--format", "json", "file:"+missing); code != ExitUsage || out != "" {
		t.Errorf("file: missing: exit %d, stdout %q; want %d and nothing", code, out, ExitUsage)
	}
}
