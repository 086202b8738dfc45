package remote

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/registry"
	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/errcode"

	"github.com/signet-oci/signet/pkg/reference"
)

// ErrPreconditionFailed is a conditional manifest PUT (If-Match,
// If-None-Match) that the registry refused with 412: someone else wrote
// the tag since it was read.
var ErrPreconditionFailed = errors.New("precondition failed: the tag changed since it was read")

// PushedManifest is what a registry said about a manifest PUT.
type PushedManifest struct {
	// Subject is the OCI-Subject response header: set when the registry
	// processed the manifest's subject (it serves the referrers API).
	Subject string
	// Digest is the Docker-Content-Digest response header, if any.
	Digest string
}

// PushManifest PUTs body (described by desc) as the manifest tagOrDigest of
// ref's repository, with the extra request headers in hdr (If-Match,
// If-None-Match), and reports the registry's answer. Unlike oras-go's
// manifest push it never touches a referrers index: the caller decides,
// from PushedManifest.Subject, whether the tag fallback is needed
// (UpdateReferrersIndex). A 412 is ErrPreconditionFailed; other refusals
// are *errcode.ErrorResponse.
func (c *Client) PushManifest(ctx context.Context, ref reference.Reference, tagOrDigest string, desc ocispec.Descriptor, body []byte, hdr http.Header) (*PushedManifest, error) {
	if err := c.usable(); err != nil {
		return nil, err
	}
	if int64(len(body)) != desc.Size || desc.Digest.Algorithm().FromBytes(body) != desc.Digest {
		return nil, fmt.Errorf("manifest %s: content does not match its descriptor", desc.Digest)
	}
	ctx = auth.AppendRepositoryScope(ctx, registry.Reference{Registry: ref.Registry, Repository: ref.Repository}, auth.ActionPull, auth.ActionPush)
	u := c.manifestURL(ref, tagOrDigest)
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, u, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", desc.MediaType)
	resp, err := c.auth.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusCreated, http.StatusOK, http.StatusAccepted:
	case http.StatusPreconditionFailed:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil, ErrPreconditionFailed
	default:
		return nil, errorResponse(resp)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	got := resp.Header.Get("Docker-Content-Digest")
	if got != "" && got != desc.Digest.String() {
		return nil, fmt.Errorf("PUT %s: the registry stored digest %s, not %s", u, got, desc.Digest)
	}
	return &PushedManifest{Subject: resp.Header.Get("OCI-Subject"), Digest: got}, nil
}

// fetchedManifest is a manifest read by tag, with what the registry said
// about its version.
type fetchedManifest struct {
	found     bool
	mediaType string
	body      []byte
	digest    digest.Digest
	etag      string // the ETag header, verbatim ("" if none)
}

// fetchManifest GETs the manifest tagOrDigest of ref's repository, at most
// limit bytes; a 404 is found == false, not an error.
func (c *Client) fetchManifest(ctx context.Context, ref reference.Reference, tagOrDigest string, accept []string, limit int64) (*fetchedManifest, error) {
	ctx = auth.AppendRepositoryScope(ctx, registry.Reference{Registry: ref.Registry, Repository: ref.Repository}, auth.ActionPull)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.manifestURL(ref, tagOrDigest), nil)
	if err != nil {
		return nil, err
	}
	for _, a := range accept {
		req.Header.Add("Accept", a)
	}
	// Read-after-write checks must see the registry, not a cache.
	req.Header.Set("Cache-Control", "no-cache")
	resp, err := c.auth.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotFound:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return &fetchedManifest{}, nil
	default:
		return nil, errorResponse(resp)
	}
	if resp.ContentLength > limit {
		return nil, fmt.Errorf("GET %s: manifest of %d bytes, over the limit of %d", req.URL.Redacted(), resp.ContentLength, limit)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", req.URL.Redacted(), err)
	}
	if int64(len(body)) > limit {
		return nil, fmt.Errorf("GET %s: manifest over the limit of %d bytes", req.URL.Redacted(), limit)
	}
	d := digest.FromBytes(body)
	if h := resp.Header.Get("Docker-Content-Digest"); h != "" {
		hd, err := digest.Parse(h)
		if err != nil || hd.Algorithm().FromBytes(body) != hd {
			return nil, fmt.Errorf("GET %s: the body does not match Docker-Content-Digest %q", req.URL.Redacted(), h)
		}
		d = hd
	}
	return &fetchedManifest{found: true, mediaType: resp.Header.Get("Content-Type"), body: body, digest: d, etag: resp.Header.Get("ETag")}, nil
}

func (c *Client) manifestURL(ref reference.Reference, tagOrDigest string) string {
	return c.BaseURL(ref.Registry) + "/v2/" + ref.Repository + "/manifests/" + url.PathEscape(tagOrDigest)
}

// errorResponse reads a registry's error answer as oras-go does.
func errorResponse(resp *http.Response) error {
	e := &errcode.ErrorResponse{Method: resp.Request.Method, URL: resp.Request.URL, StatusCode: resp.StatusCode}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var b struct {
		Errors errcode.Errors `json:"errors"`
	}
	if json.Unmarshal(body, &b) == nil {
		e.Errors = b.Errors
	}
	return e
}
