package discover

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// decodeIndex reads the image index desc describes from r, streaming: only
// the entries keep accepts (nil: all) are held, so memory follows what is
// kept, not the size of the index. Nothing is returned unless the bytes
// read are exactly desc's size and digest.
//
// The index is read with a scanner exactly as strict as encoding/json's
// Decoder (TestDecodeIndexDifferential, FuzzDecodeIndex): each entry of
// the common form (the members of a descriptor without nulls, urls, data
// or platform; a plain integer size; string annotations) is checked and,
// when kept, built from the bytes read; any other entry is checked the
// same way and decoded by encoding/json.
func decodeIndex(r io.Reader, desc ocispec.Descriptor, keep func(ocispec.Descriptor) bool) ([]ocispec.Descriptor, error) {
	return readIndex(r, desc, nil, keep, indexReadSize)
}

// indexReadSize is the read buffer's size (or the index's, when smaller);
// it grows (doubling) only to hold one entry, or another member of the
// index, larger than it.
const indexReadSize = 32 << 10

// maxNestingDepth is encoding/json's bound on the nesting of one value.
const maxNestingDepth = 10000

// needMore, returned as an end offset, asks for more bytes: the value
// continues past what was read so far.
const needMore = -1

// errNotSimple: an entry is not of the common form the scanner builds by
// itself (it is then checked in full and decoded by encoding/json).
var errNotSimple = errors.New("not a simple entry")

var errUnexpectedEnd = errors.New("unexpected end of JSON input")

// readIndex is decodeIndex keeping the entries whose artifactType keepType
// accepts (nil: all) and then that keep accepts, reading through a buffer of
// bufSize bytes at first. The entries keepType rejects are checked as
// strictly as the others but never built, which costs no allocation per
// entry.
func readIndex(r io.Reader, desc ocispec.Descriptor, keepType func(string) bool, keep func(ocispec.Descriptor) bool, bufSize int) ([]ocispec.Descriptor, error) {
	if err := desc.Digest.Validate(); err != nil {
		return nil, err
	}
	vr := desc.Digest.Verifier()
	lr := &io.LimitedReader{R: r, N: desc.Size + 1}
	s := &indexScanner{r: lr, w: vr, buf: make([]byte, 0, max(min(desc.Size+1, int64(bufSize)), 1))}
	bad := func(what string) error { return fmt.Errorf("decoding: %s", what) }
	fail := func(err error) error {
		var se *syntaxError
		switch {
		case errors.Is(err, io.EOF):
			return bad(errUnexpectedEnd.Error())
		case errors.As(err, &se) || errors.Is(err, errUnexpectedEnd):
			return bad(err.Error())
		}
		return fmt.Errorf("decoding: %w", err) // a read error
	}
	if c, err := s.peek(); err != nil || c != '{' {
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fail(err) // a read error, not the index's
		}
		return nil, bad("not a JSON object")
	}
	s.pos++
	var out []ocispec.Descriptor
	seen := false
	for member := 0; ; member++ {
		c, closed, err := s.next(member, '}', "after object key:value pair")
		if err != nil {
			return nil, fail(err)
		}
		if closed {
			break
		}
		if c != '"' {
			return nil, fail(s.syntax(s.pos, "looking for beginning of object key string"))
		}
		start, end, err := s.unit(s.scanKey)
		if err != nil {
			return nil, fail(err)
		}
		if !isKey(s.buf[start:end], "manifests") {
			if _, err := s.colon(); err != nil {
				return nil, fail(err)
			}
			if _, _, err := s.unit(s.scanValue); err != nil {
				return nil, fail(err)
			}
			continue
		}
		if seen {
			return nil, bad(`two "manifests" members`)
		}
		seen = true
		notArray := bad(`"manifests" is not an array`)
		if c, err = s.colon(); err != nil {
			return nil, notArray
		}
		if c == 'n' {
			if _, _, err := s.unit(scanNull); err != nil {
				return nil, notArray
			}
			continue // "manifests": null
		}
		if c != '[' {
			return nil, notArray
		}
		s.pos++
		for i := 0; ; i++ {
			if _, closed, err := s.next(i, ']', "after array element"); err != nil {
				return nil, fail(err)
			} else if closed {
				break
			}
			m, kept, err := s.entry(keepType)
			if err != nil {
				return nil, fail(err)
			}
			if kept && (keep == nil || keep(m)) {
				out = append(out, m)
			}
		}
	}
	// The rest must be white space, and is read for the size and digest
	// checks.
	if _, err := s.peek(); err == nil {
		return nil, bad("bytes after the index")
	} else if !errors.Is(err, io.EOF) {
		return nil, err
	}
	if n := desc.Size + 1 - lr.N; n != desc.Size {
		return nil, fmt.Errorf("%d bytes, not the %d the registry announced", n, desc.Size)
	}
	if !vr.Verified() {
		return nil, fmt.Errorf("content does not match its digest %s", desc.Digest)
	}
	return out, nil
}

// indexScanner reads an index through a buffer holding at least the
// value being scanned; every byte read goes through w (the digest
// verifier).
type indexScanner struct {
	r    io.Reader
	w    io.Writer
	buf  []byte // buf[pos:] is read but not consumed
	pos  int
	off  int64 // offset in the stream of buf[0]
	eof  bool
	rerr error

	stack []byte            // scanValue's open objects and arrays
	ann   []annotation      // the entry's annotations
	types map[string]string // name's
	own   []byte            // build's
}

type span struct {
	start, end int // offsets in the entry, quotes excluded
	plain      bool
}

type annotation struct{ key, value span }

// syntaxError is a JSON syntax error at an offset in the index.
type syntaxError struct {
	msg string
	at  int64
}

func (e *syntaxError) Error() string { return fmt.Sprintf("%s at byte %d", e.msg, e.at) }

func (s *indexScanner) syntax(i int, context string) error {
	if i >= len(s.buf) {
		return errUnexpectedEnd
	}
	return &syntaxError{msg: fmt.Sprintf("invalid character %q %s", s.buf[i], context), at: s.off + int64(i) + 1}
}

// fill reads more bytes, keeping buf[pos:]: until buf is full, so that a
// value scanned again from its start after each fill costs, in all, a
// small multiple of its size. It doubles buf when buf[pos:] is all of it.
func (s *indexScanner) fill() error {
	if s.pos > 0 {
		n := copy(s.buf, s.buf[s.pos:])
		s.off += int64(s.pos)
		s.buf, s.pos = s.buf[:n], 0
	}
	if len(s.buf) == cap(s.buf) && !s.eof && s.rerr == nil {
		nb := make([]byte, len(s.buf), max(2*cap(s.buf), 64))
		copy(nb, s.buf)
		s.buf = nb
	}
	read := 0
	for len(s.buf) < cap(s.buf) && !s.eof && s.rerr == nil {
		n, err := s.r.Read(s.buf[len(s.buf):cap(s.buf)])
		if n > 0 {
			_, _ = s.w.Write(s.buf[len(s.buf) : len(s.buf)+n])
			s.buf = s.buf[:len(s.buf)+n]
			read += n
		}
		switch {
		case errors.Is(err, io.EOF):
			s.eof = true
		case err != nil:
			s.rerr = err
		}
	}
	switch {
	case read > 0:
		return nil
	case s.rerr != nil:
		return s.rerr
	default:
		return io.EOF
	}
}

// peek skips white space and returns the next byte, unconsumed.
func (s *indexScanner) peek() (byte, error) {
	for {
		for s.pos < len(s.buf) {
			switch c := s.buf[s.pos]; c {
			case ' ', '\t', '\r', '\n':
				s.pos++
			default:
				return c, nil
			}
		}
		if err := s.fill(); err != nil {
			return 0, err
		}
	}
}

// next moves to member n (counted from 0) of the object or array being
// read, whose closing byte is end: closed when end comes instead (it is
// consumed); otherwise the ',' before a member after the first is
// consumed, after is the syntax error's context when another byte stands
// there, and c is the member's first byte, unconsumed.
func (s *indexScanner) next(n int, end byte, after string) (c byte, closed bool, err error) {
	if c, err = s.peek(); err != nil {
		return 0, false, err
	}
	if c == end {
		s.pos++
		return c, true, nil
	}
	if n > 0 {
		if c != ',' {
			return 0, false, s.syntax(s.pos, after)
		}
		s.pos++
		if c, err = s.peek(); err != nil {
			return 0, false, err
		}
	}
	return c, false, nil
}

// colon consumes the ':' after an object key and returns the first byte
// of the value, unconsumed.
func (s *indexScanner) colon() (byte, error) {
	c, err := s.peek()
	if err != nil {
		return 0, err
	}
	if c != ':' {
		return 0, s.syntax(s.pos, "after object key")
	}
	s.pos++
	return s.peek()
}

// unit runs scan on the value at pos, reading more until it is whole, and
// consumes it: start and end are its offsets in buf.
func (s *indexScanner) unit(scan func(b []byte, i int) (int, error)) (start, end int, err error) {
	for {
		end, err := scan(s.buf, s.pos)
		if err != nil {
			return 0, 0, err
		}
		if end != needMore {
			start := s.pos
			s.pos = end
			return start, end, nil
		}
		if err := s.fill(); err != nil {
			if errors.Is(err, io.EOF) {
				return 0, 0, errUnexpectedEnd
			}
			return 0, 0, err
		}
	}
}

func scanNull(b []byte, i int) (int, error) {
	if len(b)-i < 4 {
		return needMore, nil
	}
	if string(b[i:i+4]) != "null" {
		return 0, errNotSimple
	}
	return i + 4, nil
}

// isKey reports whether the quoted key raw decodes to name.
func isKey(raw []byte, name string) bool {
	if string(raw[1:len(raw)-1]) == name {
		return true
	}
	for _, c := range raw {
		if c == '\\' {
			var k string
			return json.Unmarshal(raw, &k) == nil && k == name
		}
	}
	return false
}

// str[c] is set for the bytes that end a run of plain string bytes.
var str = func() (t [256]bool) {
	for c := 0; c < 0x20; c++ {
		t[c] = true
	}
	t['"'], t['\\'] = true, true
	return t
}()

// scanString scans the string starting at b[i] ('"'): end is past its
// closing quote; plain is false when it holds an escape or bytes that are
// not valid UTF-8 (encoding/json then changes them as it decodes).
func (s *indexScanner) scanString(b []byte, i int) (end int, plain bool, err error) {
	start := i
	i++
	var seen byte // the bits of every byte: >= utf8.RuneSelf when one is not ASCII
	plain = true
	for {
		for i < len(b) && !str[b[i]] {
			seen |= b[i]
			i++
		}
		if i >= len(b) {
			return needMore, false, nil
		}
		switch c := b[i]; {
		case c == '"':
			if seen >= utf8.RuneSelf && plain && !utf8.Valid(b[start+1:i]) {
				plain = false
			}
			return i + 1, plain, nil
		case c == '\\':
			plain = false
			if i+1 >= len(b) {
				return needMore, false, nil
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				for k := 2; k < 6; k++ {
					if i+k >= len(b) {
						return needMore, false, nil
					}
					if !isHex(b[i+k]) {
						return 0, false, s.syntax(i+k, "in \\u hexadecimal character escape")
					}
				}
				i += 6
			default:
				return 0, false, s.syntax(i+1, "in string escape code")
			}
		default:
			return 0, false, s.syntax(i, "in string literal")
		}
	}
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func (s *indexScanner) scanKey(b []byte, i int) (int, error) {
	end, _, err := s.scanString(b, i)
	return end, err
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// skipSpace returns the offset of the first byte at or after i that is not
// white space, or needMore.
func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	if i >= len(b) {
		return needMore
	}
	return i
}

// scanNumber scans the number starting at b[i], as strictly as JSON
// (RFC 8259) wants it.
func (s *indexScanner) scanNumber(b []byte, i int) (int, error) {
	digits := func(i int) (int, error) {
		if i >= len(b) {
			return needMore, nil
		}
		if b[i] < '0' || b[i] > '9' {
			return 0, s.syntax(i, "in numeric literal")
		}
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
		if i >= len(b) {
			return needMore, nil
		}
		return i, nil
	}
	if b[i] == '-' {
		i++
	}
	if i >= len(b) {
		return needMore, nil
	}
	var err error
	if b[i] == '0' {
		i++
		if i >= len(b) {
			return needMore, nil
		}
	} else if i, err = digits(i); i == needMore || err != nil {
		return i, err
	}
	if b[i] == '.' {
		if i, err = digits(i + 1); i == needMore || err != nil {
			return i, err
		}
	}
	if b[i] == 'e' || b[i] == 'E' {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i, err = digits(i); i == needMore || err != nil {
			return i, err
		}
	}
	return i, nil
}

// scanValue scans the JSON value starting at b[i] (not white space) and
// returns its end, checking it as encoding/json does (nesting included).
func (s *indexScanner) scanValue(b []byte, i int) (int, error) {
	stack := s.stack[:0]
	defer func() { s.stack = stack[:0] }()
	var err error
value:
	if i = skipSpace(b, i); i == needMore {
		return needMore, nil
	}
	switch c := b[i]; {
	case c == '{' || c == '[':
		if len(stack) >= maxNestingDepth {
			return 0, &syntaxError{msg: "exceeded max depth", at: s.off + int64(i) + 1}
		}
		stack = append(stack, c)
		if i = skipSpace(b, i+1); i == needMore {
			return needMore, nil
		}
		if b[i] == closing(c) {
			i++
			stack = stack[:len(stack)-1]
			goto end
		}
		if c == '[' {
			goto value
		}
		goto key
	case c == '"':
		if i, _, err = s.scanString(b, i); i == needMore || err != nil {
			return i, err
		}
	case c == '-' || '0' <= c && c <= '9':
		if i, err = s.scanNumber(b, i); i == needMore || err != nil {
			return i, err
		}
	case c == 't' || c == 'f' || c == 'n':
		lit := "null"
		if c == 't' {
			lit = "true"
		} else if c == 'f' {
			lit = "false"
		}
		for k := 1; k < len(lit); k++ {
			if i+k >= len(b) {
				return needMore, nil
			}
			if b[i+k] != lit[k] {
				return 0, s.syntax(i+k, "in literal "+lit+" (expecting '"+lit[k:k+1]+"')")
			}
		}
		i += len(lit)
	default:
		return 0, s.syntax(i, "looking for beginning of value")
	}
end:
	if len(stack) == 0 {
		return i, nil
	}
	if i = skipSpace(b, i); i == needMore {
		return needMore, nil
	}
	switch open := stack[len(stack)-1]; b[i] {
	case closing(open):
		i++
		stack = stack[:len(stack)-1]
		goto end
	case ',':
		if open == '[' {
			i++
			goto value
		}
		if i = skipSpace(b, i+1); i == needMore {
			return needMore, nil
		}
		goto key
	}
	if stack[len(stack)-1] == '[' {
		return 0, s.syntax(i, "after array element")
	}
	return 0, s.syntax(i, "after object key:value pair")
key:
	if b[i] != '"' {
		return 0, s.syntax(i, "looking for beginning of object key string")
	}
	if i, _, err = s.scanString(b, i); i == needMore || err != nil {
		return i, err
	}
	if i = skipSpace(b, i); i == needMore {
		return needMore, nil
	}
	if b[i] != ':' {
		return 0, s.syntax(i, "after object key")
	}
	i++
	goto value
}

// closing returns the byte that closes the object or array open opens.
func closing(open byte) byte {
	if open == '[' {
		return ']'
	}
	return '}'
}

// The members of a descriptor an entry of the common form may have.
const (
	fMediaType = 1 << iota
	fDigest
	fSize
	fAnnotations
	fArtifactType
)

// simpleEntry is an entry of the common form, as offsets in its bytes.
type simpleEntry struct {
	mediaType, digest, artifactType span
	size                            int64
	members                         int
}

// scanSimple scans the entry at b[i] if it has the common form: an object
// whose members are mediaType, digest, artifactType (strings), size (an
// integer of at most 18 digits) and annotations (an object of strings),
// each at most once. errNotSimple: it has not (or is not valid JSON).
func (s *indexScanner) scanSimple(b []byte, i int, e *simpleEntry) (int, error) {
	*e = simpleEntry{}
	s.ann = s.ann[:0]
	return s.scanObject(b, i, i, e)
}

// scanObject scans an object of the entry of the common form starting at
// b[base]: the entry itself at b[i], into e, or, when e is nil, its
// annotations (an object of strings), into s.ann.
func (s *indexScanner) scanObject(b []byte, i, base int, e *simpleEntry) (int, error) {
	if b[i] != '{' {
		return 0, errNotSimple
	}
	i++
	for n := 0; ; n++ {
		// The '}' that ends the object, or the ',' before member n > 0.
		if i = skipSpace(b, i); i == needMore {
			return needMore, nil
		}
		if b[i] == '}' {
			return i + 1, nil
		}
		if n > 0 {
			if b[i] != ',' {
				return 0, errNotSimple
			}
			if i = skipSpace(b, i+1); i == needMore {
				return needMore, nil
			}
		}
		// The key, the ':' and, when it is a string, the value.
		var key, value span
		sp := &key
		f := 0 // the member; 0: an annotation
	str:
		if b[i] != '"' {
			return 0, errNotSimple
		}
		end, plain, err := s.scanString(b, i)
		if end == needMore {
			return needMore, nil
		}
		if err != nil {
			return 0, errNotSimple
		}
		*sp = span{start: i + 1 - base, end: end - 1 - base, plain: plain}
		i = end
		if sp == &key {
			if e != nil {
				if f = e.member(b[base+key.start:base+key.end], key.plain); f == 0 {
					return 0, errNotSimple
				}
			}
			if i = skipSpace(b, i); i == needMore {
				return needMore, nil
			}
			if b[i] != ':' {
				return 0, errNotSimple
			}
			if i = skipSpace(b, i+1); i == needMore {
				return needMore, nil
			}
			if f != fSize && f != fAnnotations {
				sp = &value
				goto str
			}
		}
		switch f {
		case 0:
			s.ann = append(s.ann, annotation{key: key, value: value})
		case fMediaType:
			e.mediaType = value
		case fDigest:
			e.digest = value
		case fArtifactType:
			e.artifactType = value
		case fSize:
			neg := b[i] == '-'
			if neg {
				i++
			}
			var v int64
			k := i
			for ; k < len(b) && '0' <= b[k] && b[k] <= '9'; k++ {
				v = v*10 + int64(b[k]-'0')
			}
			switch {
			case k >= len(b):
				return needMore, nil
			case k == i || k-i > 18 || b[i] == '0' && k-i > 1 || b[k] == '.' || b[k] == 'e' || b[k] == 'E':
				return 0, errNotSimple
			}
			if neg {
				v = -v
			}
			e.size, i = v, k
		case fAnnotations:
			if i, err = s.scanObject(b, i, base, nil); i == needMore || err != nil {
				return i, err
			}
		}
	}
}

// member records in e the member the key name (plain: without escapes)
// names and returns it; 0 when it names none or one e already has.
func (e *simpleEntry) member(name []byte, plain bool) int {
	var f int
	switch string(name) {
	case "mediaType":
		f = fMediaType
	case "digest":
		f = fDigest
	case "size":
		f = fSize
	case "annotations":
		f = fAnnotations
	case "artifactType":
		f = fArtifactType
	}
	if f == 0 || !plain || e.members&f != 0 {
		return 0
	}
	e.members |= f
	return f
}

// entry reads the index entry at pos. kept is false when keepType rejects
// its artifactType; the entry is then checked but not built.
func (s *indexScanner) entry(keepType func(string) bool) (ocispec.Descriptor, bool, error) {
	var e simpleEntry
	start, end, err := s.unit(func(b []byte, i int) (int, error) { return s.scanSimple(b, i, &e) })
	if errors.Is(err, errNotSimple) {
		// Checked in full, and decoded, as encoding/json's Decoder would.
		if start, end, err = s.unit(s.scanValue); err != nil {
			return ocispec.Descriptor{}, false, err
		}
		var m ocispec.Descriptor
		if err := json.Unmarshal(s.buf[start:end], &m); err != nil {
			return ocispec.Descriptor{}, false, &syntaxError{msg: err.Error(), at: s.off + int64(start) + 1}
		}
		return m, keepType == nil || keepType(m.ArtifactType), nil
	}
	if err != nil {
		return ocispec.Descriptor{}, false, err
	}
	raw := s.buf[start:end]
	if keepType != nil {
		if !e.artifactType.plain && e.members&fArtifactType != 0 {
			var m ocispec.Descriptor
			if err := json.Unmarshal(raw, &m); err != nil {
				return ocispec.Descriptor{}, false, err
			}
			return m, keepType(m.ArtifactType), nil
		}
		if !keepType(s.name(raw[e.artifactType.start:e.artifactType.end])) {
			return ocispec.Descriptor{}, false, nil
		}
	}
	return s.build(raw, &e)
}

// name returns b as a string, without allocating for the few media
// types, artifact types and annotation keys an index repeats.
func (s *indexScanner) name(b []byte) string {
	if t, ok := s.types[string(b)]; ok {
		return t
	}
	t := string(b)
	if s.types == nil {
		s.types = map[string]string{}
	}
	if len(s.types) < 64 {
		s.types[t] = t
	}
	return t
}

// build makes the descriptor of a simple entry: its strings share one copy
// of the entry's bytes. An entry with escapes (or bytes that are not UTF-8)
// in its strings is decoded by encoding/json.
func (s *indexScanner) build(raw []byte, e *simpleEntry) (ocispec.Descriptor, bool, error) {
	plain := e.mediaType.plain || e.members&fMediaType == 0
	plain = plain && (e.digest.plain || e.members&fDigest == 0)
	plain = plain && (e.artifactType.plain || e.members&fArtifactType == 0)
	for _, a := range s.ann {
		plain = plain && a.key.plain && a.value.plain
	}
	if !plain {
		var m ocispec.Descriptor
		if err := json.Unmarshal(raw, &m); err != nil {
			return ocispec.Descriptor{}, false, err
		}
		return m, true, nil
	}
	m := ocispec.Descriptor{Size: e.size}
	if e.members&fMediaType != 0 {
		m.MediaType = s.name(raw[e.mediaType.start:e.mediaType.end])
	}
	if e.members&fArtifactType != 0 {
		m.ArtifactType = s.name(raw[e.artifactType.start:e.artifactType.end])
	}
	// The digest and the annotation values, most often the entry's own,
	// share one string; the media types and annotation keys an index
	// repeats are shared by its entries.
	own := s.own[:0]
	if e.members&fDigest != 0 {
		own = append(own, raw[e.digest.start:e.digest.end]...)
	}
	for _, a := range s.ann {
		own = append(own, raw[a.value.start:a.value.end]...)
	}
	s.own = own
	str := string(own)
	take := func(sp span) string {
		v := str[:sp.end-sp.start]
		str = str[len(v):]
		return v
	}
	if e.members&fDigest != 0 {
		m.Digest = digest.Digest(take(e.digest))
	}
	if e.members&fAnnotations != 0 {
		m.Annotations = make(map[string]string, len(s.ann))
		for _, a := range s.ann {
			m.Annotations[s.name(raw[a.key.start:a.key.end])] = take(a.value)
		}
	}
	return m, true, nil
}
