package remote

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/registry"
	"oras.land/oras-go/v2/registry/remote/auth"

	"github.com/signet-oci/signet/pkg/reference"
)

// PushSmallBlob uploads data (already in memory: a signature, an empty
// config) to ref's repository unless it is there, in as few round trips as
// the registry allows: HEAD, then a monolithic POST ?digest= (one request on
// registries that accept it, POST then PUT on the others). It reports
// whether the blob was uploaded.
func (c *Client) PushSmallBlob(ctx context.Context, ref reference.Reference, desc ocispec.Descriptor, data []byte) (bool, error) {
	if int64(len(data)) != desc.Size || desc.Digest.Algorithm().FromBytes(data) != desc.Digest {
		return false, fmt.Errorf("blob %s: content does not match its descriptor", desc.Digest)
	}
	ctx = auth.AppendRepositoryScope(ctx, registry.Reference{Registry: ref.Registry, Repository: ref.Repository}, auth.ActionPull, auth.ActionPush)
	base := c.BaseURL(ref.Registry) + "/v2/" + ref.Repository + "/blobs/"

	head, err := http.NewRequestWithContext(ctx, http.MethodHead, base+desc.Digest.String(), nil)
	if err != nil {
		return false, err
	}
	resp, err := c.auth.Do(head)
	if err != nil {
		return false, err
	}
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		return false, nil
	case http.StatusNotFound:
	default:
		return false, httpError(resp)
	}

	post, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"uploads/?digest="+url.QueryEscape(desc.Digest.String()), bytes.NewReader(data))
	if err != nil {
		return false, err
	}
	post.GetBody = func() (rc io.ReadCloser, err error) { return io.NopCloser(bytes.NewReader(data)), nil }
	post.ContentLength = int64(len(data))
	post.Header.Set("Content-Type", "application/octet-stream")
	resp, err = c.auth.Do(post)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusCreated:
		return true, nil
	case http.StatusAccepted:
		// The registry opened an upload session instead; finish it.
	default:
		return false, httpError(resp)
	}
	loc, err := resp.Location()
	if err != nil {
		return false, fmt.Errorf("upload of %s: registry gave no upload location: %w", desc.Digest, err)
	}
	if loc.Host != post.URL.Host || loc.Scheme != post.URL.Scheme {
		return false, fmt.Errorf("upload of %s: registry sent the upload to another origin (%s)", desc.Digest, loc.Host)
	}
	q := loc.Query()
	q.Set("digest", desc.Digest.String())
	loc.RawQuery = q.Encode()
	put, err := http.NewRequestWithContext(ctx, http.MethodPut, loc.String(), bytes.NewReader(data))
	if err != nil {
		return false, err
	}
	put.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
	put.ContentLength = int64(len(data))
	put.Header.Set("Content-Type", "application/octet-stream")
	presp, err := c.auth.Do(put)
	if err != nil {
		return false, err
	}
	defer presp.Body.Close()
	if presp.StatusCode != http.StatusCreated {
		return false, httpError(presp)
	}
	return true, nil
}
