package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/signet-oci/signet/internal/push"
	"github.com/signet-oci/signet/pkg/verify"
)

// Display, apart from the work (as oras's cmd/oras/internal/display): a
// command fills its typed result (results.go) and hands it to
// outputOptions.print, the one place results reach stdout. JSON is the
// model itself (encoding/json, or writeJSONStream for a model marked
// jsonStreamer); text, tree and table are the methods below, one per
// format a model supports. Progress, warnings and hints go to stderr
// from the commands, never from here.

type textResult interface{ writeText(w io.Writer) error }
type treeResult interface{ writeTree(w io.Writer) error }
type tableResult interface{ writeTable(w io.Writer) error }

// A jsonStreamer is written by writeJSONStream (a large list, one compact
// element per line).
type jsonStreamer interface{ streamJSON() }

// print writes result to w in the format --format chose.
func (o *outputOptions) print(w io.Writer, result any) error {
	switch o.Format {
	case "json":
		if _, ok := result.(jsonStreamer); ok {
			return writeJSONStream(w, result)
		}
		return writeJSON(w, result)
	case "text":
		if r, ok := result.(textResult); ok {
			return r.writeText(w)
		}
	case "tree":
		if r, ok := result.(treeResult); ok {
			return r.writeTree(w)
		}
	case "table":
		if r, ok := result.(tableResult); ok {
			return r.writeTable(w)
		}
	}
	return fmt.Errorf("internal error: %T has no %s output", result, o.Format)
}

func (r VersionResult) writeText(w io.Writer) error {
	_, err := fmt.Fprintf(w, "signet %s (commit %s, built %s, %s, %s)\n", r.Version, r.Commit, r.Date, r.Go, r.Platform)
	return err
}

func (r CopyResult) writeText(w io.Writer) error {
	_, err := fmt.Fprintln(w, r.Manifest.Digest)
	return err
}

func (r CertResult) writeText(w io.Writer) error {
	_, err := fmt.Fprintln(w, r.SHA256Fingerprint)
	return err
}

// writeText prints the signature's digest when it went to a file, else the
// signature itself, byte for byte.
func (r SignResult) writeText(w io.Writer) error {
	if r.File == "" {
		if r.EnvelopeBase64 != nil {
			_, err := w.Write(r.EnvelopeBase64) // cose: the raw bytes
			return err
		}
		_, err := io.WriteString(w, r.Envelope)
		return err
	}
	_, err := fmt.Fprintln(w, r.Signature.Digest)
	return err
}

// writeText prints the paths written, one per line.
func (r PullResult) writeText(w io.Writer) error {
	for _, p := range r.Signatures {
		if _, err := fmt.Fprintln(w, p.Path); err != nil {
			return err
		}
	}
	return nil
}

// PushResult is 'signet push-signature --format json'
// (docs/schemas/push-signature.json).
type PushResult push.Result

func (r PushResult) writeText(w io.Writer) error {
	_, err := fmt.Fprintln(w, r.Artifact.Digest)
	return err
}

// VerifyResult is 'signet verify --format json' (docs/schemas/verify.json):
// the report, printed as text with its repository (registry mode) or as
// file mode's one line.
type VerifyResult struct {
	*verify.Report
	repo string // "" in file mode
}

func (r VerifyResult) writeText(w io.Writer) error {
	if r.repo == "" {
		if r.Verified && len(r.Signatures) > 0 {
			fmt.Fprintf(w, "VALID    %s signed by %s%s%s\n", r.Subject.Digest, r.Signatures[0].Signer, timestampNote(r.Signatures[0]), revocationNote(r.Signatures[0]))
		}
		return nil
	}
	for _, v := range r.Signatures {
		where := strings.Join(v.Mechanisms, ",")
		if v.Valid {
			fmt.Fprintf(w, "VALID    %s  %s signature by %s%s%s (found by %s)\n", artifactDigest(v), v.Format, v.Signer, timestampNote(v), revocationNote(v), where)
		} else {
			// Reasons name their format already ("jwt signature: …").
			reason := strings.TrimPrefix(v.Reason, v.Format+" signature: ")
			fmt.Fprintf(w, "INVALID  %s  %s signature: %s (found by %s)\n", artifactDigest(v), v.Format, reason, where)
		}
	}
	if r.ViaIndex != nil && r.Verified {
		_, err := fmt.Fprintf(w, "%s@%s: %d of %d signature(s) valid: %s\n", r.repo, r.Subject.Digest, r.Valid, len(r.Signatures), viaIndexNote(r.ViaIndex, r.Subject))
		return err
	}
	if r.ViaIndex != nil {
		_, err := fmt.Fprintf(w, "%s@%s: %d of %d signature(s) on the index %s valid\n", r.repo, r.Subject.Digest, r.Valid, len(r.Signatures), r.ViaIndex.Reference)
		return err
	}
	_, err := fmt.Fprintf(w, "%s@%s: %d of %d signature(s) valid\n", r.repo, r.Subject.Digest, r.Valid, len(r.Signatures))
	return err
}

func artifactDigest(v *verify.Verdict) string {
	if v.Artifact == nil {
		return "(file)"
	}
	return v.Artifact.Digest.String()
}

// writeText prints nothing: the error, on stderr, says why.
func (VerifyFailure) writeText(io.Writer) error { return nil }
