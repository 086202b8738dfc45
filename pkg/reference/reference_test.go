package reference

import (
	"errors"
	"testing"

	"github.com/signet-oci/signet/pkg/errdef"
)

func TestParse(t *testing.T) {
	const d = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
	tests := []struct {
		in   string
		want Reference
	}{
		{"127.0.0.1:5000/busybox:latest", Reference{Kind: Registry, Registry: "127.0.0.1:5000", Repository: "busybox", Tag: "latest"}},
		{"localhost:5000/a/b@" + d, Reference{Kind: Registry, Registry: "localhost:5000", Repository: "a/b", Digest: d}},
		{"registry.example/busybox:v1@" + d, Reference{Kind: Registry, Registry: "registry.example", Repository: "busybox", Tag: "v1", Digest: d}},
		{"oci-layout:./dir:latest", Reference{Kind: OCILayout, Path: "./dir", Tag: "latest"}},
		{"oci-layout:/tmp/x/dir", Reference{Kind: OCILayout, Path: "/tmp/x/dir"}},
		{"oci-layout:dir@" + d, Reference{Kind: OCILayout, Path: "dir", Digest: d}},
		{"docker-archive:busybox.tar", Reference{Kind: DockerArchive, Path: "busybox.tar"}},
		{"file:manifest-to-sign.json", Reference{Kind: File, Path: "manifest-to-sign.json"}},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		tt.want.Raw = tt.in
		if got != tt.want {
			t.Errorf("Parse(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for in, want := range map[string]string{
		"":                                    "invalid reference: empty reference",
		"busybox:latest":                      `invalid reference "busybox:latest": a registry reference starts with the registry host, as in 127.0.0.1:5000/busybox:latest`,
		"http://127.0.0.1:5000/busybox":       `invalid reference "http://127.0.0.1:5000/busybox": a reference has no scheme: write 127.0.0.1:5000/busybox (use --plain-http for HTTP)`,
		"127.0.0.1:5000/Bad/Upper":            `invalid reference "127.0.0.1:5000/Bad/Upper": repository names are lowercase: write 127.0.0.1:5000/bad/upper`,
		"127.0.0.1:5000/busybox@sha256:short": `invalid reference "127.0.0.1:5000/busybox@sha256:short": invalid digest "sha256:short": invalid checksum digest length`,
		"docker-archive:":                     `invalid reference "docker-archive:": docker-archive: needs a file, as in docker-archive:busybox.tar`,
		"file:":                               `invalid reference "file:": file: needs a path, as in file:manifest-to-sign.json`,
		"oci-layout:":                         `invalid reference "oci-layout:": oci-layout: needs a directory, as in oci-layout:./busybox:latest`,
		"oci-layout:dir:":                     `invalid reference "oci-layout:dir:": empty tag after ':'`,
		"127.0.0.1:5000/../etc:latest":        `invalid reference "127.0.0.1:5000/../etc:latest": invalid repository "../etc"`,
	} {
		_, err := Parse(in)
		if err == nil || err.Error() != want {
			t.Errorf("Parse(%q): err = %v, want %q", in, err, want)
			continue
		}
		if !errors.Is(err, errdef.ErrUsage) {
			t.Errorf("Parse(%q) error %v is not a usage error", in, err)
		}
	}
}
