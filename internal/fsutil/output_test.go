package fsutil

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

const keyPEM = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIHm7Jrbu3vJ0a3yUZtd3FJw9MSUhw1XsC9kz4w7mI+Cz\n-----END PRIVATE KEY-----\n"

// TestWriteFollowsSymlink: -o through a symbolic link replaces the file it
// points at; the link stays a link (a dangling one too).
func TestWriteFollowsSymlink(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "real.json")
	if err := os.WriteFile(real, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.json")
	if err := os.Symlink("real.json", link); err != nil {
		t.Fatal(err)
	}
	if err := (Output{}).Write(link, []byte("new"), 0o644); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("the link was replaced: %v %v", fi.Mode(), err)
	}
	if b, _ := os.ReadFile(real); string(b) != "new" {
		t.Fatalf("target holds %q", b)
	}
	dangling := filepath.Join(dir, "dangling")
	if err := os.Symlink("sub-target", dangling); err != nil {
		t.Fatal(err)
	}
	if err := (Output{}).Write(dangling, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Lstat(dangling); fi.Mode()&os.ModeSymlink == 0 {
		t.Fatal("the dangling link was replaced")
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "sub-target")); string(b) != "x" {
		t.Fatalf("dangling target holds %q", b)
	}
}

// TestWriteDevices: -o /dev/null stays a character device (tests run as
// root in CI containers, where a rename over it would succeed) and a FIFO
// is written through.
func TestWriteDevices(t *testing.T) {
	if err := (Output{}).Write("/dev/null", []byte("discarded"), 0o644); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat("/dev/null")
	if err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		t.Fatalf("/dev/null is now %v (%v)", fi.Mode(), err)
	}
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	got := make(chan string)
	go func() {
		b, _ := os.ReadFile(fifo)
		got <- string(b)
	}()
	if err := WriteFileAtomic(fifo, []byte("through"), 0o644); err != nil {
		t.Fatal(err)
	}
	if s := <-got; s != "through" {
		t.Fatalf("reader got %q", s)
	}
	if fi, _ := os.Lstat(fifo); fi.Mode()&os.ModeNamedPipe == 0 {
		t.Fatalf("fifo is now %v", fi.Mode())
	}
}

// TestWriteRefusesInputsAndKeys: an input of the command (also through a
// symlink or hard link) and an existing private key are refused, and left
// as they were; --force allows the key, never the input.
func TestWriteRefusesInputsAndKeys(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "m.json")
	os.WriteFile(in, []byte("manifest"), 0o644)
	alias := filepath.Join(dir, "alias.json")
	os.Symlink(in, alias)
	hard := filepath.Join(dir, "hard.json")
	os.Link(in, hard)
	for _, p := range []string{in, alias, hard, dir + "/./m.json"} {
		err := (Output{Inputs: []string{in}, Force: true}).Write(p, []byte("sig"), 0o644)
		if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "input") {
			t.Fatalf("%s: %v", p, err)
		}
	}
	if b, _ := os.ReadFile(in); string(b) != "manifest" {
		t.Fatalf("input now %q", b)
	}
	key := filepath.Join(dir, "example.key")
	os.WriteFile(key, []byte("comment\n"+keyPEM), 0o600)
	err := (Output{}).Write(key, []byte("{}"), 0o644)
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("key: %v", err)
	}
	if b, _ := os.ReadFile(key); !strings.Contains(string(b), "PRIVATE KEY") {
		t.Fatal("key overwritten")
	}
	if err := (Output{Force: true}).Write(key, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A certificate or any other file is overwritten as before.
	crt := filepath.Join(dir, "example.crt")
	os.WriteFile(crt, []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), 0o644)
	if err := (Output{}).Write(crt, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := (Output{}).Write(dir, []byte("x"), 0o644); !errors.Is(err, ErrRefused) {
		t.Fatalf("directory: %v", err)
	}
}
