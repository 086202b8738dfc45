package testscripts

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/signet-oci/signet/internal/cli"
	"github.com/signet-oci/signet/internal/testimage"
	"github.com/signet-oci/signet/internal/testtool"
)

// TestDockerGenerateIdentity: for `docker save` tarballs (the pre-Docker-25
// layout docker-generate v0.1.0 reads) of one to five layers, with an empty
// layer, a layer of 32 MiB and files with odd names, `signet generate
// manifest docker-archive:…` prints exactly the bytes the genuine
// `docker-generate generate manifest < …` prints.
func TestDockerGenerateIdentity(t *testing.T) {
	dg := testtool.Seed(t, testtool.DockerGenerate)
	dir := t.TempDir()

	files := func(tag string, n int) []testimage.File {
		var fs []testimage.File
		fs = append(fs, testimage.File{Name: tag + "/", Mode: 0o755, Dir: true})
		for i := range n {
			fs = append(fs, testimage.File{Name: fmt.Sprintf("%s/file-%d", tag, i), Mode: 0o644, Body: strings.Repeat(tag+" ", 10*(i+1)) + "\n"})
		}
		return fs
	}
	odd := []testimage.File{
		{Name: "with space/", Mode: 0o755, Dir: true},
		{Name: "with space/a file.txt", Mode: 0o644, Body: "space\n"},
		{Name: "ünïcödé/", Mode: 0o755, Dir: true},
		{Name: "ünïcödé/ファイル名.txt", Mode: 0o644, Body: "unicode\n"},
		{Name: `quote"and'apostrophe`, Mode: 0o644, Body: "quotes\n"},
		{Name: `back\slash`, Mode: 0o644, Body: "backslash\n"},
		{Name: "new\nline", Mode: 0o644, Body: "newline\n"},
		{Name: "-dash #hash %percent *star? [bracket]", Mode: 0o600, Body: "glob\n"},
		{Name: strings.Repeat("long-directory-name/", 8), Mode: 0o755, Dir: true},
		{Name: strings.Repeat("long-directory-name/", 8) + strings.Repeat("x", 120), Mode: 0o755, Body: "over 100 characters: a PAX header\n"},
	}
	empty := []testimage.File(nil)

	cases := []struct {
		name   string
		layers [][]testimage.File
		// layerDir names a layer's directory in the tarball (default:
		// the legacy v1 layer ID, as docker save names it).
		layerDir func(i int, id string) string
	}{
		{name: "1-layer", layers: [][]testimage.File{files("a", 1)}},
		{name: "2-layers", layers: [][]testimage.File{files("a", 2), files("b", 1)}},
		{name: "3-layers", layers: [][]testimage.File{files("a", 1), files("b", 2), files("c", 3)}},
		{name: "4-layers", layers: [][]testimage.File{files("a", 1), files("b", 1), files("c", 1), files("d", 1)}},
		{name: "5-layers", layers: [][]testimage.File{files("a", 1), files("b", 2), files("c", 3), files("d", 4), files("e", 5)}},
		{name: "empty-layer-only", layers: [][]testimage.File{empty}},
		{name: "empty-layer-between", layers: [][]testimage.File{files("a", 2), empty, files("c", 1)}},
		{name: "odd-file-names", layers: [][]testimage.File{odd, files("b", 1)}},
		{name: "odd-layer-paths", layers: [][]testimage.File{files("a", 1), files("b", 1)},
			layerDir: func(i int, id string) string { return fmt.Sprintf("layer %d ü (%s)", i, id[:8]) }},
		{name: "big-layer", layers: nil}, // filled below
	}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var layers [][]byte
			if tc.name == "big-layer" {
				layers = [][]byte{testimage.MakeLayer(files("a", 1)), dgBigLayer(t), testimage.MakeLayer(files("c", 1))}
			} else {
				for _, fs := range tc.layers {
					layers = append(layers, dgMakeLayer(t, fs))
				}
			}
			archive := filepath.Join(dir, tc.name+".tar")
			if err := os.WriteFile(archive, dgLegacyArchive(t, layers, tc.layerDir), 0o644); err != nil {
				t.Fatal(err)
			}
			want := dgRun(t, dg, archive)
			if !bytes.HasPrefix(want, []byte("{\n   \"schemaVersion\": 2,")) || bytes.Count(want, []byte(`"digest": "sha256:`)) != len(layers)+1 {
				t.Fatalf("docker-generate printed something unexpected:\n%s", want)
			}
			var got []byte
			if tc.name == "big-layer" && dgRaceEnabled {
				// gzip of 32 MiB under the race detector takes a minute:
				// run the signet binary built without it.
				got = dgSignetBinaryManifest(t, "docker-archive:"+archive)
			} else {
				got = dgSignetManifest(t, "docker-archive:"+archive)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("signet generate manifest differs from docker-generate:\n--- signet (%d bytes)\n%s\n--- docker-generate (%d bytes)\n%s", len(got), got, len(want), want)
			}
		})
	}

	// A Docker 25+ `docker save` tarball (an OCI layout inside): the
	// genuine docker-generate v0.1.0 cannot read it and prints empty
	// descriptors with exit status 0; signet prints the manifest the
	// tarball holds. Recorded here (docs/interop.md).
	t.Run("docker25-archive", func(t *testing.T) {
		archive := filepath.Join("..", "testdata", "docker-archive", "oci.tar")
		dgOut := dgRun(t, dg, archive)
		if !bytes.Contains(dgOut, []byte(`"config": {}`)) {
			t.Errorf("docker-generate on a Docker 25 archive: expected its empty descriptors, got:\n%s", dgOut)
		}
		if got, want := dgSignetManifest(t, "docker-archive:"+archive), testimage.New().Docker25Manifest(); !bytes.Equal(got, want) {
			t.Errorf("signet generate manifest on a Docker 25 archive:\n%s\nwant the manifest it holds:\n%s", got, want)
		}
	})

	// The fixtures: testdata/docker-archive/legacy.tar, and the bytes
	// recorded in testdata/docker-generate/legacy-manifest.json.
	t.Run("fixture", func(t *testing.T) {
		archive := filepath.Join("..", "testdata", "docker-archive", "legacy.tar")
		want := dgRun(t, dg, archive)
		recorded, err := os.ReadFile(filepath.Join("..", "testdata", "docker-generate", "legacy-manifest.json"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(want, recorded) {
			t.Errorf("docker-generate's bytes differ from testdata/docker-generate/legacy-manifest.json:\n%s", want)
		}
		if got := dgSignetManifest(t, "docker-archive:"+archive); !bytes.Equal(got, want) {
			t.Errorf("signet generate manifest differs from docker-generate:\n%s\n%s", got, want)
		}
	})
}

// dgMakeLayer is testimage.MakeLayer letting archive/tar pick the header
// format (PAX for names USTAR cannot hold: non-ASCII, newlines, long).
func dgMakeLayer(t *testing.T, files []testimage.File) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		hdr := &tar.Header{Name: f.Name, Mode: f.Mode, ModTime: testimage.Epoch, Uname: "root", Gname: "root", Typeflag: tar.TypeReg, Size: int64(len(f.Body))}
		if f.Dir {
			hdr.Typeflag, hdr.Size = tar.TypeDir, 0
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(f.Body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// dgRun runs `docker-generate generate manifest < archive`.
func dgRun(t *testing.T, bin, archive string) []byte {
	t.Helper()
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out, errb bytes.Buffer
	cmd := exec.Command(bin, "generate", "manifest")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = f, &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("docker-generate generate manifest < %s: %v\n%s", archive, err, errb.String())
	}
	return out.Bytes()
}

// dgSignetManifest runs `signet generate manifest SRC` in-process and returns
// its stdout.
func dgSignetManifest(t *testing.T, src string) []byte {
	t.Helper()
	code, out, errb := cli.RunString(context.Background(), "", "generate", "manifest", src)
	if code != 0 {
		t.Fatalf("signet generate manifest %s: exit %d\n%s", src, code, errb)
	}
	return []byte(out)
}

// dgSignetBinaryManifest runs `signet generate manifest SRC` with a signet
// binary built (without -race) for this test.
func dgSignetBinaryManifest(t *testing.T, src string) []byte {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "signet")
	build := exec.Command("go", "build", "-o", bin, "github.com/signet-oci/signet/cmd/signet")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build signet: %v\n%s", err, out)
	}
	var out, errb bytes.Buffer
	cmd := exec.Command(bin, "generate", "manifest", src)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("signet generate manifest %s: %v\n%s", src, err, errb.String())
	}
	return out.Bytes()
}

// dgBigLayer is a 32 MiB layer (one file of deterministic bytes, alternately
// random and text 4 KiB blocks), built once per test binary.
func dgBigLayer(t *testing.T) []byte {
	t.Helper()
	if dgBigLayerBytes == nil {
		const size, block = 32 << 20, 4096
		body := make([]byte, size)
		rnd := rand.NewChaCha8([32]byte{'s', 'i', 'g', 'n', 'e', 't'})
		text := bytes.Repeat([]byte("signet docker-generate manifest\n"), block/32+1)[:block]
		for i := 0; i < size; i += block {
			if (i/block)%2 == 0 {
				_, _ = rnd.Read(body[i : i+block]) // incompressible
			} else {
				copy(body[i:i+block], text) // compressible
			}
		}
		dgBigLayerBytes = testimage.MakeLayer([]testimage.File{
			{Name: "big/", Mode: 0o755, Dir: true},
			{Name: "big/blob.bin", Mode: 0o644, Body: string(body)},
		})
	}
	return dgBigLayerBytes
}

var dgBigLayerBytes []byte

// dgLegacyArchive returns a `docker save` tarball (the pre-Docker-25 layout:
// manifest.json, repositories, <config>.json, <dir>/layer.tar, VERSION and
// json per layer) of an image with layers (uncompressed tars).
func dgLegacyArchive(t *testing.T, layers [][]byte, layerDir func(i int, id string) string) []byte {
	t.Helper()
	var diffIDs []string
	for _, l := range layers {
		diffIDs = append(diffIDs, digest.FromBytes(l).String())
	}
	config, err := json.Marshal(map[string]any{
		"architecture": "amd64",
		"os":           "linux",
		"created":      testimage.Epoch,
		"config":       map[string]any{"Env": []string{"PATH=/bin"}},
		"rootfs":       map[string]any{"type": "layers", "diff_ids": diffIDs},
	})
	if err != nil {
		t.Fatal(err)
	}
	configName := digest.FromBytes(config).Encoded() + ".json"
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	add := func(name string, body []byte, dir bool) {
		hdr := &tar.Header{Name: name, Mode: 0o644, ModTime: testimage.Epoch, Typeflag: tar.TypeReg, Size: int64(len(body))}
		if dir {
			hdr.Typeflag, hdr.Mode, hdr.Size = tar.TypeDir, 0o755, 0
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(body); err != nil {
			t.Fatal(err)
		}
	}
	var paths []string
	parent := ""
	for i, l := range layers {
		id := digest.FromString(parent + " " + diffIDs[i]).Encoded()
		d := id
		if layerDir != nil {
			d = layerDir(i, id)
		}
		add(d+"/", nil, true)
		add(d+"/VERSION", []byte("1.0"), false)
		add(d+"/json", []byte(fmt.Sprintf(`{"id":%q,"os":"linux"}`, id)), false)
		add(d+"/layer.tar", l, false)
		paths = append(paths, d+"/layer.tar")
		parent = id
	}
	add(configName, config, false)
	mj, err := json.Marshal([]map[string]any{{"Config": configName, "RepoTags": []string{"busybox:latest"}, "Layers": paths}})
	if err != nil {
		t.Fatal(err)
	}
	add("manifest.json", append(mj, '\n'), false)
	add("repositories", []byte(`{"busybox":{"latest":"`+parent+`"}}`+"\n"), false)
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
