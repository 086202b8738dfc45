package jwt

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// A strict reader for the header and the claims. encoding/json's Unmarshal
// keeps the last of duplicate keys and matches keys case-insensitively, so
// {"digest":"A","Digest":"B"} would be read as B by Go and as A by another
// reader. The token's JSON is therefore read token by token here: duplicate
// keys (at any depth) are refused, known keys must be spelt exactly, and
// every value must have exactly the expected JSON type.

// maxDepth bounds the nesting of ignored values.
const maxDepth = 32

var errDepth = errors.New("nested too deeply")

// jsonObject reads the single JSON object in data and calls field for each
// key in order; field must consume exactly the key's value from d.
func jsonObject(data []byte, field func(key string, d *json.Decoder) error) error {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	t, err := d.Token()
	if err != nil {
		return jsonErr(err)
	}
	if t != json.Delim('{') {
		return errors.New("not a JSON object")
	}
	if err := objectBody(d, field); err != nil {
		return err
	}
	if _, err := d.Token(); err != io.EOF {
		return errors.New("data after the JSON object")
	}
	return nil
}

// objectBody reads an object's members after its '{', up to and including
// its '}'.
func objectBody(d *json.Decoder, field func(key string, d *json.Decoder) error) error {
	var seen []string // objects here are small; a slice beats a map
	for d.More() {
		t, err := d.Token()
		if err != nil {
			return jsonErr(err)
		}
		key := t.(string) // the decoder guarantees a string key inside an object
		for _, s := range seen {
			if s == key {
				return fmt.Errorf("duplicate key %q", key)
			}
		}
		seen = append(seen, key)
		if err := field(key, d); err != nil {
			return err
		}
	}
	if _, err := d.Token(); err != nil { // '}'
		return jsonErr(err)
	}
	return nil
}

// skipValue consumes one value of any type, refusing duplicate keys in
// nested objects.
func skipValue(d *json.Decoder, depth int) error {
	if depth > maxDepth {
		return errDepth
	}
	t, err := d.Token()
	if err != nil {
		return jsonErr(err)
	}
	switch t {
	case json.Delim('{'):
		return objectBody(d, func(_ string, d *json.Decoder) error { return skipValue(d, depth+1) })
	case json.Delim('['):
		for d.More() {
			if err := skipValue(d, depth+1); err != nil {
				return err
			}
		}
		_, err := d.Token()
		return jsonErr(err)
	}
	return nil
}

func readString(d *json.Decoder, key string) (string, error) {
	t, err := d.Token()
	if err != nil {
		return "", jsonErr(err)
	}
	s, ok := t.(string)
	if !ok {
		return "", fmt.Errorf("%q must be a string", key)
	}
	return s, nil
}

// readInt reads a non-negative JSON integer (no fraction, no exponent).
func readInt(d *json.Decoder, key string) (int64, error) {
	t, err := d.Token()
	if err != nil {
		return 0, jsonErr(err)
	}
	n, ok := t.(json.Number)
	if !ok {
		return 0, fmt.Errorf("%q must be a number", key)
	}
	v, err := strconv.ParseInt(string(n), 10, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("%q must be a non-negative integer, not %s", key, n)
	}
	return v, nil
}

func readStrings(d *json.Decoder, key string) ([]string, error) {
	t, err := d.Token()
	if err != nil {
		return nil, jsonErr(err)
	}
	if t != json.Delim('[') {
		return nil, fmt.Errorf("%q must be an array of strings", key)
	}
	var out []string
	for d.More() {
		s, err := readString(d, key)
		if err != nil {
			return nil, fmt.Errorf("%q must be an array of strings", key)
		}
		out = append(out, s)
	}
	if _, err := d.Token(); err != nil {
		return nil, jsonErr(err)
	}
	return out, nil
}

// jsonErr shortens decoder errors (nil stays nil).
func jsonErr(err error) error {
	if err == nil {
		return nil
	}
	if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("truncated JSON")
	}
	return fmt.Errorf("invalid JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
}

// decodeHeader reads the protected header. Only typ, alg, x5c and kid are
// allowed: an unknown parameter (crit, jku, x5u, ...) could change the
// meaning of the token, so it is refused rather than ignored.
func decodeHeader(data []byte) (*Header, error) {
	var h Header
	var sawX5C bool
	err := jsonObject(data, func(key string, d *json.Decoder) (err error) {
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
	err := jsonObject(data, func(key string, d *json.Decoder) (err error) {
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
			return skipValue(d, 1)
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
