package cli

import (
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/signet-oci/signet/pkg/transfer"
	"github.com/signet-oci/signet/pkg/verify"
)

// The typed results of the commands: what --format json prints, each the
// model of one schema under docs/schemas (internal/gendocs checks that
// every field of every model is declared there). A command fills its model
// and hands it to a renderer; the text renderers print from the same
// values. push-signature's model is push.Result, verify's verify.Report
// (VerifyFailure when the reference could not be resolved), discover's
// DiscoverResult.

// VersionResult is 'signet version --format json' (docs/schemas/version.json).
type VersionResult struct {
	Version  string `json:"version"`
	Commit   string `json:"commit"`
	Date     string `json:"date"`
	Go       string `json:"go"`
	Platform string `json:"platform"`
}

// CopyResult is 'signet copy --format json' (docs/schemas/copy.json).
type CopyResult struct {
	Source      string             `json:"source"`
	Destination string             `json:"destination"`
	Manifest    ocispec.Descriptor `json:"manifest"`
	// Manifests are the manifests an index lists (copied with it).
	Manifests []ocispec.Descriptor `json:"manifests,omitempty"`
	// Recursive: copy -r; the fields below are set.
	Recursive bool `json:"recursive,omitempty"`
	// Referrers copied (or found at the destination already), a referrer
	// after its subject.
	Referrers []CopyReferrer `json:"referrers,omitempty"`
	// Converted counts prototype artifacts converted to OCI 1.1.
	Converted int `json:"converted,omitempty"`
	// Skipped counts referrers found but not copied (see warnings).
	Skipped   int      `json:"skipped,omitempty"`
	Truncated bool     `json:"truncated,omitempty"`
	Warnings  []string `json:"warnings,omitempty"`
}

// CopyReferrer is one referrer copy -r copied: the library's own record.
type CopyReferrer = transfer.Copied

// CertResult is 'signet generate cert --format json'
// (docs/schemas/generate-cert.json).
type CertResult struct {
	Key               string    `json:"key"`
	Certificate       string    `json:"certificate"`
	Subject           string    `json:"subject"`
	SHA256Fingerprint string    `json:"sha256Fingerprint"`
	NotAfter          time.Time `json:"notAfter"`
}

// SignResult is 'signet sign --format json' (docs/schemas/sign.json): the
// signature written to File, or carried in Envelope without -o.
type SignResult struct {
	Signature       ocispec.Descriptor `json:"signature"`
	SignatureFormat string             `json:"signatureFormat"`
	Subject         ocispec.Descriptor `json:"subject"`
	References      []string           `json:"references"`
	File            string             `json:"file,omitempty"`
	Envelope        string             `json:"envelope,omitempty"`
	// EnvelopeBase64 is a COSE envelope (binary) when -o is not given.
	EnvelopeBase64 []byte `json:"envelopeBase64,omitempty"`
}

// PullResult is 'signet pull-signature --format json'
// (docs/schemas/pull-signature.json).
type PullResult struct {
	Subject    ocispec.Descriptor `json:"subject"`
	Signatures []PulledSignature  `json:"signatures"`
}

// PulledSignature is one signature file pull-signature wrote.
type PulledSignature struct {
	Path string `json:"path"`
	// Artifact is the first artifact manifest found carrying the
	// signature; Artifacts lists them all (the same signature may be
	// pushed in several artifact formats).
	Artifact  ocispec.Descriptor   `json:"artifact"`
	Artifacts []ocispec.Descriptor `json:"artifacts"`
	Signature ocispec.Descriptor   `json:"signature"`
	Format    string               `json:"signatureFormat"`
	FoundBy   []string             `json:"foundBy"`
}

// VerifyFailure is 'signet verify --format json' when the reference could
// not be resolved (unknown: exit status 4; the registry failed: 1): not
// verified, no subject, no signature, and why (docs/schemas/verify.json).
type VerifyFailure struct {
	Reference  string            `json:"reference"`
	Verified   bool              `json:"verified"`
	Valid      int               `json:"validSignatures"`
	Signatures []*verify.Verdict `json:"signatures"`
	Error      string            `json:"error"`
}

// DeleteResult is 'signet delete-signature --format json'
// (docs/schemas/delete-signature.json): the signatures of Subject deleted,
// unlisted, or (DryRun) that would be deleted.
type DeleteResult struct {
	Reference  string             `json:"reference"`
	Subject    ocispec.Descriptor `json:"subject"`
	DryRun     bool               `json:"dryRun"`
	Signatures []DeletedSignature `json:"signatures"`
	// Skipped says why selected signatures were not deleted (the command
	// then exits 1).
	Skipped []string `json:"skipped,omitempty"`
}

// DeletedSignature is one signature delete-signature removed (or would).
type DeletedSignature struct {
	Artifact ocispec.Descriptor `json:"artifact"`
	Format   string             `json:"signatureFormat"`
	FoundBy  []string           `json:"foundBy"`
	// Outcome: "deleted"; "unlisted" (removed from the sha256-<hex> index,
	// its manifest kept: the registry refused the DELETE); "would delete"
	// (--dry-run).
	Outcome string `json:"outcome"`
}
