package push

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/content/oci"

	"github.com/signet-oci/signet/internal/fsutil"
	"github.com/signet-oci/signet/pkg/artifact"
	"github.com/signet-oci/signet/pkg/errdef"
)

// MaxIndexSize bounds the index.json of a layout push-signature rewrites.
const MaxIndexSize = 64 << 20

// ErrPrototypeInLayout is the refusal of a prototype artifact for an OCI
// layout: nothing could find it there (a layout has no links API).
var ErrPrototypeInLayout = errors.New("an OCI layout has no links API, so a prototype artifact stored there could not be found; use --artifact-format oci (or auto, which picks it for a layout)")

// OpenLayout opens the existing OCI image layout dir for a signature push,
// with oras-go's automatic index saving off: Layout writes index.json
// itself, atomically, once everything else is in place.
func OpenLayout(ctx context.Context, dir string) (*oci.Store, error) {
	if _, err := os.Stat(filepath.Join(dir, ocispec.ImageIndexFile)); err != nil {
		return nil, fmt.Errorf("%s is not an OCI image layout (no %s)", dir, ocispec.ImageIndexFile)
	}
	s, err := oci.NewWithContext(ctx, dir)
	if errors.Is(err, content.ErrMismatchedDigest) || errors.Is(err, content.ErrTrailingData) {
		return nil, fmt.Errorf("the OCI layout %s is damaged: a manifest it holds does not match its digest (changed or damaged on disk); copy the layout again from its source", dir)
	}
	if err != nil {
		return nil, fmt.Errorf("opening the OCI layout %s: %w", dir, err)
	}
	s.AutoSaveIndex = false
	return s, nil
}

// Layout stores req.Signature in the OCI image layout store (opened with
// OpenLayout on req.Ref.Path) next to the manifest it signs, as an OCI 1.1
// artifact manifest whose subject is that manifest: the form every
// layout-reading tool finds (oras-go's oci.Store answers Predecessors from
// it; oras discover --oci-layout and notation verify --oci-layout list it).
// A prototype artifact is refused (ErrPrototypeInLayout). The blobs and the
// manifest are written first (each whole, by oras-go), then index.json,
// atomically, with the artifact manifest added untagged, so that a later
// process loading the layout finds the referrer. On failure the blobs this
// call added are removed and index.json is as it was.
func Layout(ctx context.Context, store *oci.Store, req Request) (res *Result, err error) {
	if req.Subject.Digest == "" {
		return nil, errors.New("no subject: the signed manifest is unknown")
	}
	if req.Ref.Digest != "" && req.Ref.Digest != req.Subject.Digest {
		return nil, errdef.Usage(fmt.Errorf("%s names %s, but the signature signs %s", req.Ref.Raw, req.Ref.Digest, req.Subject.Digest))
	}
	if req.Format == FormatPrototype {
		return nil, errdef.Usage(ErrPrototypeInLayout)
	}
	dir := req.Ref.Path
	sigDesc := ocispec.Descriptor{MediaType: artifact.BlobMediaType(req.SignatureFormat), Digest: digest.FromBytes(req.Signature), Size: int64(len(req.Signature))}
	var manifestBytes []byte
	if req.Artifact != nil {
		p, err := artifact.Parse("", req.Artifact)
		if err != nil {
			return nil, fmt.Errorf("--artifact: %w", err)
		}
		if p.Kind == artifact.KindPrototype {
			return nil, errdef.Usage(fmt.Errorf("--artifact holds a prototype artifact: %w (signet generate artifact --artifact-format oci)", ErrPrototypeInLayout))
		}
		if !p.Names(req.Subject.Digest) {
			return nil, fmt.Errorf("--artifact does not point at the signed manifest %s", req.Subject.Digest)
		}
		if p.Blob.Digest != sigDesc.Digest || p.Blob.Size != sigDesc.Size {
			return nil, fmt.Errorf("--artifact points at signature %s (%d bytes), but --signature is %s (%d bytes)", p.Blob.Digest, p.Blob.Size, sigDesc.Digest, sigDesc.Size)
		}
		sigDesc.MediaType = p.Blob.MediaType
		manifestBytes = req.Artifact
	} else {
		manifestBytes, _, err = BuildArtifact(FormatOCI, req.Signature, req.SignatureFormat, req.Subject, req.Annotations)
		if err != nil {
			return nil, err
		}
		if req.SignatureFormat != "jwt" {
			if manifestBytes, err = notationLayoutForm(manifestBytes); err != nil {
				return nil, err
			}
		}
	}
	var fields struct {
		ArtifactType string `json:"artifactType"`
	}
	_ = json.Unmarshal(manifestBytes, &fields)
	desc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromBytes(manifestBytes), Size: int64(len(manifestBytes)), ArtifactType: fields.ArtifactType}

	var added []ocispec.Descriptor
	defer func() {
		if err != nil {
			for _, d := range added {
				os.Remove(filepath.Join(dir, ocispec.ImageBlobsDir, d.Digest.Algorithm().String(), d.Digest.Encoded()))
			}
		}
	}()
	put := func(d ocispec.Descriptor, b []byte) (bool, error) {
		ok, err := store.Exists(ctx, d)
		if err != nil || ok {
			return false, err
		}
		if err := store.Push(ctx, d, bytes.NewReader(b)); err != nil {
			return false, fmt.Errorf("writing %s into the OCI layout %s: %w", d.Digest, dir, err)
		}
		added = append(added, d)
		return true, nil
	}
	res = &Result{Format: FormatOCI, Discovery: "referrers", Subject: req.Subject, Signature: sigDesc}
	if res.SignatureUploaded, err = put(sigDesc, req.Signature); err != nil {
		return nil, err
	}
	var m ocispec.Manifest
	if err = json.Unmarshal(manifestBytes, &m); err != nil {
		return nil, fmt.Errorf("the artifact manifest: %w", err)
	}
	if _, err = put(m.Config, artifact.EmptyConfigData); err != nil {
		return nil, err
	}
	if _, err = put(desc, manifestBytes); err != nil {
		return nil, err
	}
	if err = addToIndex(dir, desc); err != nil {
		return nil, err
	}
	if req.Format == FormatAuto || req.Format == "" {
		if req.SignatureFormat == "jwt" {
			res.Warnings = append(res.Warnings, "an OCI layout has no links API: stored as an OCI 1.1 artifact with subject (--artifact-format oci)")
		}
	}
	res.Artifact = desc
	res.Reference = "oci-layout:" + dir + "@" + desc.Digest.String()
	return res, nil
}

// addToIndex adds desc, untagged, to the manifests of dir's index.json,
// unless it is listed already, and writes the file atomically (a temporary
// file renamed over it). Every other member and entry is kept as it was.
// It holds the layout's lock (fsutil.LockDir) from reading to renaming, so
// that concurrent pushes keep each other's entries.
func addToIndex(dir string, desc ocispec.Descriptor) error {
	unlock, err := fsutil.LockDir(dir)
	if err != nil {
		return err
	}
	defer unlock()
	path := filepath.Join(dir, ocispec.ImageIndexFile)
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("reading %s: %w", path, fsutil.UnwrapPath(err))
	}
	b, err := fsutil.ReadFileLimit(path, MaxIndexSize)
	if err != nil {
		return fmt.Errorf("reading %s: %w", path, fsutil.UnwrapPath(err))
	}
	var index map[string]json.RawMessage
	if err := json.Unmarshal(b, &index); err != nil {
		return fmt.Errorf("%s is not a readable image index: %w", path, err)
	}
	var manifests []json.RawMessage
	if raw, ok := index["manifests"]; ok && string(raw) != "null" {
		if err := json.Unmarshal(raw, &manifests); err != nil {
			return fmt.Errorf("%s: its manifests are not a list: %w", path, err)
		}
	}
	for _, m := range manifests {
		var d ocispec.Descriptor
		if json.Unmarshal(m, &d) == nil && d.Digest == desc.Digest {
			return nil // listed already
		}
	}
	entry, err := json.Marshal(desc)
	if err != nil {
		return err
	}
	manifests = append(manifests, entry)
	if index["manifests"], err = json.Marshal(manifests); err != nil {
		return err
	}
	out, err := json.Marshal(index)
	if err != nil {
		return err
	}
	return fsutil.WriteFileAtomic(path, out, fi.Mode()&fs.ModePerm)
}

// notationLayoutForm gives a Notary Project signature manifest the config
// media type application/vnd.cncf.notary.signature (its config still the
// empty JSON object), keeping its artifactType: what notation itself
// writes into an OCI layout, and the only form notation-go v1.3 finds
// there (it reads a layout's referrers by their config media type, where a
// registry's referrers API reports artifactType).
func notationLayoutForm(b []byte) ([]byte, error) {
	var m ocispec.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	m.Config.MediaType = artifact.ArtifactTypeNotation
	return artifact.MarshalOCI(m)
}
