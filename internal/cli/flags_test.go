package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// Every command with --format checks it before doing anything, through its
// flag group: a bogus format is a usage error naming the allowed set. The
// list must name every such command (a new one fails the test until added).
func TestEveryFormatFlagIsChecked(t *testing.T) {
	dir := t.TempDir()
	p := func(n string) string { return filepath.Join(dir, n) }
	cases := map[string][]string{
		"signet version":          {"version"},
		"signet copy":             {"copy", "oci-layout:" + p("a"), "oci-layout:" + p("b")},
		"signet discover":         {"discover", "127.0.0.1:1/x:y"},
		"signet verify":           {"verify", "127.0.0.1:1/x:y", "-c", p("c.crt")},
		"signet sign":             {"sign", "-k", p("k"), "file:" + p("m")},
		"signet push-signature":   {"push-signature", "--signature", p("s"), "127.0.0.1:1/x:y"},
		"signet pull-signature":   {"pull-signature", "127.0.0.1:1/x:y"},
		"signet generate cert":    {"generate", "cert", "--key-out", p("k"), "--cert-out", p("c")},
		"signet delete-signature": {"delete-signature", "127.0.0.1:1/x:y", "--artifact", "sha256:0000000000000000000000000000000000000000000000000000000000000000", "--yes"},
	}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Flags().Lookup("format") != nil {
			if _, ok := cases[c.CommandPath()]; !ok {
				t.Errorf("%s has --format but is not in this test", c.CommandPath())
			}
		}
		for _, k := range c.Commands() {
			walk(k)
		}
	}
	walk(NewRootCmd(IOStreams{}))
	for name, args := range cases {
		code, out, errOut := runCLI(t, append(args, "--format", "yaml")...)
		if code != ExitUsage || out != "" || !strings.Contains(errOut, `Error: --format "yaml" is not one of `) {
			t.Errorf("%s --format yaml: exit %d, stdout %q, stderr %q; want 2 and the allowed formats", name, code, out, errOut)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Errorf("%s --format yaml left %d file(s) in %s", name, len(entries), dir)
		}
	}
}

func TestFormatAndOutputFlags(t *testing.T) {
	// --format json: JSON, no warning.
	code, out, errOut := runCLI(t, "version", "--format", "json")
	var v struct{ Version string }
	if code != 0 || json.Unmarshal([]byte(out), &v) != nil || v.Version == "" || errOut != "" {
		t.Fatalf("version --format json: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	// The deprecated --output json: the same JSON, and a warning.
	code, out2, errOut := runCLI(t, "version", "--output", "json")
	if code != 0 || out2 != out || errOut != "Warning: --output json selecting the output format is deprecated; use --format json (-o/--output names the output file)\n" {
		t.Fatalf("version --output json: exit %d, stdout %q, stderr %q", code, out2, errOut)
	}
	// A command that writes no file: --output PATH is a usage error.
	code, out, errOut = runCLI(t, "version", "--output", "v.txt")
	if code != ExitUsage || out != "" || errOut != "Error: --output \"v.txt\" is not one of text, json (signet version writes no file; the output format is --format)\n" {
		t.Fatalf("version --output v.txt: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	// A format the command does not have, through the old spelling.
	code, _, errOut = runCLI(t, "version", "--output", "tree")
	if code != ExitUsage || !strings.HasSuffix(errOut, "Error: --output \"tree\" is not one of text, json\n") {
		t.Fatalf("version --output tree: exit %d, stderr %q", code, errOut)
	}
	// --format and the old --output naming different formats.
	code, _, errOut = runCLI(t, "version", "--format", "text", "--output", "json")
	if code != ExitUsage || errOut != "Error: --format text and --output json disagree: give the format with --format only\n" {
		t.Fatalf("version --format text --output json: exit %d, stderr %q", code, errOut)
	}

	// sign: -o FILE writes the file; -o json selects the format (with
	// the warning) and writes no file named json; --output-file still
	// names the file, with a warning.
	dir := t.TempDir()
	p := func(n string) string { return filepath.Join(dir, n) }
	if code, _, errOut := runCLI(t, "generate", "cert", "--key-out", p("k"), "--cert-out", p("c"), "--ip", "127.0.0.1"); code != 0 {
		t.Fatalf("generate cert: exit %d: %s", code, errOut)
	}
	manifest := `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}`
	if err := os.WriteFile(p("m.json"), []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	sign := func(extra ...string) (int, string, string) {
		return runCLI(t, append([]string{"sign", "-k", p("k"), "-c", p("c"), "-r", "127.0.0.1:5000/x:y", "file:" + p("m.json")}, extra...)...)
	}
	code, out, errOut = sign("-o", p("sig.jwt"))
	if code != 0 || !strings.HasPrefix(out, "sha256:") {
		t.Fatalf("sign -o sig.jwt: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if b, err := os.ReadFile(p("sig.jwt")); err != nil || len(b) == 0 {
		t.Fatalf("sign -o sig.jwt wrote nothing: %v", err)
	}
	t.Chdir(dir)
	code, out, errOut = sign("-o", "json")
	var s map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &s) != nil || !strings.Contains(errOut, "Warning: --output json selecting the output format is deprecated; use --format json") {
		t.Fatalf("sign -o json: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if _, err := os.Stat(p("json")); err == nil {
		t.Fatal("sign -o json wrote a file named json")
	}
	code, _, errOut = sign("--output-file", p("old.jwt"))
	if code != 0 || !strings.Contains(errOut, "Warning: --output-file is deprecated; use -o/--output\n") {
		t.Fatalf("sign --output-file: exit %d, stderr %q", code, errOut)
	}
	if b, err := os.ReadFile(p("old.jwt")); err != nil || len(b) == 0 {
		t.Fatalf("sign --output-file old.jwt wrote nothing: %v", err)
	}
	// generate artifact has no --format: -o json is a file named json.
	code, out, errOut = runCLI(t, "generate", "artifact", "--signature", p("sig.jwt"), "--manifest", p("m.json"), "-o", "json")
	if code != 0 || !strings.HasPrefix(out, "sha256:") || errOut != "" {
		t.Fatalf("generate artifact -o json: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if b, err := os.ReadFile(p("json")); err != nil || !strings.Contains(string(b), "application/vnd.cncf.notary.v2") {
		t.Fatalf("generate artifact -o json: %v %q", err, b)
	}
}
