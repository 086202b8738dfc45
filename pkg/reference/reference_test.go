package reference

import (
	"errors"
	"testing"

	"github.com/signet-oci/signet/internal/errdef"
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
	for _, in := range []string{
		"", "busybox:latest", "http://127.0.0.1:5000/busybox", "127.0.0.1:5000/Bad/Upper",
		"127.0.0.1:5000/busybox@sha256:short", "docker-archive:", "file:", "oci-layout:", "oci-layout:dir:",
		"127.0.0.1:5000/../etc:latest",
	} {
		_, err := Parse(in)
		if err == nil {
			t.Errorf("Parse(%q) succeeded, want error", in)
			continue
		}
		if !errors.Is(err, errdef.ErrUsage) {
			t.Errorf("Parse(%q) error %v is not a usage error", in, err)
		}
	}
}
