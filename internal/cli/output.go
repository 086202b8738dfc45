package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/opencontainers/go-digest"

	"github.com/signet-oci/signet/pkg/reference"
)

// Version, Commit and Date are stamped at build time (-ldflags -X).
var (
	Version = "dev"
	Commit  = "none"
	Date    = "unknown"
)

// marshalIndent is json.MarshalIndent with two-space indent after prefix,
// without HTML escaping and without a final newline, as writeJSON writes.
func marshalIndent(v any, prefix string) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent(prefix, "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// warnTag prints the one-line warning for a tag used where a digest would
// be safer, with the digest it resolved to.
func warnTag(streams IOStreams, ref reference.Reference, resolved digest.Digest) {
	if ref.Kind == reference.Registry && ref.Digest == "" && ref.Tag != "" {
		fmt.Fprintf(streams.Err, "Warning: %s is a tag, which can move; it resolved to %s (use %s to pin it)\n",
			ref.Raw, resolved, ref.WithDigest(resolved))
	}
}

func parseDigest(s string) (digest.Digest, error) {
	d, err := digest.Parse(s)
	if err != nil {
		return "", fmt.Errorf("invalid digest %q: %w", s, err)
	}
	return d, nil
}
