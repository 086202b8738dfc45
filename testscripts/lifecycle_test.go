package testscripts

// TestScriptsLifecycle runs testdata/lifecycle/*.txtar (docs/lifecycle.md):
// RFC 3161 timestamps, revocation, plugins and removal, against a fresh
// embedded registry ($REGISTRY; $FALLBACK_REGISTRY: another without the
// referrers and links APIs, the tag fallback only), with in-process PKI
// (internal/testpki) set up per script:
//
//	$TSA_URL, tsa-root.crt           a time stamping authority and its root
//	$OTHER_TSA_URL, other-root.crt   another one, not trusted by the scripts
//	short.key, short.crt, short-ca.crt
//	                                 a code signing certificate that expires
//	                                 $SHORT_SECONDS seconds after setup
//	good.*, revoked.*, rev-ca.crt, rev-ca.crl
//	                                 certificates naming OCSP and CRL endpoints
//	                                 (revoked.crt is revoked), their CA and a
//	                                 current CRL file of it
//	down.*, down-ca.crt, down-ca.crl like good.*, from a CA whose OCSP and CRL
//	                                 endpoints answer 503 (unreachable)
//	$XDG_CONFIG_HOME/notation/plugins/signet-test/notation-signet-test
//	                                 a notation signing plugin (built from
//	                                 internal/testpki/notation-signet-test):
//	                                 key ID kms is kms.key/kms.crt (CA
//	                                 kms-ca.crt); key ID "fail" fails

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/signet-oci/signet/internal/testpki"
	"github.com/signet-oci/signet/internal/testregistry"
)

// shortSeconds is how long short.crt lives after setup: long enough for a
// script to sign with it, short enough to wait for (sleep is bounded).
const shortSeconds = 6

func TestScriptsLifecycle(t *testing.T) {
	files, err := filepath.Glob("testdata/lifecycle/*.txtar")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata/lifecycle/*.txtar scripts: %v", err)
	}
	p := params(t, "", false, func(env *testscript.Env) error {
		addr, err := startRegistry(env)
		if err != nil {
			return err
		}
		env.Setenv("REGISTRY", addr)
		env.Setenv("REPO", "busybox")
		env.Setenv("EXTERNAL", "")
		// $FALLBACK_REGISTRY: one serving neither the referrers API nor the
		// links API (registry serve --no-referrers, links off): signatures
		// are listed by the sha256-<hex> tag fallback only.
		fbAddr, err := startRegistry(env, testregistry.NoReferrers(), testregistry.NoLinks())
		if err != nil {
			return err
		}
		env.Setenv("FALLBACK_REGISTRY", fbAddr)
		dir := env.WorkDir

		// The servers outlive the script (t's cleanup); they are loopback
		// httptest servers on free ports.
		tsa := testpki.New(t, "signet script TSA")
		other := testpki.New(t, "other TSA")
		tsa.WriteRoot(t, dir, "tsa-root.crt")
		other.WriteRoot(t, dir, "other-root.crt")
		env.Setenv("TSA_URL", tsa.URL)
		env.Setenv("OTHER_TSA_URL", other.URL)
		testpki.ShortLived(t, "signet short-lived signer", time.Now().Add(shortSeconds*time.Second)).WriteFiles(t, dir, "short")
		env.Setenv("SHORT_SECONDS", strconv.Itoa(shortSeconds))

		ca := testpki.NewRevocationCA(t, "signet script CA")
		ca.Leaf(t, "good signer", true, true).WriteFiles(t, dir, "good")
		revoked := ca.Leaf(t, "revoked signer", true, true)
		ca.Revoke(revoked.Chain[0])
		revoked.WriteFiles(t, dir, "revoked")
		writeFile(t, filepath.Join(dir, "rev-ca.crt"), testpki.PEM(ca.Cert))
		ca.WriteCRL(t, dir, "rev-ca.crl", time.Now().Add(time.Hour))

		down := testpki.NewRevocationCA(t, "signet unreachable CA")
		down.Leaf(t, "down signer", true, true).WriteFiles(t, dir, "down")
		writeFile(t, filepath.Join(dir, "down-ca.crt"), testpki.PEM(down.Cert))
		down.WriteCRL(t, dir, "down-ca.crl", time.Now().Add(time.Hour))
		down.SetDown(true)

		config := filepath.Join(dir, "config")
		env.Setenv("XDG_CONFIG_HOME", config)
		testpki.InstallPlugin(t, filepath.Join(config, "notation"))
		testpki.ShortLived(t, "signet kms signer", time.Now().Add(time.Hour)).WriteFiles(t, dir, "kms")
		return nil
	})
	p.Files = files
	testscript.Run(t, p)
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
