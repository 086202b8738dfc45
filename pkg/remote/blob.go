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
// the registry allows. It reports whether the blob was uploaded.
//
// The first request is a cross-repository mount from the repository itself
// (POST uploads/?mount=<digest>&from=<repo>): a registry that has the blob
// answers 201 and nothing more is sent; one that has not answers 202 with
// an upload session, which a single PUT ?digest= completes. That is one
// request for a blob already there and two for a new one, on every
// registry (distribution v3 refuses monolithic POST ?digest= uploads, so a
// HEAD-then-POST push costs it three). A registry that refuses the mount
// request itself (4xx) gets the classic path: HEAD, then a monolithic POST
// ?digest= (one request where accepted, POST then PUT elsewhere).
func (c *Client) PushSmallBlob(ctx context.Context, ref reference.Reference, desc ocispec.Descriptor, data []byte) (bool, error) {
	if err := c.usable(); err != nil {
		return false, err
	}
	if int64(len(data)) != desc.Size || desc.Digest.Algorithm().FromBytes(data) != desc.Digest {
		return false, fmt.Errorf("blob %s: content does not match its descriptor", desc.Digest)
	}
	ctx = auth.AppendRepositoryScope(ctx, registry.Reference{Registry: ref.Registry, Repository: ref.Repository}, auth.ActionPull, auth.ActionPush)
	base := c.BaseURL(ref.Registry) + "/v2/" + ref.Repository + "/blobs/"

	mount, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"uploads/?mount="+url.QueryEscape(desc.Digest.String())+"&from="+url.QueryEscape(ref.Repository), nil)
	if err != nil {
		return false, err
	}
	resp, err := c.auth.Do(mount)
	if err != nil {
		return false, err
	}
	switch resp.StatusCode {
	case http.StatusCreated:
		resp.Body.Close()
		return false, nil
	case http.StatusAccepted:
		defer resp.Body.Close()
		return true, c.finishUpload(ctx, mount, resp, desc, data)
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusTooManyRequests:
		defer resp.Body.Close()
		return false, httpError(resp)
	}
	if resp.StatusCode >= 500 {
		defer resp.Body.Close()
		return false, httpError(resp)
	}
	// Some other 4xx: the registry does not take mount requests.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return c.pushSmallBlobClassic(ctx, base, desc, data)
}

// pushSmallBlobClassic is HEAD, then a monolithic POST ?digest= (finished
// with a PUT when the registry opens a session instead).
func (c *Client) pushSmallBlobClassic(ctx context.Context, base string, desc ocispec.Descriptor, data []byte) (bool, error) {
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
		return true, c.finishUpload(ctx, post, resp, desc, data)
	default:
		return false, httpError(resp)
	}
}

// finishUpload completes the upload session resp opened with one PUT
// ?digest= carrying the whole blob.
func (c *Client) finishUpload(ctx context.Context, req *http.Request, resp *http.Response, desc ocispec.Descriptor, data []byte) error {
	loc, err := resp.Location()
	if err != nil {
		return fmt.Errorf("upload of %s: registry gave no upload location: %w", desc.Digest, err)
	}
	if loc.Host != req.URL.Host || loc.Scheme != req.URL.Scheme {
		return fmt.Errorf("upload of %s: registry sent the upload to another origin (%s)", desc.Digest, loc.Host)
	}
	q := loc.Query()
	q.Set("digest", desc.Digest.String())
	loc.RawQuery = q.Encode()
	put, err := http.NewRequestWithContext(ctx, http.MethodPut, loc.String(), bytes.NewReader(data))
	if err != nil {
		return err
	}
	put.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
	put.ContentLength = int64(len(data))
	put.Header.Set("Content-Type", "application/octet-stream")
	presp, err := c.auth.Do(put)
	if err != nil {
		return err
	}
	defer presp.Body.Close()
	if presp.StatusCode != http.StatusCreated {
		return httpError(presp)
	}
	return nil
}
