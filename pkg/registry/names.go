package registry

import (
	_ "crypto/sha256" // register digest algorithms
	_ "crypto/sha512"
	"net/http"
	"regexp"
	"sync"

	"github.com/opencontainers/go-digest"
)

const maxNameLength = 255

// The grammars are compiled on first use, not at package initialisation:
// every signet command links this package, and only registry serve uses
// them.
var (
	// Repository name grammar of the distribution specification. A path
	// component can never be "", "." or "..", nor begin with "_", so names
	// are safe as relative paths and cannot collide with the storage's
	// reserved "_"-prefixed directories.
	nameRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$`)
	})
	// Tag grammar: never "." or "..", never contains "/".
	tagRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$`)
	})
)

func validName(name string) bool {
	return len(name) <= maxNameLength && nameRE().MatchString(name)
}

func validTag(tag string) bool { return tagRE().MatchString(tag) }

func checkName(name string) error {
	if !validName(name) {
		return newErr(http.StatusBadRequest, codeNameInvalid, "invalid repository name").withDetail(map[string]string{"name": name})
	}
	return nil
}

// parseDigest parses and validates a digest whose algorithm is available
// (sha256, sha384, sha512). The hex part is checked for length and case.
func parseDigest(s string) (digest.Digest, error) {
	d, err := digest.Parse(s)
	if err != nil {
		return "", err
	}
	if !d.Algorithm().Available() {
		return "", digest.ErrDigestUnsupported
	}
	return d, nil
}

// reference is either a tag or a digest.
type reference struct {
	tag    string
	digest digest.Digest
}

func parseReference(s string) (reference, bool) {
	if validTag(s) {
		return reference{tag: s}, true
	}
	d, err := parseDigest(s)
	if err != nil {
		return reference{}, false
	}
	return reference{digest: d}, true
}
