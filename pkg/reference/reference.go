// Package reference parses the sources and targets signet's commands take:
//
//	host[:port]/repo[:tag|@digest]   a registry reference
//	oci-layout:DIR[:tag|@digest]     an OCI image layout directory
//	docker-archive:FILE.tar          a `docker save` tarball (read only)
//	file:PATH                        a manifest file on disk, exact bytes
package reference

import (
	"fmt"
	"net"
	"strings"

	"github.com/opencontainers/go-digest"
	"oras.land/oras-go/v2/registry"

	"github.com/signet-oci/signet/pkg/errdef"
)

// Kind says what a reference points at.
type Kind int

const (
	// Registry is host[:port]/repo[:tag|@digest].
	Registry Kind = iota
	// OCILayout is oci-layout:DIR[:tag|@digest].
	OCILayout
	// DockerArchive is docker-archive:FILE.tar.
	DockerArchive
	// File is file:PATH.
	File
)

// String is the kind's name as in the reference syntax: "registry",
// "oci-layout", "docker-archive", "file".
func (k Kind) String() string {
	switch k {
	case Registry:
		return "registry"
	case OCILayout:
		return "oci-layout"
	case DockerArchive:
		return "docker-archive"
	case File:
		return "file"
	}
	return "unknown"
}

// Reference is a parsed source or target.
type Reference struct {
	// Kind says which of the other fields are set.
	Kind Kind
	// Raw is the text the user gave.
	Raw string
	// Registry is host[:port] (Registry kind only).
	Registry string
	// Repository is the repository name (Registry kind only).
	Repository string
	// Tag and Digest select a manifest (Registry and OCILayout kinds).
	Tag    string
	Digest digest.Digest
	// Path is the directory or file (OCILayout, DockerArchive, File kinds).
	Path string
}

// Parse parses s. Errors wrap errdef.ErrUsage.
func Parse(s string) (Reference, error) {
	switch {
	case strings.HasPrefix(s, "oci-layout:"):
		return parseLayout(s)
	case strings.HasPrefix(s, "docker-archive:"):
		p := strings.TrimPrefix(s, "docker-archive:")
		if p == "" {
			return Reference{}, usage(s, "docker-archive: needs a file, as in docker-archive:busybox.tar")
		}
		return Reference{Kind: DockerArchive, Raw: s, Path: p}, nil
	case strings.HasPrefix(s, "file:"):
		p := strings.TrimPrefix(s, "file:")
		if p == "" {
			return Reference{}, usage(s, "file: needs a path, as in file:manifest-to-sign.json")
		}
		return Reference{Kind: File, Raw: s, Path: p}, nil
	}
	return parseRegistry(s)
}

func parseRegistry(s string) (Reference, error) {
	if s == "" {
		return Reference{}, usage(s, "empty reference")
	}
	if i := strings.Index(s, "://"); i >= 0 {
		return Reference{}, usage(s, "a reference has no scheme: write "+s[i+3:]+" (use --plain-http for HTTP)")
	}
	host, _, ok := strings.Cut(s, "/")
	if !ok || !looksLikeHost(host) {
		return Reference{}, usage(s, "a registry reference starts with the registry host, as in 127.0.0.1:5000/busybox:latest")
	}
	r, err := registry.ParseReference(s)
	if err != nil {
		msg := strings.TrimPrefix(err.Error(), "invalid reference: ")
		if repo := repoPart(s); repo != strings.ToLower(repo) {
			msg = fmt.Sprintf("repository names are lowercase: write %s", host+"/"+strings.ToLower(repo)+strings.TrimPrefix(strings.TrimPrefix(s, host+"/"), repo))
		}
		return Reference{}, usage(s, msg)
	}
	ref := Reference{Kind: Registry, Raw: s, Registry: r.Registry, Repository: r.Repository}
	// oras-go keeps only the digest when both tag and digest are given;
	// keep the tag too for display.
	name := strings.TrimPrefix(s, r.Registry+"/")
	if at := strings.LastIndex(name, "@"); at >= 0 {
		d, err := digest.Parse(name[at+1:])
		if err != nil {
			return Reference{}, usage(s, "invalid digest "+name[at+1:]+": "+err.Error())
		}
		ref.Digest = d
		name = name[:at]
	}
	if c := strings.LastIndex(name, ":"); c >= 0 {
		ref.Tag = name[c+1:]
	}
	return ref, nil
}

func looksLikeHost(h string) bool {
	if h == "localhost" || strings.HasPrefix(h, "localhost:") || strings.ContainsAny(h, ".:") || strings.HasPrefix(h, "[") {
		return true
	}
	return net.ParseIP(h) != nil
}

func parseLayout(s string) (Reference, error) {
	rest := strings.TrimPrefix(s, "oci-layout:")
	ref := Reference{Kind: OCILayout, Raw: s}
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		d, err := digest.Parse(rest[at+1:])
		if err != nil {
			return Reference{}, usage(s, "invalid digest "+rest[at+1:]+": "+err.Error())
		}
		ref.Digest = d
		rest = rest[:at]
	} else if c := strings.LastIndex(rest, ":"); c >= 0 && !strings.Contains(rest[c:], "/") {
		ref.Tag = rest[c+1:]
		rest = rest[:c]
		if ref.Tag == "" {
			return Reference{}, usage(s, "empty tag after ':'")
		}
	}
	if rest == "" {
		return Reference{}, usage(s, "oci-layout: needs a directory, as in oci-layout:./busybox:latest")
	}
	ref.Path = rest
	return ref, nil
}

// Selector is the tag or digest that picks a manifest: the digest when
// there is one, else the tag, else "".
func (r Reference) Selector() string {
	if r.Digest != "" {
		return r.Digest.String()
	}
	return r.Tag
}

// Repo is "host/repo" for a registry reference.
func (r Reference) Repo() string { return r.Registry + "/" + r.Repository }

// WithDigest returns the registry reference host/repo@digest.
func (r Reference) WithDigest(d digest.Digest) string {
	switch r.Kind {
	case OCILayout:
		return "oci-layout:" + r.Path + "@" + d.String()
	case Registry:
		return r.Repo() + "@" + d.String()
	}
	return r.Raw
}

// String is the reference as the user would write it.
func (r Reference) String() string {
	switch r.Kind {
	case Registry:
		s := r.Repo()
		if r.Tag != "" {
			s += ":" + r.Tag
		}
		if r.Digest != "" {
			s += "@" + r.Digest.String()
		}
		return s
	case OCILayout:
		s := "oci-layout:" + r.Path
		if r.Tag != "" {
			s += ":" + r.Tag
		}
		if r.Digest != "" {
			s += "@" + r.Digest.String()
		}
		return s
	}
	return r.Raw
}

// repoPart is the repository of host/repo[:tag][@digest].
func repoPart(s string) string {
	_, rest, _ := strings.Cut(s, "/")
	if at := strings.Index(rest, "@"); at >= 0 {
		rest = rest[:at]
	}
	if c := strings.LastIndex(rest, ":"); c >= 0 && !strings.Contains(rest[c:], "/") {
		rest = rest[:c]
	}
	return rest
}

func usage(ref, msg string) error {
	if ref == "" {
		return errdef.Usage(fmt.Errorf("invalid reference: %s", msg))
	}
	return errdef.Usage(fmt.Errorf("invalid reference %q: %s", ref, msg))
}
