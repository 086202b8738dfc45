// Package testtool finds the external programs signet's tests run against:
// the genuine 2021 tools and the notation CLI (built by `make seed-tools`
// into bin/seed-tools, or wherever $SIGNET_SEED_TOOLS points), the
// distribution registry and the oras CLI (installed by `make tools` into
// bin/tools).
//
// A test that needs a program it cannot find is skipped with a message that
// names the program and the one command that provides it; under CI=true it
// fails instead, so that CI never passes by skipping.
package testtool

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// The genuine seed tools (../shared/seed-tools) and the notation CLI.
const (
	ProtoRegistry  = "proto-registry"
	NV2            = "nv2"
	NV2Fixed       = "nv2-fixed"
	DockerGenerate = "docker-generate"
	Notation       = "notation"
)

// CI reports whether the tests run under CI (CI=true), where a missing tool
// is a failure, never a skip.
func CI() bool { return os.Getenv("CI") == "true" }

// Missing skips t with why and hint (how to provide what is missing), or
// fails it under CI=true.
func Missing(t testing.TB, why, hint string) {
	t.Helper()
	msg := why + "; " + hint
	if CI() {
		t.Fatalf("%s (CI=true: a missing tool fails, never skips)", msg)
	}
	t.Skip(msg)
}

// SeedDir is the directory holding the seed tools: $SIGNET_SEED_TOOLS, or
// bin/seed-tools in the module root.
func SeedDir() string {
	if d := os.Getenv("SIGNET_SEED_TOOLS"); d != "" {
		return d
	}
	if root := moduleRoot(); root != "" {
		return filepath.Join(root, "bin", "seed-tools")
	}
	return ""
}

// Seed returns the path of the seed tool name (ProtoRegistry, NV2, …),
// skipping t (failing it under CI=true) when it is not built.
func Seed(t testing.TB, name string) string {
	t.Helper()
	dir := SeedDir()
	p := filepath.Join(dir, name)
	if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
		return p
	}
	Missing(t, name+" is not built (looked in "+dir+")",
		"'make seed-tools' builds it (the 2021 tools need ../shared/seed-tools; notation and docker-generate come from the Go module proxy)")
	return ""
}

// Tool returns the path of an installed program: $env when set, else
// bin/tools/name in the module root, else name on PATH; it skips t (fails it
// under CI=true) when there is none.
func Tool(t testing.TB, name, env string) string {
	t.Helper()
	if env != "" {
		if p := os.Getenv(env); p != "" {
			return p
		}
	}
	if root := moduleRoot(); root != "" {
		p := filepath.Join(root, "bin", "tools", name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	Missing(t, name+" is not installed", "'make tools' installs it into bin/tools")
	return ""
}

// moduleRoot is the nearest directory above the working directory that
// holds go.mod ("" if none).
func moduleRoot() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}
