package manifest

import (
	_ "crypto/sha512" // registers sha512 for go-digest
	"testing"

	"github.com/opencontainers/go-digest"
)

// ValidDigest must agree with go-digest's Validate on what it accepts.
func TestValidDigest(t *testing.T) {
	for _, d := range []digest.Digest{
		"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
		digest.SHA512.FromString("x"),
		"sha256:44136FA355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
		"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8",
		"sha384:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
		"sha256:../../etc/passwd", "", ":", "sha256:", "sha256",
		"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8g",
	} {
		if got, want := ValidDigest(d), d.Validate() == nil; got != want {
			t.Errorf("ValidDigest(%q) = %v, go-digest says %v", d, got, want)
		}
	}
}

func FuzzValidDigest(f *testing.F) {
	f.Add("sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a")
	f.Fuzz(func(t *testing.T, s string) {
		d := digest.Digest(s)
		if got, want := ValidDigest(d), d.Validate() == nil; got != want {
			t.Errorf("ValidDigest(%q) = %v, go-digest says %v", s, got, want)
		}
	})
}
