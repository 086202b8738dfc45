// Package push publishes a signature next to the manifest it signs: the
// signature blob first (skipped when the registry has it), then an artifact
// manifest that points at the signed manifest, in the prototype's format
// (found through the links API) or as an OCI 1.1 manifest with a subject
// (found through the referrers API or its tag fallback).
//
// Push checks the request, not the signature: it neither verifies the
// envelope nor checks that the repository holds the subject. signet
// push-signature checks both first (the signature parses and signs Subject;
// the repository resolves Subject); a program should do the same, e.g. with
// jwt.Parse or notation.Subject and reference.Resolve.
package push

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"oras.land/oras-go/v2/registry/remote/errcode"

	"github.com/signet-oci/signet/pkg/artifact"
	"github.com/signet-oci/signet/pkg/errdef"
	"github.com/signet-oci/signet/pkg/reference"
	"github.com/signet-oci/signet/pkg/remote"
	"github.com/signet-oci/signet/pkg/signature/notation"
)

// Artifact formats.
const (
	FormatAuto      = "auto"
	FormatPrototype = "prototype"
	FormatOCI       = "oci"
)

// Request is what to push.
type Request struct {
	// Ref names the repository (and, optionally, the subject's tag or digest).
	Ref reference.Reference
	// Signature is the envelope's bytes and its format ("jwt", "jws", "cose").
	Signature       []byte
	SignatureFormat string
	// Subject is the signed manifest.
	Subject ocispec.Descriptor
	// Artifact, when set, is a prebuilt artifact manifest (from
	// `signet generate artifact`) pushed byte for byte.
	Artifact []byte
	// Format is auto, prototype or oci.
	Format string
	// Annotations are added to an OCI artifact manifest.
	Annotations map[string]string
}

// Result says what was pushed.
type Result struct {
	// Format is the artifact format used (prototype or oci).
	Format string `json:"artifactFormat"`
	// Discovery is how the artifact will be found: "links", "referrers"
	// (the registry indexed the subject) or "tag-fallback" (signet
	// maintains the sha256-<hex> index tag).
	Discovery string `json:"discovery"`
	// Artifact is the artifact manifest's descriptor.
	Artifact ocispec.Descriptor `json:"artifact"`
	// Signature is the signature blob's descriptor.
	Signature ocispec.Descriptor `json:"signature"`
	// SignatureUploaded is false when the registry had the blob already.
	SignatureUploaded bool `json:"signatureUploaded"`
	// Subject is the signed manifest.
	Subject ocispec.Descriptor `json:"subject"`
	// Reference is repo@artifact-digest.
	Reference string `json:"reference"`
	// Warnings about things that did not stop the push.
	Warnings []string `json:"warnings,omitempty"`
}

// Push publishes req.Signature as an artifact referring to req.Subject.
func Push(ctx context.Context, client *remote.Client, req Request) (*Result, error) {
	if req.Subject.Digest == "" {
		return nil, errors.New("no subject: the signed manifest is unknown")
	}
	if req.Ref.Digest != "" && req.Ref.Digest != req.Subject.Digest {
		return nil, errdef.Usage(fmt.Errorf("%s names %s, but the signature signs %s", req.Ref.Raw, req.Ref.Digest, req.Subject.Digest))
	}
	res := &Result{Subject: req.Subject}
	format := req.Format
	var prebuilt *artifact.Signature
	if req.Artifact != nil {
		p, err := artifact.Parse("", req.Artifact)
		if err != nil {
			return nil, fmt.Errorf("--artifact: %w", err)
		}
		prebuilt = p
		switch p.Kind {
		case artifact.KindPrototype:
			format = pickPrebuilt(format, FormatPrototype)
		default:
			format = pickPrebuilt(format, FormatOCI)
		}
		if format == "" {
			return nil, errdef.Usage(fmt.Errorf("--artifact holds a %s artifact but --artifact-format is %s", p.Kind, req.Format))
		}
		if !p.Names(req.Subject.Digest) {
			return nil, fmt.Errorf("--artifact does not point at the signed manifest %s", req.Subject.Digest)
		}
	}
	if (format == FormatAuto || format == "") && req.SignatureFormat != "jwt" {
		// Notary Project envelopes travel only in OCI artifacts.
		format = FormatOCI
	}
	if format == FormatAuto || format == "" {
		// One probe: does the registry serve the prototype links API?
		// (The same decision copy -r makes: remote.Client.ServesLinks.)
		links, err := client.ServesLinks(ctx, req.Ref, req.Subject.Digest)
		if err != nil {
			return nil, fmt.Errorf("probing %s for the links API: %w", req.Ref.Registry, err)
		}
		format = FormatOCI
		if links {
			format = FormatPrototype
		}
	}
	if format == FormatPrototype && req.SignatureFormat != "jwt" {
		return nil, errdef.Usage(fmt.Errorf("the prototype artifact format carries x509 JWT signatures only; use --artifact-format oci for %s", req.SignatureFormat))
	}
	res.Format = format

	sigDesc := ocispec.Descriptor{MediaType: artifact.BlobMediaType(req.SignatureFormat), Digest: digest.FromBytes(req.Signature), Size: int64(len(req.Signature))}
	if prebuilt != nil {
		if prebuilt.Blob.Digest != sigDesc.Digest || prebuilt.Blob.Size != sigDesc.Size {
			return nil, fmt.Errorf("--artifact points at signature %s (%d bytes), but --signature is %s (%d bytes)", prebuilt.Blob.Digest, prebuilt.Blob.Size, sigDesc.Digest, sigDesc.Size)
		}
		sigDesc.MediaType = prebuilt.Blob.MediaType
	}
	res.Signature = sigDesc

	uploaded, err := client.PushSmallBlob(ctx, req.Ref, sigDesc, req.Signature)
	if err != nil {
		return nil, fmt.Errorf("pushing signature blob %s to %s: %w", sigDesc.Digest, req.Ref.Repo(), err)
	}
	res.SignatureUploaded = uploaded

	var manifestBytes []byte
	var mediaType string
	switch {
	case req.Artifact != nil:
		manifestBytes = req.Artifact
		mediaType = artifact.MediaTypeArtifactManifest
		if format == FormatOCI {
			mediaType = ocispec.MediaTypeImageManifest
		}
	default:
		manifestBytes, mediaType, err = BuildArtifact(format, req.Signature, req.SignatureFormat, req.Subject, req.Annotations)
	}
	if err != nil {
		return nil, err
	}
	if format == FormatOCI {
		if _, err := client.PushSmallBlob(ctx, req.Ref, artifact.EmptyConfig, artifact.EmptyConfigData); err != nil {
			return nil, fmt.Errorf("pushing the empty config blob to %s: %w", req.Ref.Repo(), err)
		}
	}
	desc := ocispec.Descriptor{MediaType: mediaType, Digest: digest.FromBytes(manifestBytes), Size: int64(len(manifestBytes))}
	// The manifest is pushed without oras-go's referrers handling: on a
	// registry without the referrers API, oras-go would read, merge and
	// overwrite the sha256-<hex> index unconditionally, and concurrent
	// signers would lose each other's entries. remote.UpdateReferrersIndex
	// does it without losing any (docs/reliability.md).
	pushed, err := client.PushManifest(ctx, req.Ref, desc.Digest.String(), desc, manifestBytes, nil)
	if err != nil {
		return nil, explainManifestPush(req, format, err)
	}
	switch {
	case format == FormatPrototype:
		res.Discovery = "links"
	case pushed.Subject != "":
		// The registry processed the subject (OCI-Subject): it serves the
		// referrers API.
		res.Discovery = "referrers"
	default:
		subject, entry, err := remote.ReferrerEntry(desc, manifestBytes)
		if err != nil {
			return nil, err
		}
		if subject == nil {
			return nil, fmt.Errorf("the artifact manifest %s has no subject", desc.Digest)
		}
		if _, err := client.UpdateReferrersIndex(ctx, req.Ref, subject.Digest, remote.IndexChange{Add: []ocispec.Descriptor{entry}}, nil); err != nil {
			return nil, fmt.Errorf("the artifact manifest %s is pushed, but indexing it under the referrers tag failed: %w", desc.Digest, err)
		}
		res.Discovery = "tag-fallback"
	}
	res.Artifact = desc
	res.Reference = req.Ref.Repo() + "@" + desc.Digest.String()
	return res, nil
}

// BuildArtifact builds the artifact manifest for a signature envelope of
// sigFormat (jwt, jws, cose) over subject, in the given artifact format
// (prototype or oci), and returns its bytes and media type. The OCI form of
// a Notary Project envelope carries what notation puts on a signature
// manifest. `signet generate artifact` and push-signature both use it, so
// the artifact a user builds is the one signet would push.
func BuildArtifact(format string, envelope []byte, sigFormat string, subject ocispec.Descriptor, annotations map[string]string) ([]byte, string, error) {
	sigDesc := ocispec.Descriptor{MediaType: artifact.BlobMediaType(sigFormat), Digest: digest.FromBytes(envelope), Size: int64(len(envelope))}
	if format == FormatPrototype {
		if sigFormat != "jwt" {
			return nil, "", errdef.Usage(fmt.Errorf("the prototype artifact format carries x509 JWT signatures only; use --artifact-format oci for %s", sigFormat))
		}
		b, err := artifact.NewPrototype(sigDesc, subject).Marshal()
		return b, artifact.MediaTypeArtifactManifest, err
	}
	artifactType := artifact.ArtifactTypeNotaryV2
	if sigFormat != "jwt" {
		artifactType = artifact.ArtifactTypeNotation
		var err error
		annotations, err = notationAnnotations(envelope, sigFormat, annotations)
		if err != nil {
			return nil, "", err
		}
	}
	b, err := artifact.MarshalOCI(artifact.NewOCI(artifactType, sigDesc, subject, annotations))
	return b, ocispec.MediaTypeImageManifest, err
}

// notationAnnotations returns extra plus what notation puts on a signature
// manifest: the chain thumbprints (required by Notary Project verifiers)
// and org.opencontainers.image.created, the signing time.
func notationAnnotations(envelope []byte, sigFormat string, extra map[string]string) (map[string]string, error) {
	a, err := notation.ManifestAnnotations(envelope, sigFormat)
	if err != nil {
		return nil, fmt.Errorf("reading the %s signature for its manifest annotations: %w", sigFormat, err)
	}
	for k, v := range extra {
		if _, set := a[k]; !set {
			a[k] = v
		}
	}
	return a, nil
}

func pickPrebuilt(asked, have string) string {
	if asked == "" || asked == FormatAuto || asked == have {
		return have
	}
	return ""
}

func explainManifestPush(req Request, format string, err error) error {
	if remote.HasErrorCode(err, errcode.ErrorCodeManifestUnknown, errcode.ErrorCodeManifestBlobUnknown) {
		return errdef.NotFound(fmt.Errorf("registry refused the artifact: the signed manifest %s is not in %s; push the image first (signet copy …)", req.Subject.Digest, req.Ref.Repo()))
	}
	var resp *errcode.ErrorResponse
	if format == FormatPrototype && errors.As(err, &resp) && resp.StatusCode == http.StatusBadRequest {
		return fmt.Errorf("registry %s refused the prototype artifact manifest (%s): it does not serve the prototype links extension; push with --artifact-format oci, or auto, which picks it", req.Ref.Registry, resp.Errors)
	}
	return fmt.Errorf("pushing the artifact manifest to %s: %w", req.Ref.Repo(), err)
}
