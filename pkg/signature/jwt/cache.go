package jwt

import (
	"crypto/x509"
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
