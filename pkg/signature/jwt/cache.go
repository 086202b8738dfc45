package jwt

import (
	"crypto/x509"
	"encoding/base64"
	"sync"
)

// decodeCache memoises the parts of verification that are pure functions
// of a token's bytes: the decoded header of a header segment, and the
// parsed certificate of an x5c entry. A verifier that checks many
// signatures by one signer (CI verifying hundreds of images signed with the
// same key) decodes that signer's header and certificates once. Nothing
// about trust is cached: the chain, validity, key usage, signature and
// claims are checked on every call. Failures are not cached. The cache is
// bounded; when full it is emptied.
type decodeCache struct {
	mu      sync.Mutex
	headers map[string]*Header
	certs   map[string]*x509.Certificate
}

const decodeCacheSize = 64

var cache = decodeCache{headers: map[string]*Header{}, certs: map[string]*x509.Certificate{}}

// header returns the decoded header of segment (base64url), decoding it on
// a miss.
func (c *decodeCache) header(segment []byte) (*Header, error) {
	c.mu.Lock()
	h, ok := c.headers[string(segment)]
	c.mu.Unlock()
	if ok {
		return h, nil
	}
	raw, err := decodeSegment(segment, "header")
	if err != nil {
		return nil, err
	}
	h, err = decodeHeader(raw)
	if err != nil {
		return nil, vErr(Malformed, "header: %v", err)
	}
	c.mu.Lock()
	if len(c.headers) >= decodeCacheSize {
		clear(c.headers)
	}
	c.headers[string(segment)] = h
	c.mu.Unlock()
	return h, nil
}

// cert returns the certificate parsed from an x5c entry, parsing it on a
// miss with parse.
func (c *decodeCache) cert(x5c string, parse func() (*x509.Certificate, error)) (*x509.Certificate, error) {
	c.mu.Lock()
	cert, ok := c.certs[x5c]
	c.mu.Unlock()
	if ok {
		return cert, nil
	}
	cert, err := parse()
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if len(c.certs) >= decodeCacheSize {
		clear(c.certs)
	}
	c.certs[x5c] = cert
	c.mu.Unlock()
	return cert, nil
}

// clone copies h, so that callers never share the cached header's slice.
func (h *Header) clone() Header {
	c := *h
	c.X5C = append([]string(nil), h.X5C...)
	return c
}

// headerEncodings memoises the base64url header segment of a signer (its
// alg and x5c chain, or kid): a program signing many manifests with one key
// encodes its certificates once. Keyed by the certificates' identity and
// checked against their bytes.
type headerEncodings struct {
	mu sync.Mutex
	m  map[headerKey]headerEntry
}

type headerKey struct {
	alg   string
	kid   string
	first *x509.Certificate
	n     int
}

type headerEntry struct {
	certs   []*x509.Certificate
	encoded []byte
}

var headers = headerEncodings{m: map[headerKey]headerEntry{}}

func (h *headerEncodings) encoded(alg string, certs []*x509.Certificate, kid string) []byte {
	k := headerKey{alg: alg, kid: kid, n: len(certs)}
	if len(certs) > 0 {
		k.first = certs[0]
	}
	h.mu.Lock()
	e, ok := h.m[k]
	h.mu.Unlock()
	if ok && sameCerts(e.certs, certs) {
		return e.encoded
	}
	raw := appendHeader(make([]byte, 0, 128), alg, certs, kid)
	enc := base64.RawURLEncoding.AppendEncode(nil, raw)
	h.mu.Lock()
	if len(h.m) >= decodeCacheSize {
		clear(h.m)
	}
	h.m[k] = headerEntry{certs: append([]*x509.Certificate(nil), certs...), encoded: enc}
	h.mu.Unlock()
	return enc
}

func sameCerts(a, b []*x509.Certificate) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] && !a[i].Equal(b[i]) {
			return false
		}
	}
	return true
}
