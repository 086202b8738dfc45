// Command releasecheck checks the release archives goreleaser wrote into a
// dist directory (`make release-check` runs it after a snapshot build):
//
//	go run ./internal/releasecheck [-repo DIR] DIST
//
// Every signet_*.tar.gz and signet_*.zip in DIST must hold the binary for its
// platform (executable, in that platform's object format), LICENSE (the
// repository's, byte for byte), NOTICE, README.md, every file under the
// repository's docs/, the bash, zsh, fish and PowerShell completion scripts
// under completions/, and a man page under man/man1/ for every command that
// docs/cli documents. Beside each archive there must be its SBOM,
// ARCHIVE.sbom.json, a CycloneDX document naming signet's dependencies, and
// checksums.txt must list the archive's SHA-256. Every problem is printed,
// one a line; the exit status is 1 if there is any.
package main

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// maxEntry bounds how much of one archive entry is read into memory.
const maxEntry = 256 << 20

func main() {
	repo := flag.String("repo", ".", "the repository `DIR` the archives were built from")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: go run ./internal/releasecheck [-repo DIR] DIST")
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	archives, problems := checkDist(flag.Arg(0), *repo)
	for _, p := range problems {
		fmt.Fprintln(os.Stderr, "releasecheck: "+p)
	}
	if len(problems) > 0 {
		os.Exit(1)
	}
	fmt.Printf("releasecheck: %d archives hold the binary, LICENSE, NOTICE, README.md, docs/, completions and man pages; each has its SBOM and checksum\n", len(archives))
}

// entry is one regular file in an archive.
type entry struct {
	mode os.FileMode
	data []byte
}

// expectation is what every archive must hold, from the repository.
type expectation struct {
	license  []byte
	docs     []string // paths under docs/, slash-separated, "docs/..."
	manPages []string // "man/man1/signet-sign.1", ...
}

var completions = map[string]string{
	"completions/signet.bash": "# bash completion V2 for signet",
	"completions/signet.zsh":  "#compdef signet",
	"completions/signet.fish": "# fish completion for signet",
	"completions/signet.ps1":  "# powershell completion for signet",
}

func loadExpectation(repo string) (*expectation, error) {
	license, err := os.ReadFile(filepath.Join(repo, "LICENSE"))
	if err != nil {
		return nil, err
	}
	exp := &expectation{license: license}
	err = filepath.WalkDir(filepath.Join(repo, "docs"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(repo, path)
		if err != nil {
			return err
		}
		exp.docs = append(exp.docs, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		return nil, err
	}
	// docs/cli has one page per command (make docs-check keeps it true to
	// the cobra tree); the man pages are generated from the same tree.
	pages, err := filepath.Glob(filepath.Join(repo, "docs", "cli", "signet*.md"))
	if err != nil {
		return nil, err
	}
	if len(pages) == 0 {
		return nil, fmt.Errorf("%s: no command pages in docs/cli", repo)
	}
	for _, p := range pages {
		name := strings.ReplaceAll(strings.TrimSuffix(filepath.Base(p), ".md"), "_", "-")
		exp.manPages = append(exp.manPages, "man/man1/"+name+".1")
	}
	return exp, nil
}

// checkDist checks every archive in dist; it returns the archives' names
// and the problems found.
func checkDist(dist, repo string) ([]string, []string) {
	exp, err := loadExpectation(repo)
	if err != nil {
		return nil, []string{err.Error()}
	}
	var archives []string
	for _, pattern := range []string{"signet_*.tar.gz", "signet_*.zip"} {
		m, err := filepath.Glob(filepath.Join(dist, pattern))
		if err != nil {
			return nil, []string{err.Error()}
		}
		archives = append(archives, m...)
	}
	sort.Strings(archives)
	if len(archives) == 0 {
		return nil, []string{fmt.Sprintf("%s: no signet_*.tar.gz or signet_*.zip archives", dist)}
	}
	sums, err := readChecksums(filepath.Join(dist, "checksums.txt"))
	var problems []string
	if err != nil {
		problems = append(problems, err.Error())
	}
	var names []string
	for _, a := range archives {
		name := filepath.Base(a)
		names = append(names, name)
		for _, p := range checkArchive(a, exp) {
			problems = append(problems, name+": "+p)
		}
		if err := checkSBOM(a+".sbom.json", platformOf(name)); err != nil {
			problems = append(problems, name+": SBOM: "+err.Error())
		}
		if sums != nil {
			if err := checkSum(a, sums[name]); err != nil {
				problems = append(problems, name+": checksums.txt: "+err.Error())
			}
		}
	}
	return names, problems
}

// checkArchive returns what is missing or wrong in one archive.
func checkArchive(path string, exp *expectation) []string {
	name := filepath.Base(path)
	var entries map[string]entry
	var err error
	if strings.HasSuffix(name, ".zip") {
		entries, err = readZip(path)
	} else {
		entries, err = readTarGz(path)
	}
	if err != nil {
		return []string{err.Error()}
	}
	var problems []string
	missing := func(what string) { problems = append(problems, "missing "+what) }

	goos := platformOf(name)[0]
	bin, magic := "signet", []byte{0x7f, 'E', 'L', 'F'}
	switch goos {
	case "windows":
		bin, magic = "signet.exe", []byte("MZ")
	case "darwin":
		magic = []byte{0xcf, 0xfa, 0xed, 0xfe} // 64-bit Mach-O, little endian
	case "linux":
	default:
		problems = append(problems, fmt.Sprintf("cannot tell the platform from the name (want signet_VERSION_OS_ARCH); got OS %q", goos))
	}
	if e, ok := entries[bin]; !ok {
		missing("the binary " + bin)
	} else {
		if !bytes.HasPrefix(e.data, magic) {
			problems = append(problems, fmt.Sprintf("%s is not a %s executable", bin, goos))
		}
		if goos != "windows" && e.mode&0o111 == 0 {
			problems = append(problems, fmt.Sprintf("%s is not executable (mode %v)", bin, e.mode))
		}
	}
	if e, ok := entries["LICENSE"]; !ok {
		missing("LICENSE")
	} else if !bytes.Equal(e.data, exp.license) {
		problems = append(problems, "LICENSE differs from the repository's LICENSE")
	}
	for _, f := range []string{"NOTICE", "README.md"} {
		if e, ok := entries[f]; !ok {
			missing(f)
		} else if len(e.data) == 0 {
			problems = append(problems, f+" is empty")
		}
	}
	for _, f := range exp.docs {
		if _, ok := entries[f]; !ok {
			missing(f)
		}
	}
	for _, f := range sortedKeys(completions) {
		if e, ok := entries[f]; !ok {
			missing("the completion script " + f)
		} else if !bytes.HasPrefix(e.data, []byte(completions[f])) {
			problems = append(problems, fmt.Sprintf("%s does not start with %q", f, completions[f]))
		}
	}
	for _, f := range exp.manPages {
		if e, ok := entries[f]; !ok {
			missing("the man page " + f)
		} else if !bytes.Contains(e.data, []byte("\n.TH ")) && !bytes.HasPrefix(e.data, []byte(".TH ")) {
			problems = append(problems, f+" is not a man page (no .TH line)")
		}
	}
	return problems
}

// platformOf returns the OS and architecture parts of
// signet_VERSION_OS_ARCH.EXT (empty strings if the name has no such parts).
func platformOf(name string) [2]string {
	base := strings.TrimSuffix(strings.TrimSuffix(name, ".zip"), ".tar.gz")
	parts := strings.Split(base, "_")
	if len(parts) < 4 {
		return [2]string{}
	}
	return [2]string{parts[len(parts)-2], parts[len(parts)-1]}
}

func readTarGz(path string) (map[string]entry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("not a gzip file: %w", err)
	}
	tr := tar.NewReader(zr)
	entries := map[string]entry{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return entries, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading the tar listing: %w", err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		data, err := readBounded(tr)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", h.Name, err)
		}
		entries[strings.TrimPrefix(h.Name, "./")] = entry{mode: h.FileInfo().Mode(), data: data}
	}
}

func readZip(path string) (map[string]entry, error) {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return nil, fmt.Errorf("not a zip file: %w", err)
	}
	defer zr.Close()
	entries := map[string]entry{}
	for _, f := range zr.File {
		if f.FileInfo().IsDir() {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.Name, err)
		}
		data, err := readBounded(rc)
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.Name, err)
		}
		entries[f.Name] = entry{mode: f.Mode(), data: data}
	}
	return entries, nil
}

func readBounded(r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxEntry+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxEntry {
		return nil, fmt.Errorf("larger than %d bytes", maxEntry)
	}
	return data, nil
}

// checkSBOM checks that path is a CycloneDX JSON document for signet built
// for the archive's platform (os, arch) that lists its dependencies (oras-go
// and notation-go among them).
func checkSBOM(path string, platform [2]string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		if os.IsNotExist(err) {
			return fmt.Errorf("missing %s", filepath.Base(path))
		}
		return err
	}
	var bom struct {
		BOMFormat string `json:"bomFormat"`
		Metadata  struct {
			Component struct {
				Name string `json:"name"`
				PURL string `json:"purl"`
			} `json:"component"`
		} `json:"metadata"`
		Components []struct {
			Name string `json:"name"`
			PURL string `json:"purl"`
		} `json:"components"`
	}
	if err := json.Unmarshal(b, &bom); err != nil {
		return fmt.Errorf("%s is not JSON: %w", filepath.Base(path), err)
	}
	if bom.BOMFormat != "CycloneDX" {
		return fmt.Errorf("%s: bomFormat is %q, want CycloneDX", filepath.Base(path), bom.BOMFormat)
	}
	if !strings.Contains(bom.Metadata.Component.Name, "signet") {
		return fmt.Errorf("%s describes %q, not signet", filepath.Base(path), bom.Metadata.Component.Name)
	}
	if q := "goarch=" + platform[1] + "&goos=" + platform[0] + "&"; !strings.Contains(bom.Metadata.Component.PURL, q) {
		return fmt.Errorf("%s: signet's purl %q is not for %s/%s", filepath.Base(path), bom.Metadata.Component.PURL, platform[0], platform[1])
	}
	for _, want := range []string{"oras.land/oras-go/v2", "github.com/notaryproject/notation-go"} {
		found := false
		for _, c := range bom.Components {
			if c.Name == want {
				found = true
			}
		}
		if !found {
			return fmt.Errorf("%s does not list the dependency %s", filepath.Base(path), want)
		}
	}
	return nil
}

// readChecksums reads goreleaser's checksums.txt: "HEX  NAME" lines.
func readChecksums(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sums := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 2 {
			sums[fields[1]] = fields[0]
		}
	}
	return sums, sc.Err()
}

func checkSum(path, want string) error {
	if want == "" {
		return fmt.Errorf("no line for %s", filepath.Base(path))
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return fmt.Errorf("sha256 is %s, checksums.txt says %s", got, want)
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
