package remote

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"oras.land/oras-go/v2/registry"
	"oras.land/oras-go/v2/registry/remote/auth"

	"github.com/signet-oci/signet/pkg/reference"
)

// ErrLinksUnsupported says the registry does not serve the prototype links
// extension.
var ErrLinksUnsupported = errors.New("registry does not serve the prototype links API")

// ErrLinksArtifactTypeRequired says the registry serves the links API but
// only for one artifact type at a time: it answered a request without
// ?artifact-type= with 400 ARTIFACT_TYPE_UNSPECIFIED, as the 2021 prototype
// registry does (formats.md §4). Ask again with a type; it is not
// ErrLinksUnsupported.
var ErrLinksArtifactTypeRequired = errors.New("the registry's links API requires an artifact type (400 ARTIFACT_TYPE_UNSPECIFIED)")

// LinksPath is the prototype's links endpoint, formats.md §4.
const LinksPath = "/v2/_ext/oci-artifacts/v1/%s/manifests/%s/links"

// LinksResponse is the prototype links API answer (formats.md §4). Entries
// are the stored artifact manifests, compacted, without their digests.
type LinksResponse struct {
	Digest   string            `json:"digest,omitempty"`
	Tag      string            `json:"tag,omitempty"`
	Links    []json.RawMessage `json:"links"`
	NextLink string            `json:"nextLink,omitempty"`
}

// MaxLinks bounds how many entries one links response may hold.
const MaxLinks = 100000

// Links asks the prototype links API of ref's repository for the artifacts
// that link to selector (a tag or digest) of artifactType. Callers should
// always send the type they look for: the 2021 prototype registry refuses a
// request without one. An empty artifactType asks for every type, which
// later registries (signet's among them) allow; one that does not answers
// ErrLinksArtifactTypeRequired. It returns ErrLinksUnsupported when the
// registry lacks the extension.
func (c *Client) Links(ctx context.Context, ref reference.Reference, selector, artifactType string) (*LinksResponse, error) {
	if err := c.usable(); err != nil {
		return nil, err
	}
	u := c.BaseURL(ref.Registry) + fmt.Sprintf(LinksPath, ref.Repository, url.PathEscape(selector))
	if artifactType != "" {
		u += "?artifact-type=" + url.QueryEscape(artifactType)
	}
	ctx = auth.AppendRepositoryScope(ctx, registry.Reference{Registry: ref.Registry, Repository: ref.Repository}, auth.ActionPull)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.auth.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotFound, http.StatusMethodNotAllowed, http.StatusBadRequest:
		// A registry without the extension answers 404 (or 400/405 for an
		// unknown route). A registry with it answers 404 MANIFEST_UNKNOWN
		// for an unknown tag.
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		if resp.StatusCode == http.StatusNotFound && isErrorCode(body, "MANIFEST_UNKNOWN") {
			return nil, fmt.Errorf("%s: %w", ref.Repo()+":"+selector, ErrManifestUnknown)
		}
		if resp.StatusCode == http.StatusBadRequest && isErrorCode(body, "ARTIFACT_TYPE_UNSPECIFIED") {
			// The route exists and wants a type: "ask with a type",
			// never "no links API".
			return nil, fmt.Errorf("%s: %w", ref.Registry, ErrLinksArtifactTypeRequired)
		}
		return nil, ErrLinksUnsupported
	default:
		return nil, httpError(resp)
	}
	lr, err := DecodeLinks(resp.Body, c.opts.MaxMetadataSize)
	if err != nil && !errors.Is(err, ErrLinksUnsupported) {
		return nil, fmt.Errorf("links response from %s: %w", ref.Registry, err)
	}
	return lr, err
}

// ErrLinksTooLarge is returned for a links response over the size or
// entry-count bounds.
var ErrLinksTooLarge = errors.New("links response too large")

// DecodeLinks reads a links API response body of at most limit bytes (0:
// DefaultMaxMetadataSize) and at most MaxLinks entries. A body that is not
// the links shape is ErrLinksUnsupported (a registry without the extension
// answering something else, an HTML page say); one over a bound is
// ErrLinksTooLarge (wrapped).
func DecodeLinks(r io.Reader, limit int64) (*LinksResponse, error) {
	if limit <= 0 {
		limit = DefaultMaxMetadataSize
	}
	var lr LinksResponse
	lim := &io.LimitedReader{R: r, N: limit + 1}
	dec := json.NewDecoder(lim)
	if err := dec.Decode(&lr); err != nil {
		if lim.N <= 0 {
			return nil, fmt.Errorf("larger than %d bytes: %w", limit, ErrLinksTooLarge)
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("truncated: %w", err)
		}
		return nil, ErrLinksUnsupported
	}
	if dec.InputOffset() > limit {
		// The limited reader lets limit+1 bytes through to tell a body
		// over the limit: a value of exactly limit+1 bytes is over it too.
		return nil, fmt.Errorf("larger than %d bytes: %w", limit, ErrLinksTooLarge)
	}
	if lr.Links == nil {
		return nil, ErrLinksUnsupported
	}
	if len(lr.Links) > MaxLinks {
		return nil, fmt.Errorf("%d entries, more than the limit of %d: %w", len(lr.Links), MaxLinks, ErrLinksTooLarge)
	}
	return &lr, nil
}

// ErrManifestUnknown is returned for a tag or digest the registry does not know.
var ErrManifestUnknown = errors.New("manifest unknown")

func isErrorCode(body []byte, code string) bool {
	var e struct {
		Errors []struct {
			Code string `json:"code"`
		} `json:"errors"`
	}
	if json.Unmarshal(body, &e) != nil {
		return false
	}
	for _, x := range e.Errors {
		if x.Code == code {
			return true
		}
	}
	return false
}

func httpError(resp *http.Response) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var e struct {
		Errors []struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"errors"`
	}
	msg := ""
	if json.Unmarshal(body, &e) == nil && len(e.Errors) > 0 {
		msg = ": " + e.Errors[0].Code
		if e.Errors[0].Message != "" {
			msg += " (" + e.Errors[0].Message + ")"
		}
	}
	return &StatusError{Method: resp.Request.Method, URL: resp.Request.URL.Redacted(), StatusCode: resp.StatusCode, Detail: msg}
}

// StatusError is an unexpected HTTP status from a registry.
type StatusError struct {
	Method     string
	URL        string
	StatusCode int
	Detail     string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%s %s: %d %s%s", e.Method, e.URL, e.StatusCode, http.StatusText(e.StatusCode), e.Detail)
}
