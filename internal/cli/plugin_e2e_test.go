package cli_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/signet-oci/signet/internal/testpki"
)

// TestPluginSign: sign --plugin NAME --key-id ID through a notation plugin
// found in notation's directory layout (a test plugin binary built here,
// speaking the plugin protocol), then push and verify as usual; a missing
// plugin and a plugin error are one line each.
func TestPluginSign(t *testing.T) {
	e := newEnv(t)
	config := filepath.Join(e.dir, "config")
	t.Setenv("XDG_CONFIG_HOME", config) // notation's plugins: $XDG_CONFIG_HOME/notation/plugins
	testpki.InstallPlugin(t, filepath.Join(config, "notation"))
	s := testpki.ShortLived(t, "signet plugin signer", time.Now().Add(time.Hour))
	key, _, ca := s.WriteFiles(t, e.dir, "kms")
	keyID := strings.TrimSuffix(key, ".key")
	subject := e.ref("@" + e.subject().Digest.String())

	for _, f := range []string{"jws", "cose"} {
		sig := e.path("plugin." + f)
		e.ok("sign", "--plugin", testpki.PluginName, "--key-id", keyID, "--plugin-config", "region=test", "--signature-format", f, "-o", sig, subject)
		e.ok("push-signature", "--signature", sig, e.ref(""))
	}
	out := e.ok("verify", subject, "--ca-cert", ca)
	if strings.Count(out, "signature by CN=signet plugin signer,O=signet tests") != 2 || !strings.Contains(out, "2 of 2 signature(s) valid") {
		t.Fatalf("verify:\n%s", out)
	}

	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--plugin", "absent", "--key-id", keyID}, 1, `plugin "absent" is not installed: no executable ` + filepath.Join(config, "notation", "plugins", "absent", "notation-absent")},
		{[]string{"--plugin", testpki.PluginName, "--key-id", "fail"}, 1, `plugin "signet-test": the key service refused key fail: access denied`},
		{[]string{"--plugin", testpki.PluginName}, 2, "--plugin needs --key-id"},
		{[]string{"--plugin", testpki.PluginName, "--key-id", keyID, "-k", key}, 2, "not -k/-c"},
		{[]string{"--plugin", testpki.PluginName, "--key-id", keyID, "--signature-format", "jwt"}, 2, "jws and cose signatures only"},
		{[]string{"--key-id", keyID}, 2, `required flag(s) "key" not set`},
		{[]string{"--plugin", testpki.PluginName, "--key-id", keyID, "--plugin-dir", e.path("nowhere")}, 1, "is not installed"},
	} {
		args := append([]string{"sign", "-o", e.path("never.sig"), subject}, c.args...)
		if !contains(c.args, "--signature-format") {
			args = append(args, "--signature-format", "jws")
		}
		code, _, errOut := e.run(args...)
		if code != c.code || !strings.Contains(errOut, c.want) || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
			t.Errorf("%v: exit %d, stderr %q; want %d and one line saying %q", c.args, code, errOut, c.code, c.want)
		}
	}
}
