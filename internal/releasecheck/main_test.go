package main

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// The SHA-256 of the Apache License 2.0 as published at
// https://www.apache.org/licenses/LICENSE-2.0.txt (the file many Go modules
// ship unmodified, e.g. cel.dev/expr).
const apache20SHA256 = "cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30"

func TestLicenseIsTheUnmodifiedApache20Text(t *testing.T) {
	b, err := os.ReadFile("../../LICENSE")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	if got := hex.EncodeToString(sum[:]); got != apache20SHA256 {
		t.Errorf("LICENSE sha256 = %s, want %s (the Apache License 2.0 text, unmodified; the copyright notice belongs in NOTICE)", got, apache20SHA256)
	}
	notice, err := os.ReadFile("../../NOTICE")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(notice, []byte("Copyright")) || !bytes.Contains(notice, []byte("The signet Authors")) {
		t.Errorf("NOTICE has no copyright line for The signet Authors:\n%s", notice)
	}
}

// fakeRepo writes a repository with the files the check reads.
func fakeRepo(t *testing.T) string {
	repo := t.TempDir()
	for name, data := range map[string]string{
		"LICENSE":                 "Apache License\n",
		"docs/architecture.md":    "# architecture\n",
		"docs/cli/README.md":      "# reference\n",
		"docs/cli/signet.md":      "## signet\n",
		"docs/cli/signet_sign.md": "## signet sign\n",
		"docs/schemas/x.json":     "{}\n",
	} {
		write(t, filepath.Join(repo, name), []byte(data))
	}
	return repo
}

func write(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// goodEntries is what a complete archive for goos holds.
func goodEntries(goos string) map[string]entry {
	bin, magic := "signet", "\x7fELF"
	if goos == "windows" {
		bin, magic = "signet.exe", "MZ"
	}
	e := map[string]entry{
		bin:                       {0o755, []byte(magic + "...")},
		"LICENSE":                 {0o644, []byte("Apache License\n")},
		"NOTICE":                  {0o644, []byte("Copyright The signet Authors\n")},
		"README.md":               {0o644, []byte("# signet\n")},
		"docs/architecture.md":    {0o644, []byte("# architecture\n")},
		"docs/cli/README.md":      {0o644, []byte("# reference\n")},
		"docs/cli/signet.md":      {0o644, []byte("## signet\n")},
		"docs/cli/signet_sign.md": {0o644, []byte("## signet sign\n")},
		"docs/schemas/x.json":     {0o644, []byte("{}\n")},
		"man/man1/signet.1":       {0o644, []byte(".nh\n.TH \"SIGNET\" \"1\"\n")},
		"man/man1/signet-sign.1":  {0o644, []byte(".nh\n.TH \"SIGNET-SIGN\" \"1\"\n")},
	}
	for f, head := range completions {
		e[f] = entry{0o644, []byte(head + "\n...")}
	}
	return e
}

// goodSBOM is a CycloneDX document, as cyclonedx-gomod writes it, for the
// archive name.
func goodSBOM(name string) string {
	p := platformOf(name)
	return `{"bomFormat":"CycloneDX","specVersion":"1.6",
"metadata":{"component":{"name":"github.com/signet-oci/signet",
"purl":"pkg:golang/github.com/signet-oci/signet@v0.0.1-next?goarch=` + p[1] + `&goos=` + p[0] + `&type=module#cmd/signet"}},
"components":[{"name":"oras.land/oras-go/v2"},{"name":"github.com/notaryproject/notation-go"}]}`
}

// writeDist writes one archive per platform, their SBOMs and checksums.txt.
func writeDist(t *testing.T, archives map[string]map[string]entry) string {
	dist := t.TempDir()
	var sums []string
	names := make([]string, 0, len(archives))
	for name := range archives {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		var b []byte
		if strings.HasSuffix(name, ".zip") {
			b = zipBytes(t, archives[name])
		} else {
			b = tarGzBytes(t, archives[name])
		}
		write(t, filepath.Join(dist, name), b)
		write(t, filepath.Join(dist, name+".sbom.json"), []byte(goodSBOM(name)))
		sum := sha256.Sum256(b)
		sums = append(sums, hex.EncodeToString(sum[:])+"  "+name)
	}
	write(t, filepath.Join(dist, "checksums.txt"), []byte(strings.Join(sums, "\n")+"\n"))
	return dist
}

func tarGzBytes(t *testing.T, entries map[string]entry) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for name, e := range entries {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: int64(e.mode), Size: int64(len(e.data)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(e.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func zipBytes(t *testing.T, entries map[string]entry) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, e := range entries {
		h := &zip.FileHeader{Name: name, Method: zip.Deflate}
		h.SetMode(e.mode)
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(e.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

const (
	linuxTar   = "signet_0.0.1-next_linux_amd64.tar.gz"
	darwinTar  = "signet_0.0.1-next_darwin_arm64.tar.gz"
	windowsZip = "signet_0.0.1-next_windows_amd64.zip"
)

func completeDist() map[string]map[string]entry {
	darwin := goodEntries("darwin")
	darwin["signet"] = entry{0o755, []byte("\xcf\xfa\xed\xfe...")}
	return map[string]map[string]entry{
		linuxTar:   goodEntries("linux"),
		darwinTar:  darwin,
		windowsZip: goodEntries("windows"),
	}
}

func TestCompleteArchivesPass(t *testing.T) {
	names, problems := checkDist(writeDist(t, completeDist()), fakeRepo(t))
	if len(problems) > 0 {
		t.Fatalf("problems in complete archives:\n%s", strings.Join(problems, "\n"))
	}
	if want := []string{darwinTar, linuxTar, windowsZip}; fmt.Sprint(names) != fmt.Sprint(want) {
		t.Errorf("checked %v, want %v", names, want)
	}
}

// Each required file, removed from one archive, is reported by name for
// that archive alone.
func TestMissingFileIsReported(t *testing.T) {
	for _, tc := range []struct{ archive, remove, want string }{
		{linuxTar, "signet", "missing the binary signet"},
		{windowsZip, "signet.exe", "missing the binary signet.exe"},
		{linuxTar, "LICENSE", "missing LICENSE"},
		{windowsZip, "LICENSE", "missing LICENSE"},
		{linuxTar, "NOTICE", "missing NOTICE"},
		{linuxTar, "README.md", "missing README.md"},
		{linuxTar, "docs/architecture.md", "missing docs/architecture.md"},
		{windowsZip, "docs/schemas/x.json", "missing docs/schemas/x.json"},
		{linuxTar, "completions/signet.bash", "missing the completion script completions/signet.bash"},
		{linuxTar, "completions/signet.zsh", "missing the completion script completions/signet.zsh"},
		{darwinTar, "completions/signet.fish", "missing the completion script completions/signet.fish"},
		{windowsZip, "completions/signet.ps1", "missing the completion script completions/signet.ps1"},
		{linuxTar, "man/man1/signet.1", "missing the man page man/man1/signet.1"},
		{windowsZip, "man/man1/signet-sign.1", "missing the man page man/man1/signet-sign.1"},
	} {
		t.Run(tc.archive+"/"+tc.remove, func(t *testing.T) {
			dist := completeDist()
			if _, ok := dist[tc.archive][tc.remove]; !ok {
				t.Fatalf("test setup: %s has no %s", tc.archive, tc.remove)
			}
			delete(dist[tc.archive], tc.remove)
			_, problems := checkDist(writeDist(t, dist), fakeRepo(t))
			want := tc.archive + ": " + tc.want
			if len(problems) != 1 || problems[0] != want {
				t.Errorf("problems = %q, want [%q]", problems, want)
			}
		})
	}
}

func TestWrongContentIsReported(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(d map[string]map[string]entry)
		want   string
	}{
		{"edited license", func(d map[string]map[string]entry) {
			d[linuxTar]["LICENSE"] = entry{0o644, []byte("MIT License\n")}
		}, linuxTar + ": LICENSE differs from the repository's LICENSE"},
		{"binary not executable", func(d map[string]map[string]entry) {
			d[linuxTar]["signet"] = entry{0o644, []byte("\x7fELF...")}
		}, linuxTar + ": signet is not executable (mode -rw-r--r--)"},
		{"linux binary in the darwin archive", func(d map[string]map[string]entry) {
			d[darwinTar]["signet"] = entry{0o755, []byte("\x7fELF...")}
		}, darwinTar + ": signet is not a darwin executable"},
		{"empty completion script", func(d map[string]map[string]entry) {
			d[windowsZip]["completions/signet.zsh"] = entry{0o644, nil}
		}, windowsZip + `: completions/signet.zsh does not start with "#compdef signet"`},
		{"man page is markdown", func(d map[string]map[string]entry) {
			d[linuxTar]["man/man1/signet-sign.1"] = entry{0o644, []byte("## signet sign\n")}
		}, linuxTar + ": man/man1/signet-sign.1 is not a man page (no .TH line)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dist := completeDist()
			tc.change(dist)
			_, problems := checkDist(writeDist(t, dist), fakeRepo(t))
			if len(problems) != 1 || problems[0] != tc.want {
				t.Errorf("problems = %q, want [%q]", problems, tc.want)
			}
		})
	}
}

func TestSBOMAndChecksumsAreChecked(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(dist string)
		want   string
	}{
		{"no SBOM", func(dist string) {
			os.Remove(filepath.Join(dist, linuxTar+".sbom.json"))
		}, linuxTar + ": SBOM: missing " + linuxTar + ".sbom.json"},
		{"SPDX instead of CycloneDX", func(dist string) {
			write(t, filepath.Join(dist, windowsZip+".sbom.json"), []byte(`{"spdxVersion":"SPDX-2.3"}`))
		}, windowsZip + ": SBOM: " + windowsZip + `.sbom.json: bomFormat is "", want CycloneDX`},
		{"SBOM without oras-go", func(dist string) {
			write(t, filepath.Join(dist, darwinTar+".sbom.json"), []byte(strings.Replace(goodSBOM(darwinTar), "oras.land/oras-go/v2", "other", 1)))
		}, darwinTar + ": SBOM: " + darwinTar + ".sbom.json does not list the dependency oras.land/oras-go/v2"},
		{"SBOM of another platform", func(dist string) {
			write(t, filepath.Join(dist, windowsZip+".sbom.json"), []byte(goodSBOM(linuxTar)))
		}, windowsZip + ": SBOM: " + windowsZip + `.sbom.json: signet's purl "pkg:golang/github.com/signet-oci/signet@v0.0.1-next?goarch=amd64&goos=linux&type=module#cmd/signet" is not for windows/amd64`},
		{"archive changed after checksumming", func(dist string) {
			f, err := os.OpenFile(filepath.Join(dist, linuxTar), os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.Write(make([]byte, 512))
			f.Close()
		}, ""},
		{"archive not in checksums.txt", func(dist string) {
			b, _ := os.ReadFile(filepath.Join(dist, "checksums.txt"))
			var keep []string
			for _, l := range strings.Split(string(b), "\n") {
				if !strings.HasSuffix(l, windowsZip) {
					keep = append(keep, l)
				}
			}
			write(t, filepath.Join(dist, "checksums.txt"), []byte(strings.Join(keep, "\n")))
		}, windowsZip + ": checksums.txt: no line for " + windowsZip},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dist := writeDist(t, completeDist())
			tc.change(dist)
			_, problems := checkDist(dist, fakeRepo(t))
			if tc.want == "" { // checksum mismatch: the hex varies
				if len(problems) != 1 || !strings.HasPrefix(problems[0], linuxTar+": checksums.txt: sha256 is ") {
					t.Errorf("problems = %q, want one checksum mismatch for %s", problems, linuxTar)
				}
				return
			}
			if len(problems) != 1 || problems[0] != tc.want {
				t.Errorf("problems = %q, want [%q]", problems, tc.want)
			}
		})
	}
}

func TestEmptyDistIsAnError(t *testing.T) {
	dist := t.TempDir()
	_, problems := checkDist(dist, fakeRepo(t))
	if want := dist + ": no signet_*.tar.gz or signet_*.zip archives"; len(problems) != 1 || problems[0] != want {
		t.Errorf("problems = %q, want [%q]", problems, want)
	}
}
