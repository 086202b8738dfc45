package registry

import (
	"bytes"
	"encoding/json"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
)

// TestWalkthroughCurlJQ runs the prototype walkthrough's curl and jq steps
// verbatim (testdata/walkthrough-steps.sh: blob POST and PUT through the
// sed-edited Location, artifact PUT, links GET with jq, blob GET) against
// the embedded registry on a loopback listener, with a real pushed image
// manifest as the subject.
//
// It needs bash, curl, jq and coreutils. CI installs jq
// (apt-get install -y jq); a missing tool fails the test, it never skips.
func TestWalkthroughCurlJQ(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "jq", "sha256sum", "wc", "sed", "grep", "cut"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is required by this test (CI installs it, e.g. apt-get install -y %s): %v", tool, tool, err)
		}
	}
	steps, err := os.ReadFile(filepath.Join("testdata", "walkthrough-steps.sh"))
	must(t, err)

	_, base := newTestRegistry(t, Config{Root: t.TempDir()})
	u, err := url.Parse(base)
	must(t, err)

	// "Push an image to your registry": a real image, pushed by tag.
	manifest := pushDockerImage(t, base, "busybox", "latest", "walkthrough")
	// "Generate image manifest and sign it": the files docker-generate and
	// nv2 produced (the token's content does not matter to the registry).
	dir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, "manifest-to-sign.json"), manifest, 0o644))
	signature := []byte("eyJ0eXAiOiJ4NTA5IiwiYWxnIjoiUlMyNTYifQ.eyJkaWdlc3QiOiJzaGEyNTY6In0.c2lnbmF0dXJl")
	must(t, os.WriteFile(filepath.Join(dir, "manifest-signature.jwt"), signature, 0o644))

	script := `regIp="` + u.Hostname() + `" && \
  regPort="` + u.Port() + `" && \
  registry="$regIp:$regPort" && \
  repo="busybox" && \
  tag="latest" && \
  image="$repo:$tag" && \
  reference="$registry/$image"
manifestFile="manifest-to-sign.json"
signatureFile="manifest-signature.jwt"
` + string(steps) + `
echo "artifactDigest=$artifactDigest"
echo "signatureDigest=$signatureDigest"
`
	cmd := exec.Command("bash", "-e", "-c", script)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	t.Logf("walkthrough output:\n%s", out)
	if err != nil {
		t.Fatalf("walkthrough steps failed: %v", err)
	}

	// The blob GET returned the signature, byte for byte.
	got, err := os.ReadFile(filepath.Join(dir, "retrieved-signature.json"))
	must(t, err)
	if !bytes.Equal(got, signature) {
		t.Fatalf("retrieved signature = %q, want %q", got, signature)
	}
	if !strings.Contains(string(out), "signatureDigest="+digest.FromBytes(signature).String()+"\n") {
		t.Errorf("jq -r '.links[0].config.digest' did not yield the signature digest")
	}
	// The pretty-printed links (`| jq`) were shown.
	if !strings.Contains(string(out), `"nextLink": "not implemented"`) {
		t.Errorf("links output missing from the jq step")
	}

	// The links response has the prototype's exact shape.
	artifact, err := os.ReadFile(filepath.Join(dir, "artifact.json"))
	must(t, err)
	md := digest.FromBytes(manifest).String()
	resp, body := do(t, "GET", base+"/v2/_ext/oci-artifacts/v1/busybox/manifests/"+md+"/links?artifact-type=application/vnd.cncf.notary.v2", "", nil)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("links: %s %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	var compact bytes.Buffer
	must(t, json.Compact(&compact, artifact))
	want := `{"digest":"` + md + `","links":[` + compact.String() + `],"nextLink":"not implemented"}` + "\n"
	if string(body) != want {
		t.Fatalf("links body\n got %s\nwant %s", body, want)
	}
	// By tag: "tag" instead of "digest"; without artifact-type: all types.
	_, body = do(t, "GET", base+"/v2/_ext/oci-artifacts/v1/busybox/manifests/latest/links", "", nil)
	want = `{"tag":"latest","links":[` + compact.String() + `],"nextLink":"not implemented"}` + "\n"
	if string(body) != want {
		t.Fatalf("links by tag\n got %s\nwant %s", body, want)
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
