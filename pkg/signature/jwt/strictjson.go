package jwt

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// A strict reader for the header and the claims. encoding/json's Unmarshal
// keeps the last of duplicate keys and matches keys case-insensitively, so
// {"digest":"A","Digest":"B"} would be read as B by Go and as A by another
// reader. The token's JSON is therefore read here by a small RFC 8259
// scanner: duplicate keys (at any depth) are refused, known keys must be
// spelt exactly, every value must have exactly the expected JSON type, and
// strings must be valid UTF-8 without lone surrogates. It is also several
// times faster than encoding/json's token API on the verification path.

// maxDepth bounds the nesting of ignored values.
const maxDepth = 32

type scanner struct {
	data []byte
	pos  int
}

func (s *scanner) errorf(format string, args ...any) error {
	return fmt.Errorf("invalid JSON at offset %d: %s", s.pos, fmt.Sprintf(format, args...))
}

func (s *scanner) ws() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// peek returns the next non-space byte (0 at the end) without consuming it.
func (s *scanner) peek() byte {
	s.ws()
	if s.pos < len(s.data) {
		return s.data[s.pos]
	}
	return 0
}

func (s *scanner) consume(c byte) bool {
	if s.peek() == c {
		s.pos++
		return true
	}
	return false
}

// jsonObject reads the single JSON object in data and calls field for each
// key in order; field must consume exactly the key's value from s.
func jsonObject(data []byte, field func(key string, s *scanner) error) error {
	s := &scanner{data: data}
	if !s.consume('{') {
		return errors.New("not a JSON object")
	}
	if err := s.objectBody(field); err != nil {
		return err
	}
	if s.peek() != 0 || s.pos != len(s.data) {
		return errors.New("data after the JSON object")
	}
	return nil
}

// objectBody reads an object's members after its '{', up to and including
// its '}', refusing duplicate keys.
func (s *scanner) objectBody(field func(key string, s *scanner) error) error {
	if s.consume('}') {
		return nil
	}
	var seen []string // objects here are small; a slice beats a map
	for {
		if s.peek() != '"' {
			return s.errorf("expected a string key")
		}
		key, err := s.str()
		if err != nil {
			return err
		}
		for _, k := range seen {
			if k == key {
				return fmt.Errorf("duplicate key %q", key)
			}
		}
		seen = append(seen, key)
		if !s.consume(':') {
			return s.errorf("expected ':'")
		}
		if err := field(key, s); err != nil {
			return err
		}
		if s.consume(',') {
			continue
		}
		if s.consume('}') {
			return nil
		}
		return s.errorf("expected ',' or '}'")
	}
}

// skipValue consumes one value of any type.
func (s *scanner) skipValue(depth int) error {
	if depth > maxDepth {
		return errors.New("JSON nested too deeply")
	}
	switch c := s.peek(); {
	case c == '{':
		s.pos++
		return s.objectBody(func(_ string, s *scanner) error { return s.skipValue(depth + 1) })
	case c == '[':
		s.pos++
		if s.consume(']') {
			return nil
		}
		for {
			if err := s.skipValue(depth + 1); err != nil {
				return err
			}
			if s.consume(',') {
				continue
			}
			if s.consume(']') {
				return nil
			}
			return s.errorf("expected ',' or ']'")
		}
	case c == '"':
		_, err := s.str()
		return err
	case c == '-' || '0' <= c && c <= '9':
		_, err := s.number()
		return err
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	}
	return s.errorf("expected a value")
}

func (s *scanner) literal(lit string) error {
	if !bytes.HasPrefix(s.data[s.pos:], []byte(lit)) {
		return s.errorf("expected a value")
	}
	s.pos += len(lit)
	return nil
}

// number reads a JSON number (after peek) and returns its text.
func (s *scanner) number() (string, error) {
	d, start := s.data, s.pos
	i := start
	digits := func() int {
		n := 0
		for i < len(d) && '0' <= d[i] && d[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if i < len(d) && d[i] == '-' {
		i++
	}
	if i < len(d) && d[i] == '0' {
		i++
	} else if digits() == 0 {
		return "", s.errorf("invalid number")
	}
	if i < len(d) && d[i] == '.' {
		i++
		if digits() == 0 {
			return "", s.errorf("invalid number")
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if digits() == 0 {
			return "", s.errorf("invalid number")
		}
	}
	text := string(d[start:i])
	// A number no float64 holds (1e700; a tiny one just rounds to 0) is
	// refused, as encoding/json and the JWT libraries built on it refuse
	// it: signet accepts no token they would reject.
	if _, err := strconv.ParseFloat(text, 64); err != nil {
		return "", s.errorf("number %s out of range", text)
	}
	s.pos = i
	return text, nil
}

// str reads a JSON string (after peek saw '"').
func (s *scanner) str() (string, error) {
	d := s.data
	i := s.pos + 1
	// Fast path: printable ASCII without escapes.
	for i < len(d) {
		c := d[i]
		if c == '"' {
			out := string(d[s.pos+1 : i])
			s.pos = i + 1
			return out, nil
		}
		if c == '\\' || c < 0x20 || c >= 0x80 {
			break
		}
		i++
	}
	b := make([]byte, 0, i-s.pos+16)
	b = append(b, d[s.pos+1:i]...)
	for i < len(d) {
		c := d[i]
		switch {
		case c == '"':
			s.pos = i + 1
			return string(b), nil
		case c < 0x20:
			s.pos = i
			return "", s.errorf("control character in string")
		case c == '\\':
			if i+1 >= len(d) {
				s.pos = i
				return "", s.errorf("truncated escape")
			}
			e := d[i+1]
			i += 2
			switch e {
			case '"', '\\', '/':
				b = append(b, e)
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				r, ok := hex4(d, i)
				if !ok {
					s.pos = i
					return "", s.errorf("invalid \\u escape")
				}
				i += 4
				if utf16.IsSurrogate(r) {
					var r2 rune = -1
					if i+1 < len(d) && d[i] == '\\' && d[i+1] == 'u' {
						if r2, ok = hex4(d, i+2); !ok {
							r2 = -1
						}
					}
					if r = utf16.DecodeRune(r, r2); r == utf8.RuneError {
						s.pos = i
						return "", s.errorf("lone UTF-16 surrogate")
					}
					i += 6
				}
				b = utf8.AppendRune(b, r)
			default:
				s.pos = i - 1
				return "", s.errorf("invalid escape")
			}
		case c < utf8.RuneSelf:
			b = append(b, c)
			i++
		default:
			r, size := utf8.DecodeRune(d[i:])
			if r == utf8.RuneError && size == 1 {
				s.pos = i
				return "", s.errorf("invalid UTF-8")
			}
			b = append(b, d[i:i+size]...)
			i += size
		}
	}
	s.pos = i
	return "", errors.New("truncated JSON")
}

func hex4(d []byte, i int) (rune, bool) {
	if i+4 > len(d) {
		return 0, false
	}
	var r rune
	for _, c := range d[i : i+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

func readString(s *scanner, key string) (string, error) {
	if s.peek() != '"' {
		return "", fmt.Errorf("%q must be a string", key)
	}
	return s.str()
}

// readInt reads a non-negative JSON integer (no fraction, no exponent).
func readInt(s *scanner, key string) (int64, error) {
	if c := s.peek(); c != '-' && (c < '0' || c > '9') {
		return 0, fmt.Errorf("%q must be a number", key)
	}
	n, err := s.number()
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseInt(n, 10, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("%q must be a non-negative integer, not %s", key, n)
	}
	return v, nil
}

func readStrings(s *scanner, key string) ([]string, error) {
	if !s.consume('[') {
		return nil, fmt.Errorf("%q must be an array of strings", key)
	}
	var out []string
	if s.consume(']') {
		return out, nil
	}
	for {
		v, err := readString(s, key)
		if err != nil {
			return nil, fmt.Errorf("%q must be an array of strings", key)
		}
		out = append(out, v)
		if s.consume(',') {
			continue
		}
		if s.consume(']') {
			return out, nil
		}
		return nil, s.errorf("expected ',' or ']'")
	}
}

// decodeHeader reads the protected header. Only typ, alg, x5c and kid are
// allowed: an unknown parameter (crit, jku, x5u, ...) could change the
// meaning of the token, so it is refused rather than ignored.
func decodeHeader(data []byte) (*Header, error) {
	var h Header
	var sawX5C bool
	err := jsonObject(data, func(key string, d *scanner) (err error) {
		switch key {
		case "typ":
			h.Type, err = readString(d, key)
		case "alg":
			h.Algorithm, err = readString(d, key)
		case "x5c":
			sawX5C = true
			h.X5C, err = readStrings(d, key)
		case "kid":
			h.KeyID, err = readString(d, key)
		default:
			return fmt.Errorf("unsupported header parameter %q", key)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if sawX5C && len(h.X5C) == 0 {
		return nil, errors.New(`"x5c" is empty`)
	}
	return &h, nil
}

// claimKeys are the claims this format defines, in §2 order.
var claimKeys = [...]string{"mediaType", "digest", "size", "references", "exp", "iat", "nbf"}

// decodeClaims reads the claims. Unknown claims are ignored (after the
// duplicate check), but a key that differs from a known claim only in case
// is refused: other JSON readers would take it for that claim.
func decodeClaims(data []byte) (*Claims, error) {
	var c Claims
	var sawDigest, sawSize bool
	err := jsonObject(data, func(key string, d *scanner) (err error) {
		switch key {
		case "mediaType":
			c.MediaType, err = readString(d, key)
		case "digest":
			sawDigest = true
			c.Digest, err = readString(d, key)
		case "size":
			sawSize = true
			c.Size, err = readInt(d, key)
		case "references":
			c.References, err = readStrings(d, key)
		case "exp":
			c.Expiry, err = readInt(d, key)
		case "iat":
			c.IssuedAt, err = readInt(d, key)
		case "nbf":
			c.NotBefore, err = readInt(d, key)
		default:
			for _, k := range claimKeys {
				if strings.EqualFold(k, key) {
					return fmt.Errorf("claim %q differs from %q only in case", key, k)
				}
			}
			return d.skipValue(1)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if !sawDigest {
		return nil, errors.New(`missing claim "digest"`)
	}
	if !sawSize {
		return nil, errors.New(`missing claim "size"`)
	}
	return &c, nil
}
