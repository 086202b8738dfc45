package registry

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"

	"golang.org/x/crypto/bcrypt"
)

// htpasswd checks HTTP basic auth against bcrypt htpasswd entries. A
// successful check is remembered (as a SHA-256 of the password) so that
// bcrypt's deliberate slowness is paid once per user, not per request.
type htpasswd struct {
	users map[string][]byte // user → bcrypt hash

	mu sync.Mutex
	ok map[string][32]byte // user → sha256 of the last password that verified
}

func loadHtpasswd(path string) (*htpasswd, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("htpasswd: %w", err)
	}
	h := &htpasswd{users: map[string][]byte{}, ok: map[string][32]byte{}}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for line := 1; sc.Scan(); line++ {
		t := strings.TrimSpace(sc.Text())
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		user, hash, ok := strings.Cut(t, ":")
		if !ok || user == "" {
			return nil, fmt.Errorf("htpasswd %s:%d: not a user:hash entry", path, line)
		}
		if _, err := bcrypt.Cost([]byte(hash)); err != nil {
			return nil, fmt.Errorf("htpasswd %s:%d: entry for %q is not bcrypt (use htpasswd -B): %w", path, line, user, err)
		}
		h.users[user] = []byte(hash)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("htpasswd: %w", err)
	}
	if len(h.users) == 0 {
		return nil, fmt.Errorf("htpasswd %s: no entries", path)
	}
	return h, nil
}

func (h *htpasswd) check(r *http.Request) bool {
	user, pass, ok := r.BasicAuth()
	if !ok {
		return false
	}
	hash, ok := h.users[user]
	if !ok {
		return false
	}
	sum := sha256.Sum256([]byte(pass))
	h.mu.Lock()
	cached, hit := h.ok[user]
	h.mu.Unlock()
	if hit && subtle.ConstantTimeCompare(cached[:], sum[:]) == 1 {
		return true
	}
	if bcrypt.CompareHashAndPassword(hash, []byte(pass)) != nil {
		return false
	}
	h.mu.Lock()
	h.ok[user] = sum
	h.mu.Unlock()
	return true
}
