package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signet-oci/signet/internal/faultreg"
)

// TestUsageExitStatuses: each of these is a mistake in the command line:
// exit 2 and one line saying what to write instead; nothing on stdout.
func TestUsageExitStatuses(t *testing.T) {
	dir := t.TempDir()
	cert := func(days string) []string {
		return []string{"generate", "cert", "--key-out", filepath.Join(dir, days+".key"), "--cert-out", filepath.Join(dir, days+".crt"), "--days", days}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"registry", "gc"}, `unknown command "gc" for "signet registry"`},
		{[]string{"registry", "serv"}, "did you mean 'signet registry serve'"},
		{[]string{"generate", "bogus"}, "its commands are artifact, cert, manifest"},
		{[]string{"completion", "tcsh"}, `unknown command "tcsh" for "signet completion"`},
		{[]string{"completion", "zhs"}, "did you mean 'signet completion zsh'"},
		{[]string{"registry", "serve", "--memory", "--addr", "127.0.0.1:99999"}, `--addr "127.0.0.1:99999": give host:port`},
		{[]string{"registry", "serve", "--memory", "--addr", "127.0.0.1"}, `--addr "127.0.0.1": give host:port`},
		{[]string{"registry", "serve", "--memory", "--addr", "127.0.0.1:abc"}, `--addr "127.0.0.1:abc": give host:port`},
		{[]string{"registry", "serve", "--memory", "--addr", "127.0.0.1:0", "--htpasswd", "/nonexistent/htpasswd"}, "htpasswd file /nonexistent/htpasswd does not exist; check the path"},
		{[]string{"registry", "serve", "--memory", "--addr", "127.0.0.1:0", "--tls-cert", "/nonexistent/c.pem", "--tls-key", "/nonexistent/k.pem"}, "TLS certificate /nonexistent/c.pem does not exist; check the path"},
		{[]string{"help", "verfy"}, `unknown command "verfy" for "signet"; did you mean 'signet verify'`},
		{[]string{"help", "generate", "bogus"}, "its commands are artifact, cert, manifest"},
		{[]string{"sgin"}, "did you mean 'signet sign'"},
		{cert("-1"), "--days -1: give 1 or more"},
		{cert("0"), "--days 0: give 1 or more"},
		{[]string{"discover", "127.0.0.1:1/busybox:latest", "--max-referrers", "0"}, "--max-referrers 0"},
		{[]string{"verify", "127.0.0.1:1/busybox:latest", "-c", "x.crt", "--max-referrers", "0"}, "--max-referrers 0"},
		{[]string{"pull-signature", "127.0.0.1:1/busybox:latest", "--max-signatures", "0"}, "--max-signatures 0"},
		// notation's x509.subject rules, for every signature format: refused
		// before any request, not after as a verdict (exit 3)
		{[]string{"verify", "127.0.0.1:1/busybox:latest", "-c", "x.crt", "--identity", "CN=127.0.0.1"}, `--identity: distinguished name "CN=127.0.0.1" has no C attribute; at least C, ST and O are needed`},
		{[]string{"verify", "127.0.0.1:1/busybox:latest", "-c", "x.crt", "--identity", "C=US, ST=WA, O=A, C=DE"}, `has C more than once`},
		{[]string{"delete-signature", "127.0.0.1:1/busybox:latest", "--all-invalid", "--yes", "-c", "x.crt", "--identity", "CN=x"}, `--identity: distinguished name "CN=x" has no C attribute`},
		{[]string{"pull-signature", "127.0.0.1:1/busybox:latest", "--max-referrers", "0"}, "--max-referrers 0"},
		{[]string{"discover", "127.0.0.1:1/BusyBox:latest"}, "lowercase: write 127.0.0.1:1/busybox:latest"},
		{[]string{"discover", "127.0.0.1:1/busybox:latest", "--timeout", "-1s"}, "--timeout -1s"},
	} {
		code, out, errOut := runCLI(t, tc.args...)
		if code != ExitUsage || out != "" || !strings.Contains(errOut, tc.want) || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q (want %q)", tc.args, code, out, errOut, tc.want)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("refused commands wrote %v", ents)
	}
	// A group alone prints its help; --version the version.
	if code, out, _ := runCLI(t, "registry"); code != 0 || !strings.Contains(out, "serve") {
		t.Errorf("signet registry: exit %d %q", code, out)
	}
	if code, out, _ := runCLI(t, "help", "generate", "cert"); code != 0 || !strings.HasPrefix(out, "Generate a private key") {
		t.Errorf("signet help generate cert: exit %d %.60q", code, out)
	}
	if code, out, _ := runCLI(t, "completion"); code != 0 || !strings.Contains(out, "powershell") {
		t.Errorf("signet completion: exit %d %q", code, out)
	}
	if code, out, _ := runCLI(t, "completion", "bash"); code != 0 || !strings.HasPrefix(out, "# bash completion V2 for signet") {
		t.Errorf("signet completion bash: exit %d %.60q", code, out)
	}
	code, out, _ := runCLI(t, "--version")
	if code != 0 || !strings.HasPrefix(out, "signet "+Version+" (commit") {
		t.Errorf("--version: exit %d %q", code, out)
	}
	if _, vout, _ := runCLI(t, "version"); vout != out {
		t.Errorf("--version %q and version %q differ", out, vout)
	}
}

// TestMissingInputs: one rule for every local input named on the command
// line (docs/exit-codes.md): one that does not exist is exit 2, whatever
// kind it is; an unknown tag in a layout that exists is exit 4, as in a
// registry.
func TestMissingInputs(t *testing.T) {
	dir := t.TempDir()
	key, crt := keyPair(t, dir)
	m := filepath.Join(dir, "m.json")
	if code, _, errOut := runCLI(t, "generate", "manifest", layoutRef, "-o", m); code != 0 {
		t.Fatal(errOut)
	}
	sig := filepath.Join(dir, "m.jwt")
	if code, _, errOut := runCLI(t, "sign", "-k", key, "-c", crt, "-o", sig, "file:"+m); code != 0 {
		t.Fatal(errOut)
	}
	missing := filepath.Join(dir, "missing")
	for _, args := range [][]string{
		{"copy", "docker-archive:" + missing + ".tar", "oci-layout:" + filepath.Join(dir, "out")},
		{"copy", "oci-layout:" + missing + ":latest", "oci-layout:" + filepath.Join(dir, "out")},
		{"generate", "manifest", "docker-archive:" + missing + ".tar"},
		{"generate", "manifest", "oci-layout:" + missing},
		{"sign", "-k", missing + ".key", "-c", crt, "file:" + m},
		{"sign", "-k", key, "-c", missing + ".crt", "file:" + m},
		{"sign", "-k", key, "-c", crt, "file:" + missing + ".json"},
		{"verify", "-f", sig, "-c", crt, "file:" + missing + ".json"},
		{"verify", "-f", missing + ".jwt", "-c", crt, "file:" + m},
		{"verify", "-f", sig, "-c", missing + ".crt", "file:" + m},
		{"generate", "artifact", "--signature", missing + ".jwt", "--manifest", m},
		{"generate", "artifact", "--signature", sig, "--manifest", missing + ".json"},
		{"push-signature", "--signature", missing + ".jwt", "127.0.0.1:1/busybox"},
		{"push-signature", "--signature", sig, "--manifest", missing + ".json", "127.0.0.1:1/busybox"},
		{"discover", "127.0.0.1:1/busybox:latest", "--ca-file", missing + ".crt"},
		{"verify", "127.0.0.1:1/busybox:latest", "--trust-policy", missing + ".json", "--trust-store", dir},
		{"generate", "cert", "--key-out", filepath.Join(dir, "leaf.key"), "--cert-out", filepath.Join(dir, "leaf.crt"), "--ca-key", missing + ".key", "--ca-cert", crt},
	} {
		code, out, errOut := runCLI(t, args...)
		if code != ExitUsage || out != "" || !strings.Contains(errOut, missing) || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, out, errOut)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "out")); err == nil {
		t.Error("a failed copy left its destination")
	}
	if code, _, errOut := runCLI(t, "generate", "manifest", "oci-layout:../../testdata/oci-layout:nope"); code != ExitNotFound {
		t.Errorf("unknown tag in a layout: exit %d %s", code, errOut)
	}
}

// TestVerifyAndPullMessages: verify's text report names the format once
// ("jwt signature: …", not twice); a referrer bound advises a flag the
// command has; pull-signature writes and prints a signature pushed in two
// artifact formats once, and counts files written; --format json of an
// unknown reference still prints a report.
func TestVerifyAndPullMessages(t *testing.T) {
	srv := faultreg.New(t)
	s := srv.Seed(t, "busybox")
	ref := srv.Host + "/busybox:latest"
	dir := t.TempDir()
	sig := filepath.Join(dir, "seed.jwt")
	os.WriteFile(sig, s.Token, 0o644)
	// The same signature again, as a prototype artifact (links API).
	if code, _, errOut := runCLI(t, "push-signature", "--artifact-format", "prototype", "--signature", sig, ref); code != 0 {
		t.Fatal(errOut)
	}

	other := filepath.Join(corpusDir, "valid-walkthrough-openssl-cert", "trusted-0.pem")
	code, out, errOut := runCLI(t, "verify", ref, "-c", other)
	if code != ExitVerifyFailed || !strings.Contains(out, "jwt signature: ") || strings.Contains(out, "jwt signature: jwt signature") {
		t.Errorf("verify, untrusted: exit %d\n%s%s", code, out, errOut)
	}

	code, out, errOut = runCLI(t, "verify", ref, "-c", s.CertFile, "--max-referrers", "1")
	if code != ExitOK || !strings.Contains(errOut, "--max-referrers") {
		t.Errorf("verify --max-referrers 1: exit %d\n%s%s", code, out, errOut)
	}

	code, out, errOut = runCLI(t, "pull-signature", ref, "-o", filepath.Join(dir, "sigs"))
	lines := strings.Split(strings.TrimSpace(out), "\n")
	ents, _ := os.ReadDir(filepath.Join(dir, "sigs"))
	if code != ExitOK || len(lines) != 1 || len(ents) != 1 || !strings.Contains(errOut, "Wrote 1 signature file(s)") || !strings.Contains(errOut, "from 2 signature artifacts") {
		t.Errorf("pull-signature: exit %d, %d files\n%s%s", code, len(ents), out, errOut)
	}
	code, out, _ = runCLI(t, "pull-signature", ref, "-o", filepath.Join(dir, "sigs"), "--format", "json")
	var pulled struct {
		Signatures []struct {
			Artifacts []any    `json:"artifacts"`
			FoundBy   []string `json:"foundBy"`
		} `json:"signatures"`
	}
	if code != ExitOK || json.Unmarshal([]byte(out), &pulled) != nil || len(pulled.Signatures) != 1 || len(pulled.Signatures[0].Artifacts) != 2 {
		t.Errorf("pull-signature json: exit %d %s", code, out)
	}

	code, out, errOut = runCLI(t, "verify", srv.Host+"/busybox:nope", "-c", s.CertFile, "--format", "json")
	var rep map[string]any
	if code != ExitNotFound || json.Unmarshal([]byte(out), &rep) != nil || rep["verified"] != false || rep["error"] == nil {
		t.Errorf("verify json, unknown reference: exit %d %q %s", code, out, errOut)
	}
	if sigs, ok := rep["signatures"].([]any); !ok || len(sigs) != 0 {
		t.Errorf("signatures = %v, want []", rep["signatures"])
	}
}

// TestDNSFailureMessage: a host name that does not resolve is named as such;
// the advice to start 'signet registry serve' is for localhost only.
func TestDNSFailureMessage(t *testing.T) {
	code, _, errOut := runCLI(t, "discover", "no-such-host.invalid/busybox:latest")
	if code != ExitError || !strings.Contains(errOut, "no-such-host.invalid") || strings.Contains(errOut, "registry serve") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	code, _, errOut = runCLI(t, "discover", "127.0.0.1:1/busybox:latest")
	if code != ExitError || !strings.Contains(errOut, "signet registry serve") {
		t.Fatalf("localhost refused: exit %d: %s", code, errOut)
	}
}
