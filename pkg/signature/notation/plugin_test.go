package notation

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/signet-oci/signet/internal/testpki"
)

// TestPluginSigning signs through a notation plugin (a test binary built
// here, speaking the plugin protocol) and verifies the result; a missing
// plugin and a failing plugin are one clear line each.
func TestPluginSigning(t *testing.T) {
	dir := t.TempDir()
	plugins := testpki.InstallPlugin(t, dir)
	s := testpki.ShortLived(t, "signet plugin signer", time.Now().Add(time.Hour))
	key, _, _ := s.WriteFiles(t, dir, "kms-key")
	keyID := strings.TrimSuffix(key, ".key")
	tsa := testpki.New(t, "signet test TSA")

	for _, f := range []string{FormatJWS, FormatCOSE} {
		env, err := Sign(context.Background(), testSubject, SignOptions{Format: f, Plugin: testpki.PluginName, PluginDir: plugins, KeyID: keyID,
			TimestampURL: tsa.URL, TimestampRoots: []*x509.Certificate{tsa.Root}})
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		res, err := Verify(context.Background(), env, f, testSubject, VerifyOptions{TrustedCertificates: []*x509.Certificate{s.CA}, TSACertificates: []*x509.Certificate{tsa.Root}})
		if err != nil {
			t.Fatalf("%s: verify: %v", f, err)
		}
		if res.Signer != "CN=signet plugin signer,O=signet tests" || res.TimestampedAt.IsZero() {
			t.Errorf("%s: signer %q, timestamp %s", f, res.Signer, res.TimestampedAt)
		}
	}

	for _, c := range []struct {
		name string
		opts SignOptions
		want string
	}{
		{"missing plugin", SignOptions{Plugin: "absent", PluginDir: plugins, KeyID: keyID}, `plugin "absent" is not installed: no executable ` + filepath.Join(plugins, "absent", "notation-absent")},
		{"plugin error", SignOptions{Plugin: testpki.PluginName, PluginDir: plugins, KeyID: "fail"}, "the key service refused key fail: access denied"},
		{"unknown key", SignOptions{Plugin: testpki.PluginName, PluginDir: plugins, KeyID: filepath.Join(dir, "nope")}, `unknown key`},
		{"no key id", SignOptions{Plugin: testpki.PluginName, PluginDir: plugins}, "needs the key ID"},
		{"path as name", SignOptions{Plugin: "../x", PluginDir: plugins, KeyID: keyID}, "not a path"},
		{"plugin and key", SignOptions{Plugin: testpki.PluginName, PluginDir: plugins, KeyID: keyID, Signer: s.Key, Certificates: s.Chain}, "either a plugin or a key"},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.opts.Format = FormatJWS
			_, err := Sign(context.Background(), testSubject, c.opts)
			if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("got %v, want one line saying %q", err, c.want)
			}
			t.Log(err)
		})
	}

	// A plugin directory entry that is not executable.
	bad := filepath.Join(plugins, "broken")
	if err := os.MkdirAll(bad, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bad, "notation-broken"), pem.EncodeToMemory(&pem.Block{Type: "X"}), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Sign(context.Background(), testSubject, SignOptions{Format: FormatJWS, Plugin: "broken", PluginDir: plugins, KeyID: keyID})
	if err == nil || !strings.Contains(err.Error(), `plugin "broken"`) || strings.Contains(err.Error(), "\n") {
		t.Fatalf("broken plugin: %v", err)
	}
	t.Log(err)
}
