package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"strings"

	"github.com/opencontainers/go-digest"

	"github.com/signet-oci/signet/pkg/reference"
)

// Version, Commit and Date are stamped at build time (-ldflags -X).
var (
	Version = "dev"
	Commit  = "none"
	Date    = "unknown"
)

// jsonEncoder is the one JSON encoding of every document signet prints:
// two-space indent after prefix, no HTML escaping (writeJSON, and
// writeJSONStream's fields through marshalIndent).
func jsonEncoder(w io.Writer, prefix string) *json.Encoder {
	enc := json.NewEncoder(w)
	enc.SetIndent(prefix, "  ")
	enc.SetEscapeHTML(false)
	return enc
}

// marshalIndent is v as writeJSON writes it, indented after prefix, without
// the final newline.
func marshalIndent(v any, prefix string) ([]byte, error) {
	var buf bytes.Buffer
	if err := jsonEncoder(&buf, prefix).Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// writeJSONStream writes the struct v as writeJSON does, generated from its
// fields and their json tags, except that the slice field tagged
// `stream:"lines"` is written one compact element per line, as each is
// encoded: easy to grep, and no second copy of a large document in memory
// (discover's thousands of referrers).
func writeJSONStream(w io.Writer, v any) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	rv := reflect.ValueOf(v)
	rt := rv.Type()
	type field struct {
		name   string
		v      reflect.Value
		stream bool
	}
	var fields []field
	for i := 0; i < rt.NumField(); i++ {
		f := rt.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		fv := rv.Field(i)
		if strings.Contains(opts, "omitempty") && fv.IsZero() || strings.Contains(opts, "omitempty") && (fv.Kind() == reflect.Slice || fv.Kind() == reflect.Map) && fv.Len() == 0 {
			continue
		}
		fields = append(fields, field{name, fv, f.Tag.Get("stream") == "lines" && fv.Kind() == reflect.Slice})
	}
	bw.WriteString("{\n")
	var line bytes.Buffer
	enc := json.NewEncoder(&line)
	enc.SetEscapeHTML(false)
	for i, f := range fields {
		key, _ := json.Marshal(f.name)
		fmt.Fprintf(bw, "  %s: ", key)
		if f.stream && f.v.Len() > 0 {
			bw.WriteString("[\n")
			for j := 0; j < f.v.Len(); j++ {
				line.Reset()
				if err := enc.Encode(f.v.Index(j).Interface()); err != nil {
					return err
				}
				bw.WriteString("    ")
				bw.Write(bytes.TrimSuffix(line.Bytes(), []byte("\n")))
				if j < f.v.Len()-1 {
					bw.WriteString(",")
				}
				bw.WriteString("\n")
			}
			bw.WriteString("  ]")
		} else {
			if f.stream && f.v.IsNil() {
				f.v = reflect.MakeSlice(f.v.Type(), 0, 0)
			}
			b, err := marshalIndent(f.v.Interface(), "  ")
			if err != nil {
				return err
			}
			bw.Write(b)
		}
		if i < len(fields)-1 {
			bw.WriteString(",")
		}
		bw.WriteString("\n")
	}
	bw.WriteString("}\n")
	return bw.Flush()
}

// writeJSON writes v as an indented JSON document and a newline.
func writeJSON(w io.Writer, v any) error {
	return jsonEncoder(w, "").Encode(v)
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
