// Package removal removes signature artifacts from a registry: one
// signature of a subject, or those verification rejects, found through
// every mechanism that lists them (pkg/discover, pkg/verify), deleted by
// the mechanism's own means, and checked gone afterwards.
//
// Nothing is deleted unless discovery proves it is a signature of the
// subject: listed for the subject, its manifest fetched, digest-checked and
// naming the subject, its envelope a signature. Through the referrers API
// and the prototype links API an artifact is removed by deleting its
// manifest (DELETE /v2/<name>/manifests/<digest>), which is how both
// unlist it. On the sha256-<hex> tag fallback the index under that tag is
// rewritten without the entry first, through remote.UpdateReferrersIndex
// (the one writer of that index: conditional where the registry honours
// it, verified and retried where it does not, so that no entry a
// concurrent writer adds is lost), and the manifest is deleted after: no
// listing ever points at a deleted manifest. A registry that refuses the
// DELETE there leaves the signature unlisted but its manifest stored
// (Result.ManifestKept says why).
package removal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/signet-oci/signet/pkg/discover"
	"github.com/signet-oci/signet/pkg/errdef"
	"github.com/signet-oci/signet/pkg/reference"
	"github.com/signet-oci/signet/pkg/remote"
	"github.com/signet-oci/signet/pkg/verify"
)

// Mechanism names (as pkg/discover reports them).
const (
	Links       = "links"
	Referrers   = "referrers"
	TagFallback = "tag-fallback"
)

// MaxSignatures bounds how many signatures of the subject are examined to
// find the one to remove.
const MaxSignatures = 1000

// Plan is a signature to remove.
type Plan struct {
	Ref     reference.Reference
	Subject ocispec.Descriptor
	// Artifact is the signature artifact's manifest.
	Artifact ocispec.Descriptor
	// Format is the envelope format (jwt, jws, cose).
	Format string
	// Mechanisms list it (links, referrers, tag-fallback).
	Mechanisms []string
	// IndexOptions tune the rewrite of the sha256-<hex> index (nil: the
	// defaults of remote.UpdateReferrersIndex).
	IndexOptions *remote.IndexUpdateOptions
}

// Find resolves ref and finds artifact among its signatures. It fails with
// errdef.ErrNotFound when artifact is not a signature of ref.
func Find(ctx context.Context, client *remote.Client, ref reference.Reference, artifact digest.Digest) (*Plan, error) {
	if err := artifact.Validate(); err != nil {
		return nil, errdef.Usage(fmt.Errorf("--artifact %q is not a digest: %v", artifact, err))
	}
	d, err := discover.New(client, ref, discover.Options{Depth: 1})
	if err != nil {
		return nil, err
	}
	subject, err := d.Resolve(ctx)
	if err != nil {
		return nil, err
	}
	if artifact == subject.Digest {
		return nil, errdef.Usage(fmt.Errorf("%s is %s itself, not one of its signatures; delete-signature removes signatures only", artifact, ref.Raw))
	}
	found, _, err := d.Signatures(ctx, subject, discover.SignatureOptions{MaxSignatures: MaxSignatures})
	if err != nil && !errors.Is(err, errdef.ErrNotFound) {
		return nil, err
	}
	for _, f := range found {
		if f.Artifact.Digest != artifact {
			continue
		}
		if f.Err != nil {
			return nil, fmt.Errorf("%s is listed for %s but could not be confirmed as its signature, so it is not deleted: %w", artifact, ref.WithDigest(subject.Digest), f.Err)
		}
		p := &Plan{Ref: ref, Subject: subject, Artifact: f.Artifact, Mechanisms: slices.Clone(f.Mechanisms)}
		if f.Signature != nil {
			p.Format = f.Signature.Format
		}
		return p, nil
	}
	return nil, errdef.NotFound(fmt.Errorf("%s is not a signature of %s (it has %d signature(s); 'signet discover %s' lists them); nothing was deleted", artifact, ref.WithDigest(subject.Digest), len(found), ref.Raw))
}

// Result of Execute.
type Result struct {
	// AlreadyGone is true when the registry no longer had the manifest.
	AlreadyGone bool
	// Unlisted is set when the entry was removed from the sha256-<hex>
	// index (tag fallback): how that update went.
	Unlisted *remote.IndexUpdateResult
	// ManifestKept is set when the signature was unlisted from the tag
	// fallback but the registry refused to delete its manifest: the
	// signature is no longer listed (discovery and verify no longer see
	// it), its manifest stays stored until the registry allows deletion.
	ManifestKept *RefusedError
	// StillListedBy names mechanisms that list the artifact after the
	// delete (empty on success).
	StillListedBy []string
}

// RefusedError is a registry refusing the DELETE.
type RefusedError struct {
	Host   string
	Status int
	Body   string
}

func (e *RefusedError) Error() string {
	msg := fmt.Sprintf("registry %s refuses to delete manifests (%d %s)", e.Host, e.Status, http.StatusText(e.Status))
	switch e.Status {
	case http.StatusMethodNotAllowed:
		msg += ": deletion is disabled there; it must allow DELETE /v2/<name>/manifests/<digest> (distribution: storage.delete.enabled: true, or REGISTRY_STORAGE_DELETE_ENABLED=true)"
	case http.StatusUnauthorized, http.StatusForbidden:
		msg += ": the credentials in use may not delete in this repository; 'signet login' with an account allowed to delete"
	}
	if e.Body != "" {
		msg += "; the registry said: " + e.Body
	}
	return msg
}

// Execute removes the plan's artifact: its entry from the sha256-<hex>
// index when the tag fallback lists it, then its manifest (DELETE), and
// checks that no mechanism lists it afterwards. A registry refusing the
// DELETE fails Execute with a *RefusedError, except after the tag fallback
// entry was removed: the signature is unlisted then, which counts, and
// Result.ManifestKept reports the refusal.
func (p *Plan) Execute(ctx context.Context, client *remote.Client) (*Result, error) {
	res := &Result{}
	if slices.Contains(p.Mechanisms, TagFallback) {
		// Unlist first: a listing must never name a deleted manifest.
		ir, err := client.UpdateReferrersIndex(ctx, p.Ref, p.Subject.Digest, remote.IndexChange{Remove: []digest.Digest{p.Artifact.Digest}}, p.IndexOptions)
		if err != nil {
			return nil, fmt.Errorf("removing %s from the referrers tag %s: %w; nothing was deleted", p.Artifact.Digest, remote.ReferrersTag(p.Subject.Digest), err)
		}
		res.Unlisted = ir
	}
	u := fmt.Sprintf("%s/v2/%s/manifests/%s", client.BaseURL(p.Ref.Registry), p.Ref.Repository, p.Artifact.Digest)
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.HTTPClient().Do(req)
	if err != nil {
		err = remote.Explain(p.Ref.Registry, err)
		if res.Unlisted != nil {
			return res, fmt.Errorf("removed %s from the referrers tag %s (no longer listed), but deleting its manifest failed: %w", p.Artifact.Digest, res.Unlisted.Tag, err)
		}
		return nil, err
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusAccepted || resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusNoContent:
	case resp.StatusCode == http.StatusNotFound:
		res.AlreadyGone = true
	default:
		refused := &RefusedError{Host: p.Ref.Registry, Status: resp.StatusCode, Body: oneLine(string(body), 200)}
		if res.Unlisted == nil {
			return nil, refused
		}
		res.ManifestKept = refused
	}
	// Check: discovery must not list it any more.
	d, err := discover.New(client, p.Ref, discover.Options{Depth: 1})
	if err != nil {
		return res, err
	}
	found, _, err := d.Signatures(ctx, p.Subject, discover.SignatureOptions{MaxSignatures: MaxSignatures})
	if err != nil && !errors.Is(err, errdef.ErrNotFound) {
		return res, fmt.Errorf("removed %s, but listing the signatures again failed: %w", p.Artifact.Digest, err)
	}
	for _, f := range found {
		if f.Artifact.Digest == p.Artifact.Digest {
			res.StillListedBy = f.Mechanisms
		}
	}
	if len(res.StillListedBy) > 0 {
		return res, fmt.Errorf("removed %s, but %s still lists it", p.Artifact.Digest, strings.Join(res.StillListedBy, ", "))
	}
	return res, nil
}

func oneLine(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > max {
		s = s[:max] + "…"
	}
	return s
}

// Selection says which signatures Rejected picks.
type Selection int

// Selections.
const (
	// AllInvalid: every signature verify rejects, except those it could not
	// fetch (nothing proves those are signatures of the subject).
	AllInvalid Selection = iota
	// Expired: signatures verify rejects as expired (errorClass "expired":
	// past the signature's own expiry).
	Expired
)

// Rejected verifies ref's signatures with opts and returns a plan for each
// one the selection picks, and, separately, the picked ones that cannot be
// removed with the reason (none at present: every mechanism is supported).
// The report is returned too. It fails with errdef.ErrNotFound when ref has no signature.
func Rejected(ctx context.Context, client *remote.Client, ref reference.Reference, opts verify.Options, sel Selection) ([]*Plan, []error, *verify.Report, error) {
	rep, err := verify.Remote(ctx, client, ref, opts)
	if rep == nil {
		return nil, nil, nil, err
	}
	if err != nil && !errors.Is(err, errdef.ErrVerification) {
		return nil, nil, rep, err
	}
	var plans []*Plan
	var skipped []error
	for _, v := range rep.Signatures {
		if v.Valid || v.Artifact == nil || v.Class == "fetch" {
			continue
		}
		if sel == Expired && v.Class != "expired" {
			continue
		}
		plans = append(plans, &Plan{Ref: ref, Subject: rep.Subject, Artifact: *v.Artifact, Format: v.Format, Mechanisms: slices.Clone(v.Mechanisms)})
	}
	return plans, skipped, rep, nil
}
