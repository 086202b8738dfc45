package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/signet-oci/signet/internal/cli"
	"github.com/signet-oci/signet/internal/push"
	"github.com/signet-oci/signet/internal/testimage"
	"github.com/signet-oci/signet/internal/testpki"
	"github.com/signet-oci/signet/internal/testregistry"
	"github.com/signet-oci/signet/pkg/verify"
)

// TestJSONOutputMatchesSchemas runs the walkthrough with real signet
// commands, in-process, against the embedded registry, and checks every
// --format json document against its schema under docs/schemas.
func TestJSONOutputMatchesSchemas(t *testing.T) {
	// proto makes the registry answer like the 2021 prototype registry,
	// whose links API requires an artifact type (set for one run below).
	var proto atomic.Bool
	host := testregistry.Start(t, testregistry.Wrap(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if proto.Load() && strings.Contains(r.URL.Path, "/_ext/oci-artifacts/v1/") && r.URL.Query().Get("artifact-type") == "" {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusBadRequest)
				_, _ = w.Write([]byte(`{"errors":[{"code":"ARTIFACT_TYPE_UNSPECIFIED","message":"manifest link artifact type is not specified"}]}`))
				return
			}
			next.ServeHTTP(w, r)
		})
	})).Host
	dir := t.TempDir()
	p := func(name string) string { return filepath.Join(dir, name) }
	layout := p("layout")
	if err := testimage.WriteOCILayout(layout); err != nil {
		t.Fatal(err)
	}

	// run runs signet and returns stdout; want is the exit status expected.
	run := func(want int, args ...string) []byte {
		t.Helper()
		code, out, errb := cli.RunString(context.Background(), "", args...)
		if code != want {
			t.Fatalf("signet %s: exit status %d, want %d\nstderr: %s", strings.Join(args, " "), code, want, errb)
		}
		return []byte(out)
	}
	checked := map[string]int{}
	check := func(schema string, out []byte) map[string]any {
		t.Helper()
		doc, err := loadSchema(schemaPath(schema))
		if err != nil {
			t.Fatal(err)
		}
		dec := json.NewDecoder(bytes.NewReader(out))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("%s: output is not JSON: %v\n%s", schema, err, out)
		}
		for _, e := range doc.validate(v) {
			t.Errorf("%s: %s", schema, e)
		}
		checked[schema]++
		m, _ := v.(map[string]any)
		return m
	}

	ref := host + "/busybox"
	check("version.json", run(0, "version", "--format", "json"))
	check("copy.json", run(0, "copy", "oci-layout:"+layout+":latest", ref+":latest", "--format", "json"))
	check("generate-cert.json", run(0, "generate", "cert", "--key-out", p("example.key"), "--cert-out", p("example.crt"),
		"--cn", "127.0.0.1", "--org", "example inc", "--ip", "127.0.0.1", "--format", "json"))
	run(0, "generate", "cert", "--key-out", p("other.key"), "--cert-out", p("other.crt"), "--ip", "127.0.0.1")
	manifestDigest := strings.TrimSpace(string(run(0, "generate", "manifest", ref+":latest", "-o", p("manifest-to-sign.json"))))
	subject := ref + "@" + manifestDigest

	// sign: to a file with a reference; inline without one; with expiry.
	check("sign.json", run(0, "sign", "-k", p("example.key"), "-c", p("example.crt"), "-r", ref+":latest",
		"-o", p("manifest-signature.jwt"), "--format", "json", "file:"+p("manifest-to-sign.json")))
	check("sign.json", run(0, "sign", "-k", p("example.key"), "-c", p("example.crt"), "--expiry", "720h",
		"--format", "json", "file:"+p("manifest-to-sign.json")))
	check("sign.json", run(0, "sign", "-k", p("example.key"), "-c", p("example.crt"), "--expiry", "720h",
		"-o", p("oci.jwt"), "--format", "json", subject))
	check("sign.json", run(0, "sign", "-k", p("example.key"), "-c", p("example.crt"), "--signature-format", "jws",
		"-m", "build=42", "-o", p("sig.jws"), "--format", "json", subject))
	// Inline (no -o): the envelope's bytes are in the document, those of a
	// binary COSE envelope base64-encoded (a JSON string would replace
	// bytes that are not UTF-8): their digest is the signature's.
	for _, format := range []string{"jwt", "jws", "cose"} {
		r := check("sign.json", run(0, "sign", "-k", p("example.key"), "-c", p("example.crt"), "--signature-format", format, "--format", "json", subject))
		var env []byte
		if format == "cose" {
			b, err := base64.StdEncoding.DecodeString(fmt.Sprint(r["envelopeBase64"]))
			if err != nil || r["envelope"] != nil {
				t.Fatalf("sign cose inline: envelopeBase64 %v (%v), envelope %v", r["envelopeBase64"], err, r["envelope"])
			}
			env = b
		} else {
			env = []byte(fmt.Sprint(r["envelope"]))
		}
		if sig := r["signature"].(map[string]any); digest.FromBytes(env).String() != sig["digest"] {
			t.Errorf("sign %s inline: the envelope in the document has digest %s, the signature %v", format, digest.FromBytes(env), sig["digest"])
		}
	}
	// A timestamped signature: the verdict names the timestamp and the TSA.
	tsa := testpki.New(t, "signet docs TSA")
	tsaSigner := testpki.ShortLived(t, "signet docs signer", time.Now().Add(time.Hour))
	tsKey, tsChain, tsCA := tsaSigner.WriteFiles(t, dir, "ts")
	tsaRoot := tsa.WriteRoot(t, dir, "tsa-root.crt")
	check("sign.json", run(0, "sign", "-k", tsKey, "-c", tsChain, "--signature-format", "cose", "--timestamp-url", tsa.URL,
		"--timestamp-root-cert", tsaRoot, "-o", p("ts.cose"), "--format", "json", subject))
	tsRep := check("verify.json", run(0, "verify", "-f", p("ts.cose"), "--ca-cert", tsCA, "--tsa-root-cert", tsaRoot, "--format", "json", subject))
	if v := tsRep["signatures"].([]any)[0].(map[string]any); v["timestampedAt"] == nil || v["timestampAuthority"] != "CN=signet docs TSA,O=signet tests" {
		t.Errorf("timestamped verdict: %v", v)
	}
	// A chain naming OCSP and CRL: the verdict reports its revocation
	// status; with the responders down and --revocation soft, "unknown".
	rca := testpki.NewRevocationCA(t, "signet docs CA")
	rKey, rChain, rCA := rca.Leaf(t, "signet docs revocable signer", true, true).WriteFiles(t, dir, "rev")
	check("sign.json", run(0, "sign", "-k", rKey, "-c", rChain, "--signature-format", "jws", "-o", p("rev.jws"), "--format", "json", subject))
	for _, c := range []struct {
		down       bool
		mode, want string
	}{{false, "strict", "good"}, {true, "soft", "unknown"}} {
		rca.SetDown(c.down)
		rep := check("verify.json", run(0, "verify", "-f", p("rev.jws"), "--ca-cert", rCA, "--revocation", c.mode, "--format", "json", subject))
		if v := rep["signatures"].([]any)[0].(map[string]any); v["revocation"] != c.want {
			t.Errorf("revocation %s: verdict %v", c.mode, v)
		}
	}
	rca.SetDown(true)
	check("verify.json", run(3, "verify", "-f", p("rev.jws"), "--ca-cert", rCA, "--format", "json", subject))

	// verify with no signature yet: exit 4, the report still printed,
	// with signatures [].
	if r := check("verify.json", run(4, "verify", subject, "-c", p("example.crt"), "--format", "json")); r["signatures"] == nil {
		t.Errorf("verify of an unsigned image: signatures %v, want []", r["signatures"])
	}
	// An unknown reference: exit 4, a report without subject, with error.
	if r := check("verify.json", run(4, "verify", ref+":nope", "-c", p("example.crt"), "--format", "json")); r["error"] == nil || r["verified"] != false {
		t.Errorf("verify of an unknown reference: %v", r)
	}
	// Several images: one report per image, each a verify.json document
	// (the unknown one without subject, as above).
	many := json.NewDecoder(bytes.NewReader(run(4, "verify", subject, ref+":nope", "-c", p("example.crt"), "--format", "json")))
	for n := 0; ; n++ {
		var doc json.RawMessage
		if err := many.Decode(&doc); err == io.EOF {
			if n != 2 {
				t.Errorf("verify of two images: %d reports, want 2", n)
			}
			break
		} else if err != nil {
			t.Fatalf("verify of two images: report %d: %v", n+1, err)
		}
		check("verify.json", doc)
	}

	// push-signature: prototype (links), OCI JWT, Notary Project JWS.
	check("push-signature.json", run(0, "push-signature", "--signature", p("manifest-signature.jwt"),
		"--manifest", p("manifest-to-sign.json"), "--format", "json", ref))
	check("push-signature.json", run(0, "push-signature", "--signature", p("oci.jwt"), "--artifact-format", "oci", "--format", "json", subject))
	check("push-signature.json", run(0, "push-signature", "--signature", p("sig.jws"), "--artifact-format", "oci", "--format", "json", subject))

	g := check("discover.json", run(0, "discover", subject, "--format", "json"))
	if refs, _ := g["referrers"].([]any); len(refs) != 3 {
		t.Errorf("discover: %d referrers, want 3", len(refs))
	}
	check("discover.json", run(0, "discover", subject, "--artifact-type", "application/vnd.cncf.notary.v2", "--depth", "1", "--format", "json"))
	// copy -r into a layout: the prototype signature is converted.
	cp := check("copy.json", run(0, "copy", "-r", subject, "oci-layout:"+p("copied")+":latest", "--format", "json"))
	if n, _ := cp["converted"].(json.Number).Int64(); n < 1 {
		t.Errorf("copy -r into a layout converted %v prototype artifacts, want at least 1", cp["converted"])
	}
	// The same registry answering like the 2021 prototype registry, whose
	// links API requires an artifact type: asked per type.
	proto.Store(true)
	pg := check("discover.json", run(0, "discover", host+"/busybox@"+manifestDigest, "--format", "json"))
	proto.Store(false)
	if m, _ := pg["mechanisms"].(map[string]any); m["links"] != "used per artifact type" || pg["linksArtifactTypes"] == nil {
		t.Errorf("discover on a registry requiring an artifact type: mechanisms %v, linksArtifactTypes %v", pg["mechanisms"], pg["linksArtifactTypes"])
	}
	if refs, _ := pg["referrers"].([]any); len(refs) != 3 {
		t.Errorf("discover on a registry requiring an artifact type: %d referrers, want 3", len(refs))
	}
	check("pull-signature.json", run(0, "pull-signature", subject, "-o", p("retrieved"), "--format", "json"))

	// verify: all valid; none valid (wrong certificate); file mode, valid
	// and invalid.
	check("verify.json", run(0, "verify", subject, "-c", p("example.crt"), "--format", "json"))
	rep := check("verify.json", run(3, "verify", subject, "-c", p("other.crt"), "--format", "json"))
	for _, s := range rep["signatures"].([]any) {
		if s.(map[string]any)["errorClass"] == nil {
			t.Errorf("verify with the wrong certificate: a verdict without errorClass: %v", s)
		}
	}
	check("verify.json", run(0, "verify", "-f", p("manifest-signature.jwt"), "-c", p("example.crt"), "--format", "json", "file:"+p("manifest-to-sign.json")))
	if err := os.WriteFile(p("changed.json"), append(must(os.ReadFile(p("manifest-to-sign.json"))), '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	check("verify.json", run(3, "verify", "-f", p("manifest-signature.jwt"), "-c", p("example.crt"), "--format", "json", "file:"+p("changed.json")))

	// delete-signature: nothing selected (every signature valid); a dry
	// run (the wrong certificate: all three invalid); one deleted.
	if d := check("delete-signature.json", run(0, "delete-signature", subject, "--all-invalid", "-c", p("example.crt"), "--format", "json")); len(d["signatures"].([]any)) != 0 {
		t.Errorf("delete-signature, nothing invalid: %v", d)
	}
	dry := check("delete-signature.json", run(0, "delete-signature", subject, "--all-invalid", "-c", p("other.crt"), "--dry-run", "--format", "json"))
	sigs, _ := dry["signatures"].([]any)
	if len(sigs) != 3 || dry["dryRun"] != true || sigs[0].(map[string]any)["outcome"] != "would delete" {
		t.Fatalf("delete-signature --dry-run: %v", dry)
	}
	gone := sigs[0].(map[string]any)["artifact"].(map[string]any)["digest"].(string)
	if d := check("delete-signature.json", run(0, "delete-signature", subject, "--artifact", gone, "--yes", "--format", "json")); len(d["signatures"].([]any)) != 1 || d["signatures"].([]any)[0].(map[string]any)["outcome"] != "deleted" {
		t.Errorf("delete-signature --artifact: %v", d)
	}

	// A multi-platform image: sign --recursive, discover of the index (its
	// manifests) and of one platform, verify through the index.
	multi := p("multi")
	if err := testimage.WriteMultiArchLayout(multi); err != nil {
		t.Fatal(err)
	}
	mref := host + "/multi"
	index := mref + "@" + strings.TrimSpace(string(run(0, "copy", "oci-layout:"+multi+":"+testimage.MultiTag, mref+":v1")))
	run(0, "sign", "-k", p("example.key"), "-c", p("example.crt"), "-o", p("index.jwt"), index)
	run(0, "push-signature", "--signature", p("index.jwt"), index)
	if r := check("verify.json", run(0, "verify", index, "--platform", "linux/arm64", "--via-index", "-c", p("example.crt"), "--format", "json")); r["viaIndex"] == nil {
		t.Errorf("verify --via-index: no viaIndex in %v", r)
	}
	check("verify.json", run(3, "verify", index, "--platform", "linux/arm64", "--via-index", "-c", p("other.crt"), "--format", "json"))
	if r := check("sign-recursive.json", run(0, "sign", "-k", p("example.key"), "-c", p("example.crt"), "--recursive", "--format", "json", index)); len(r["signed"].([]any)) != 4 {
		t.Errorf("sign --recursive: %v", r["signed"])
	}
	if g := check("discover.json", run(0, "discover", index, "--format", "json")); len(g["manifests"].([]any)) != 3 {
		t.Errorf("discover of an index: manifests %v", g["manifests"])
	}
	if g := check("discover.json", run(0, "discover", index, "--platform", "linux/arm/v7", "--format", "json")); g["index"] == nil || g["platform"] != "linux/arm/v7" {
		t.Errorf("discover --platform: %v", g)
	}

	for _, s := range schemaFiles(t) {
		if checked[s] == 0 {
			t.Errorf("docs/schemas/%s is not exercised by this test", s)
		}
	}
}

// TestSchemasDeclareEveryStructField checks that every JSON field of the Go
// types behind --format json is declared in its schema, including fields
// that the run above may leave out (omitempty).
func TestSchemasDeclareEveryStructField(t *testing.T) {
	declared := map[string][]map[string]bool{} // schema#def: the models' fields
	type model struct {
		schema string
		def    string // "" for the root
		typ    any
	}
	var descriptors []model // every schema's own copy of the descriptor
	for _, f := range schemaFiles(t) {
		descriptors = append(descriptors, model{f, "descriptor", ocispec.Descriptor{}})
	}
	for _, c := range append([]model{
		{"verify.json", "", verify.Report{}},
		{"verify.json", "", cli.VerifyFailure{}},
		{"verify.json", "verdict", verify.Verdict{}},
		{"verify.json", "viaIndex", verify.ViaIndex{}},
		{"push-signature.json", "", push.Result{}},
		{"discover.json", "", cli.DiscoverResult{}},
		{"discover.json", "referrer", cli.DiscoverReferrer{}},
		{"discover.json", "manifest", cli.DiscoverManifest{}},
		{"version.json", "", cli.VersionResult{}},
		{"copy.json", "", cli.CopyResult{}},
		{"copy.json", "referrer", cli.CopyReferrer{}},
		{"generate-cert.json", "", cli.CertResult{}},
		{"sign.json", "", cli.SignResult{}},
		{"sign-recursive.json", "", cli.SignRecursiveResult{}},
		{"sign-recursive.json", "signed", cli.SignedObject{}},
		{"pull-signature.json", "", cli.PullResult{}},
		{"pull-signature.json", "pulled", cli.PulledSignature{}},
		{"delete-signature.json", "", cli.DeleteResult{}},
		{"delete-signature.json", "signature", cli.DeletedSignature{}},
	}, descriptors...) {
		doc, err := loadSchema(schemaPath(c.schema))
		if err != nil {
			t.Fatal(err)
		}
		s := doc.root
		if c.def != "" {
			s, _ = doc.defs[c.def].(map[string]any)
		}
		props, _ := s["properties"].(map[string]any)
		fields := map[string]bool{}
		for _, name := range jsonFields(reflect.TypeOf(c.typ)) {
			fields[name] = true
			if _, ok := props[name]; !ok {
				t.Errorf("%s %s: field %q of %T is not declared", c.schema, c.def, name, c.typ)
			}
		}
		declared[c.schema+"#"+c.def] = append(declared[c.schema+"#"+c.def], fields)
	}
	// And every property a schema declares is a field of a model (of one
	// of the models, for verify.json's two documents).
	for key, models := range declared {
		schema, def, _ := strings.Cut(key, "#")
		doc, err := loadSchema(schemaPath(schema))
		if err != nil {
			t.Fatal(err)
		}
		s := doc.root
		if def != "" {
			s, _ = doc.defs[def].(map[string]any)
		}
		props, _ := s["properties"].(map[string]any)
		for name := range props {
			found := false
			for _, m := range models {
				found = found || m[name]
			}
			if !found {
				t.Errorf("%s %s: property %q is no field of its model", schema, def, name)
			}
		}
	}
	// Every schema has its model here.
	for _, f := range schemaFiles(t) {
		if len(declared[f+"#"]) == 0 {
			t.Errorf("docs/schemas/%s: no model checked against it", f)
		}
	}
}

func jsonFields(t reflect.Type) []string {
	var out []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			out = append(out, jsonFields(ft)...)
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, name)
	}
	return out
}

func schemaFiles(t *testing.T) []string {
	m, err := filepath.Glob(schemaPath("*.json"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range m {
		out = append(out, filepath.Base(f))
	}
	return out
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}
