package remote

import (
	"context"
	"errors"

	"github.com/opencontainers/go-digest"

	"github.com/signet-oci/signet/pkg/artifact"
	"github.com/signet-oci/signet/pkg/reference"
)

// ServesLinks reports, with one links request for subject, whether ref's
// registry serves the prototype links API: where it does, signature
// artifacts are pushed (push-signature) and copied (copy -r) in the
// prototype format; elsewhere as OCI 1.1 artifacts with a subject.
func (c *Client) ServesLinks(ctx context.Context, ref reference.Reference, subject digest.Digest) (bool, error) {
	_, err := c.Links(ctx, ref, subject.String(), artifact.ArtifactTypeNotaryV2)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, ErrLinksUnsupported):
		return false, nil
	}
	return false, err
}
