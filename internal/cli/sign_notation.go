package cli

import (
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/spf13/cobra"

	"github.com/signet-oci/signet/internal/errdef"
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
	})
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
	if len(pairs) == 0 {
		return nil, nil
	}
	md := make(map[string]string, len(pairs))
	for _, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return nil, errdef.Usage(fmt.Errorf("--user-metadata %q: use key=value", p))
		}
		if _, dup := md[k]; dup {
			return nil, errdef.Usage(fmt.Errorf("--user-metadata: key %q given twice", k))
		}
		md[k] = v
	}
	return md, nil
}
