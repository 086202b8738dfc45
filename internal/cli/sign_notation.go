package cli

import (
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/spf13/cobra"

	"github.com/signet-oci/signet/pkg/errdef"
	"github.com/signet-oci/signet/pkg/signature"
	"github.com/signet-oci/signet/pkg/signature/notation"
)

// signNotation makes a Notary Project envelope (--signature-format jws or
// cose) with notation-go, carrying --expiry and the -m key=value user
// metadata.
func signNotation(cmd *cobra.Command, opts *signOptions, key crypto.Signer, certs []*x509.Certificate, desc ocispec.Descriptor) ([]byte, error) {
	md, err := parseUserMetadata(opts.Metadata)
	if err != nil {
		return nil, err
	}
	pluginConfig, err := parseKeyValues("--plugin-config", opts.PluginConfig)
	if err != nil {
		return nil, err
	}
	var tsaRoots []*x509.Certificate
	if opts.TimestampRoot != "" {
		if tsaRoots, err = signature.LoadCertificates(opts.TimestampRoot); err != nil {
			return nil, err
		}
	}
	return notation.Sign(cmd.Context(), desc, notation.SignOptions{
		Signer:         key,
		Certificates:   certs,
		Format:         opts.Format,
		Expiry:         opts.Expiry,
		UserMetadata:   md,
		SigningAgent:   "signet/" + Version,
		TimestampURL:   opts.TimestampURL,
		TimestampRoots: tsaRoots,
		Plugin:         opts.Plugin,
		PluginDir:      opts.PluginDir,
		KeyID:          opts.KeyID,
		PluginConfig:   pluginConfig,
	})
}

// checkPluginFlags: --plugin replaces -k/-c, needs --key-id, and applies
// to Notary Project formats only.
func checkPluginFlags(opts *signOptions) error {
	if opts.Plugin == "" {
		if opts.Key == "" {
			return errdef.Usage(errors.New(`required flag(s) "key" not set (or sign through a notation plugin: --plugin NAME --key-id ID)`))
		}
		if opts.KeyID != "" || len(opts.PluginConfig) > 0 || opts.PluginDir != "" {
			return errdef.Usage(errors.New("--key-id, --plugin-config and --plugin-dir go with --plugin NAME"))
		}
		return nil
	}
	if opts.Key != "" || opts.Cert != "" {
		return errdef.Usage(errors.New("--plugin signs with the plugin's key: give --plugin and --key-id, not -k/-c"))
	}
	if opts.Format == "jwt" {
		return errdef.Usage(errors.New("--plugin applies to jws and cose signatures only (notation plugins make Notary Project signatures)"))
	}
	if opts.KeyID == "" {
		return errdef.Usage(errors.New("--plugin needs --key-id ID, the key's ID in the plugin's key service"))
	}
	return nil
}

// checkTimestampFlags: --timestamp-url and --timestamp-root-cert go
// together, and only with a Notary Project format.
func checkTimestampFlags(opts *signOptions) error {
	if opts.TimestampURL == "" && opts.TimestampRoot == "" {
		return nil
	}
	if opts.Format == "jwt" {
		return errdef.Usage(errors.New("--timestamp-url applies to jws and cose signatures only (the prototype JWT has no place for a timestamp)"))
	}
	if opts.TimestampURL == "" || opts.TimestampRoot == "" {
		return errdef.Usage(errors.New("--timestamp-url and --timestamp-root-cert go together: give both"))
	}
	return nil
}

// parseUserMetadata parses repeated -m key=value flags.
func parseUserMetadata(pairs []string) (map[string]string, error) {
	return parseKeyValues("--user-metadata", pairs)
}

// parseKeyValues parses repeated key=value flags.
func parseKeyValues(flag string, pairs []string) (map[string]string, error) {
	if len(pairs) == 0 {
		return nil, nil
	}
	md := make(map[string]string, len(pairs))
	for _, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return nil, errdef.Usage(fmt.Errorf("%s %q: use key=value", flag, p))
		}
		if _, dup := md[k]; dup {
			return nil, errdef.Usage(fmt.Errorf("%s: key %q given twice", flag, k))
		}
		md[k] = v
	}
	return md, nil
}
