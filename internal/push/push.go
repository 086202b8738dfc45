// Package push is push-signature's work: pkg/push into a registry, Layout
// into an OCI image layout (signet's own file-writing rules, internal/fsutil).
package push

import (
	"context"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/signet-oci/signet/pkg/push"
	"github.com/signet-oci/signet/pkg/remote"
)

// The registry push is public, in pkg/push (a Go program signing images
// needs it); these names keep the CLI's callers, and Layout, unchanged.

// Artifact formats (pkg/push).
const (
	FormatAuto      = push.FormatAuto
	FormatPrototype = push.FormatPrototype
	FormatOCI       = push.FormatOCI
)

// Request is pkg/push.Request.
type Request = push.Request

// Result is pkg/push.Result.
type Result = push.Result

// Push is pkg/push.Push.
func Push(ctx context.Context, client *remote.Client, req Request) (*Result, error) {
	return push.Push(ctx, client, req)
}

// BuildArtifact is pkg/push.BuildArtifact.
func BuildArtifact(format string, envelope []byte, sigFormat string, subject ocispec.Descriptor, annotations map[string]string) ([]byte, string, error) {
	return push.BuildArtifact(format, envelope, sigFormat, subject, annotations)
}
