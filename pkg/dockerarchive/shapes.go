package dockerarchive

import (
	"fmt"
	"path"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/signet-oci/signet/pkg/manifest"
)

// legacyImage is one element of a `docker save` manifest.json.
type legacyImage struct {
	Config   string
	RepoTags []string
	Layers   []string
}

// annotationImageName is the full image name Docker 25+ and containerd
// record on index.json entries.
const annotationImageName = "io.containerd.image.name"

// openLegacy prepares a legacy-shape archive: it synthesizes the Docker
// schema 2 manifest exactly as docker-generate v0.1.0 did (formats.md §1).
func (a *Archive) openLegacy() error {
	img, err := a.readLegacyManifest()
	if err != nil {
		return err
	}
	if img.Config == "" {
		return a.entryErrorf("manifest.json", "the image has no Config")
	}
	if len(img.Layers) == 0 {
		return a.entryErrorf("manifest.json", "the image has no Layers")
	}
	if len(img.Layers) > MaxLayers {
		return a.entryErrorf("manifest.json", "%d layers, more than the %d allowed", len(img.Layers), MaxLayers)
	}

	// Config: digest from the file name, size from the file.
	cfgName, err := cleanName(img.Config)
	if err != nil || cfgName == "" {
		return a.entryErrorf("manifest.json", "Config %q: invalid name", truncate(img.Config))
	}
	cfgDigest, err := configDigest(cfgName)
	if err != nil {
		return a.entryErrorf("manifest.json", "Config %q: %v", truncate(img.Config), err)
	}
	cfg, err := a.lookup(cfgName)
	if err != nil {
		return err
	}
	if got, err := a.hashEntry(cfg); err != nil {
		return err
	} else if got != cfgDigest {
		return a.entryErrorf(cfgName, "corrupt: its sha256 is %s, its name says %s", got, cfgDigest)
	}
	a.blobs = map[digest.Digest]*blob{}
	cfgDesc := ocispec.Descriptor{MediaType: manifest.MediaTypeDockerConfig, Digest: cfgDigest, Size: cfg.size}
	a.blobs[cfgDigest] = &blob{desc: cfgDesc, entry: cfg}

	dm := manifest.DockerManifest{
		SchemaVersion: 2,
		MediaType:     manifest.MediaTypeDockerManifest,
		Config:        manifest.Descriptor{MediaType: cfgDesc.MediaType, Size: cfgDesc.Size, Digest: cfgDesc.Digest},
	}
	done := map[string]*blob{}
	for i, l := range img.Layers {
		name, err := cleanName(l)
		if err != nil || name == "" {
			return a.entryErrorf("manifest.json", "Layers[%d] %q: invalid name", i, truncate(l))
		}
		e, err := a.lookup(name)
		if err != nil {
			return err
		}
		b := done[e.name]
		if b == nil {
			d, size, err := a.gzipEntry(e)
			if err != nil {
				return err
			}
			b = &blob{desc: ocispec.Descriptor{MediaType: manifest.MediaTypeDockerLayer, Digest: d, Size: size}, entry: e, gzip: true}
			done[e.name] = b
			if a.blobs[d] == nil {
				a.blobs[d] = b
			}
		}
		dm.Layers = append(dm.Layers, manifest.Descriptor{MediaType: b.desc.MediaType, Size: b.desc.Size, Digest: b.desc.Digest})
	}
	mb, err := manifest.MarshalDockerGenerate(dm)
	if err != nil {
		return a.errorf("%v", err)
	}
	a.manifest = mb
	a.desc = ocispec.Descriptor{MediaType: manifest.MediaTypeDockerManifest, Digest: digest.FromBytes(mb), Size: int64(len(mb))}
	a.addRepoTags(img.RepoTags)
	return nil
}

// readLegacyManifest reads manifest.json and returns its single image.
func (a *Archive) readLegacyManifest() (legacyImage, error) {
	raw, err := a.readSmall("manifest.json", MaxJSONSize)
	if err != nil {
		return legacyImage{}, err
	}
	var images []legacyImage
	if err := decodeJSON(raw, &images); err != nil {
		return legacyImage{}, a.entryErrorf("manifest.json", "not a docker save manifest: %v", err)
	}
	if len(images) != 1 {
		return legacyImage{}, a.entryErrorf("manifest.json", "lists %d images; signet reads archives of exactly one image (docker save IMAGE)", len(images))
	}
	return images[0], nil
}

func (a *Archive) addRepoTags(tags []string) {
	for i, t := range tags {
		if i >= MaxRepoTags {
			break
		}
		if t != "" && len(t) <= MaxNameLength {
			a.refs[t] = true
		}
	}
}

// configDigest derives the config digest from its entry name:
// "<hex>.json" (legacy) or "blobs/sha256/<hex>" (Docker 25+).
func configDigest(name string) (digest.Digest, error) {
	base := path.Base(name)
	enc := strings.TrimSuffix(base, ".json")
	if enc == base && !strings.HasPrefix(name, "blobs/sha256/") {
		return "", fmt.Errorf("name is not <sha256 hex>.json")
	}
	d := digest.NewDigestFromEncoded(digest.SHA256, enc)
	if err := d.Validate(); err != nil {
		return "", fmt.Errorf("name is not <sha256 hex>.json")
	}
	return d, nil
}

// openOCI prepares an OCI-layout-shape archive (Docker 25+): the image is
// the manifest or index that index.json points at, served byte for byte.
func (a *Archive) openOCI() error {
	lb, err := a.readSmall(ocispec.ImageLayoutFile, 4096)
	if err != nil {
		return err
	}
	var layout ocispec.ImageLayout
	if err := decodeJSON(lb, &layout); err != nil {
		return a.entryErrorf(ocispec.ImageLayoutFile, "not an OCI layout file: %v", err)
	}
	if !strings.HasPrefix(layout.Version, "1.") {
		return a.entryErrorf(ocispec.ImageLayoutFile, "unsupported imageLayoutVersion %q", truncate(layout.Version))
	}
	ib, err := a.readSmall(ocispec.ImageIndexFile, MaxJSONSize)
	if err != nil {
		return err
	}
	var idx ocispec.Index
	if err := decodeJSON(ib, &idx); err != nil {
		return a.entryErrorf(ocispec.ImageIndexFile, "not an OCI image index: %v", err)
	}
	if len(idx.Manifests) == 0 {
		return a.entryErrorf(ocispec.ImageIndexFile, "lists no image")
	}
	target := idx.Manifests[0]
	images := map[digest.Digest]bool{}
	for i, d := range idx.Manifests {
		if err := d.Digest.Validate(); err != nil {
			return a.entryErrorf(ocispec.ImageIndexFile, "manifests[%d]: digest %q: %v", i, truncate(string(d.Digest)), err)
		}
		images[d.Digest] = true
	}
	if len(images) != 1 {
		return a.entryErrorf(ocispec.ImageIndexFile, "lists %d different images; signet reads archives of exactly one image (docker save IMAGE)", len(images))
	}
	for _, d := range idx.Manifests {
		for _, k := range []string{ocispec.AnnotationRefName, annotationImageName} {
			if v := d.Annotations[k]; v != "" && len(v) <= MaxNameLength && len(a.refs) <= MaxRepoTags {
				a.refs[v] = true
			}
		}
	}
	// Docker 25+ also writes the legacy manifest.json; its RepoTags name
	// the same image.
	if a.entries["manifest.json"] != nil {
		if img, err := a.readLegacyManifest(); err == nil {
			a.addRepoTags(img.RepoTags)
		}
	}

	blobName := "blobs/" + target.Digest.Algorithm().String() + "/" + target.Digest.Encoded()
	if target.Size <= 0 || target.Size > MaxJSONSize {
		return a.entryErrorf(ocispec.ImageIndexFile, "image manifest %s: size %d outside 1..%d bytes", target.Digest, target.Size, MaxJSONSize)
	}
	mb, err := a.readSmall(blobName, MaxJSONSize)
	if err != nil {
		return err
	}
	if int64(len(mb)) != target.Size || digest.FromBytes(mb) != target.Digest {
		return a.entryErrorf(blobName, "corrupt: does not match the size %d and digest %s index.json gives", target.Size, target.Digest)
	}
	mt, err := manifest.MediaTypeOf(mb)
	if err != nil {
		return a.entryErrorf(blobName, "%v", err)
	}
	switch {
	case target.MediaType == "":
		target.MediaType = mt
	case target.MediaType != mt:
		return a.entryErrorf(blobName, "media type %s, but index.json says %s", mt, target.MediaType)
	}
	a.manifest = mb
	a.desc = ocispec.Descriptor{MediaType: target.MediaType, Digest: target.Digest, Size: target.Size}
	switch {
	case manifest.IsManifest(mt):
		return a.checkImageManifest(blobName, mb)
	case manifest.IsIndex(mt):
		return a.checkIndex(blobName, mb)
	}
	return a.entryErrorf(blobName, "media type %s is not an image manifest or index", mt)
}

// checkImageManifest requires the config and every layer of an image
// manifest to be present in the archive with the declared size.
func (a *Archive) checkImageManifest(name string, b []byte) error {
	var m struct {
		Config *ocispec.Descriptor  `json:"config"`
		Layers []ocispec.Descriptor `json:"layers"`
	}
	if err := decodeJSON(b, &m); err != nil {
		return a.entryErrorf(name, "not an image manifest: %v", err)
	}
	if m.Config == nil {
		return a.entryErrorf(name, "image manifest has no config")
	}
	if len(m.Layers) > MaxLayers {
		return a.entryErrorf(name, "%d layers, more than the %d allowed", len(m.Layers), MaxLayers)
	}
	check := func(what string, d ocispec.Descriptor) error {
		if d.MediaType == "" || d.Digest == "" {
			return a.entryErrorf(name, "%s: empty descriptor", what)
		}
		if err := d.Digest.Validate(); err != nil {
			return a.entryErrorf(name, "%s: digest %q: %v", what, truncate(string(d.Digest)), err)
		}
		blobName := "blobs/" + d.Digest.Algorithm().String() + "/" + d.Digest.Encoded()
		e, err := a.lookup(blobName)
		if err != nil {
			return a.entryErrorf(blobName, "%s of the image: missing from the archive", what)
		}
		if e.size != d.Size {
			return a.entryErrorf(blobName, "%s of the image: %d bytes, the manifest says %d", what, e.size, d.Size)
		}
		return nil
	}
	if err := check("config", *m.Config); err != nil {
		return err
	}
	for i, l := range m.Layers {
		if err := check(fmt.Sprintf("layers[%d]", i), l); err != nil {
			return err
		}
	}
	return nil
}

// checkIndex validates the children of an image index. Children need not
// all be present: `docker save` of a multi-platform image keeps only some
// platforms.
func (a *Archive) checkIndex(name string, b []byte) error {
	var idx ocispec.Index
	if err := decodeJSON(b, &idx); err != nil {
		return a.entryErrorf(name, "not an image index: %v", err)
	}
	if len(idx.Manifests) > MaxEntries {
		return a.entryErrorf(name, "more than %d manifests", MaxEntries)
	}
	for i, d := range idx.Manifests {
		if err := d.Digest.Validate(); err != nil {
			return a.entryErrorf(name, "manifests[%d]: digest %q: %v", i, truncate(string(d.Digest)), err)
		}
	}
	return nil
}
