package discover

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/signet-oci/signet/pkg/artifact"
)

// decodeIndexOracle is decodeIndex as it was before its scanner: each
// entry decoded by encoding/json's Decoder. It is the oracle the scanner is
// compared with (TestDecodeIndexDifferential, FuzzDecodeIndex) and the
// baseline of BenchmarkDecodeIndex10k.
func decodeIndexOracle(r io.Reader, desc ocispec.Descriptor, keep func(ocispec.Descriptor) bool) ([]ocispec.Descriptor, error) {
	if err := desc.Digest.Validate(); err != nil {
		return nil, err
	}
	vr := desc.Digest.Verifier()
	lr := &io.LimitedReader{R: r, N: desc.Size + 1}
	tee := io.TeeReader(lr, vr)
	dec := json.NewDecoder(tee)
	var out []ocispec.Descriptor
	bad := func(what string) error { return fmt.Errorf("decoding: %s", what) }
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, bad("not a JSON object")
	}
	seen := false
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, bad(err.Error())
		}
		if key, _ := t.(string); key != "manifests" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil, bad(err.Error())
			}
			continue
		}
		if seen {
			return nil, bad(`two "manifests" members`)
		}
		seen = true
		if t, err := dec.Token(); err != nil || t != json.Delim('[') {
			if t == nil && err == nil {
				continue // "manifests": null
			}
			return nil, bad(`"manifests" is not an array`)
		}
		for dec.More() {
			var m ocispec.Descriptor
			if err := dec.Decode(&m); err != nil {
				return nil, bad(err.Error())
			}
			if keep == nil || keep(m) {
				out = append(out, m)
			}
		}
		if _, err := dec.Token(); err != nil {
			return nil, bad(err.Error())
		}
	}
	if _, err := dec.Token(); err != nil {
		return nil, bad(err.Error())
	}
	rest, err := io.ReadAll(io.MultiReader(dec.Buffered(), tee))
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimLeft(rest, " \t\r\n")) > 0 {
		return nil, bad("bytes after the index")
	}
	if n := desc.Size + 1 - lr.N; n != desc.Size {
		return nil, fmt.Errorf("%d bytes, not the %d the registry announced", n, desc.Size)
	}
	if !vr.Verified() {
		return nil, fmt.Errorf("content does not match its digest %s", desc.Digest)
	}
	return out, nil
}

// errClass is what a caller can tell of a decodeIndex error: which of its
// reasons, or a JSON error ("decoding"). The wording of JSON errors is the
// scanner's own.
func errClass(err error) string {
	if err == nil {
		return "ok"
	}
	msg := err.Error()
	for _, exact := range []string{"decoding: not a JSON object", `decoding: "manifests" is not an array`, `decoding: two "manifests" members`, "decoding: bytes after the index"} {
		if msg == exact {
			return msg
		}
	}
	switch {
	case strings.HasPrefix(msg, "decoding: "):
		return "decoding"
	case strings.HasSuffix(msg, " the registry announced"):
		return "size"
	case strings.HasPrefix(msg, "content does not match its digest"):
		return "digest"
	}
	return "other: " + msg
}

func isSignatureType(t string) bool {
	return maybeSignature(&Node{Descriptor: ocispec.Descriptor{ArtifactType: t}})
}

// compareDecoders reads body (announced as desc) with the oracle and with
// the scanner — unfiltered, through a Descriptor filter and through an
// artifact type filter; with its normal buffer, a tiny one that splits
// every value, and a reader that returns one byte at a time — and fails
// unless they agree: the same class of error, or the same descriptors.
func compareDecoders(t *testing.T, body []byte, desc ocispec.Descriptor) {
	t.Helper()
	evenSize := func(m ocispec.Descriptor) bool { return m.Size%2 == 0 }
	sigs := func(m ocispec.Descriptor) bool { return isSignatureType(m.ArtifactType) }
	for _, f := range []struct {
		name string
		// oracle is the oracle's filter; keepType and keep the scanner's.
		oracle, keep func(ocispec.Descriptor) bool
		keepType     func(string) bool
	}{
		{"all", nil, nil, nil},
		{"even sizes", evenSize, evenSize, nil},
		{"signature types", sigs, nil, isSignatureType},
		{"signature types, even sizes", func(m ocispec.Descriptor) bool { return sigs(m) && evenSize(m) }, evenSize, isSignatureType},
	} {
		want, werr := decodeIndexOracle(bytes.NewReader(body), desc, f.oracle)
		for _, r := range []struct {
			name string
			buf  int
			r    func() io.Reader
		}{
			{"buffer", indexReadSize, func() io.Reader { return bytes.NewReader(body) }},
			{"7-byte buffer", 7, func() io.Reader { return bytes.NewReader(body) }},
			{"1-byte reads", 3, func() io.Reader { return iotest.OneByteReader(bytes.NewReader(body)) }},
		} {
			got, gerr := readIndex(r.r(), desc, f.keepType, f.keep, r.buf)
			if errClass(gerr) != errClass(werr) || !reflect.DeepEqual(got, want) {
				t.Fatalf("%s, %s: scanner = %#v, %v (%s)\noracle = %#v, %v (%s)\nbody %q", f.name, r.name, got, gerr, errClass(gerr), want, werr, errClass(werr), abbreviate(body))
			}
		}
	}
}

func abbreviate(b []byte) []byte {
	if len(b) > 600 {
		return append(append(append([]byte{}, b[:300]...), "..."...), b[len(b)-300:]...)
	}
	return b
}

func describeIndex(b []byte) ocispec.Descriptor {
	return ocispec.Descriptor{MediaType: ocispec.MediaTypeImageIndex, Digest: digest.FromBytes(b), Size: int64(len(b))}
}

// benchIndex is a referrers index like the one a subject with n bench
// artifacts and one notation signature has on distribution (the
// signature last, its annotation value holding escapes).
func benchIndex(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[`)
	for i := range n {
		fmt.Fprintf(&b, `{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"%s","size":%d,"annotations":{"org.example.bench.index":"%d"},"artifactType":"application/vnd.example.bench+json"},`,
			digest.FromString(fmt.Sprint("bench ", i)), 651+len(fmt.Sprint(i))-1, i)
	}
	fmt.Fprintf(&b, `{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"%s","size":738,"annotations":{"io.cncf.notary.x509chain.thumbprint#S256":"[\"%s\"]","org.opencontainers.image.created":"2026-11-28T06:33:21Z"},"artifactType":"%s"}]}`,
		digest.FromString("signature"), strings.Repeat("9c", 32), artifact.ArtifactTypeNotation)
	return b.Bytes()
}

// decodeIndexSeeds are indexes where a scanner is most likely to part
// from encoding/json: invalid JSON, escapes in keys and values, duplicate
// keys, "manifests": null, nested objects, huge numbers, trailing bytes.
var decodeIndexSeeds = []string{
	``, ` `, `{`, `}`, `[]`, `null`, `"x"`, `{}`, ` {} `, "{}\n", `{} {}`, `{}x`, `{}]`, `{]`, `{,}`, `{"a"}`, `{"a":}`, `{"a" 1}`, `{"a":1,}`, `{"a":1 "b":2}`, `{1:2}`,
	`{"manifests":[]}`, `{"manifests":null}`, `{"manifests":nul}`, `{"manifests":nullx}`, `{"manifests":null,"manifests":[]}`, `{"manifests":[],"manifests":null}`,
	`{"manifests" []}`, `{"manifests":{}}`, `{"manifests":"[]"}`, `{"manifests":1}`, `{"manifests":true}`, `{"manifests":]}`, `{"manifests":`, `{"manifests":[`, `{"manifests":[]`, `{"manifests":[],`,
	`{"manif\u0065sts":[{"size":1}]}`, `{"manifests\u0000":[{"size":1}]}`, `{"Manifests":[{"size":1}]}`, `{"manifests":[{}]}`, `{"manifests":[null]}`, `{"manifests":[null,{}]}`,
	`{"manifests":[1]}`, `{"manifests":["x"]}`, `{"manifests":[[]]}`, `{"manifests":[,]}`, `{"manifests":[{},]}`, `{"manifests":[{} {}]}`, `{"manifests":[{}}`, `{"manifests":[{}]]}`,
	`{"manifests":[{"size":1}],"a":{"b":[1,2,{"c":null}]},"z":-0.5e+10}`,
	`{"manifests":[{"size":01}]}`, `{"manifests":[{"size":1.0}]}`, `{"manifests":[{"size":1e2}]}`, `{"manifests":[{"size":-0}]}`, `{"manifests":[{"size":-}]}`, `{"manifests":[{"size":- 1}]}`,
	`{"manifests":[{"size":999999999999999999}]}`, `{"manifests":[{"size":9223372036854775807}]}`, `{"manifests":[{"size":9223372036854775808}]}`, `{"manifests":[{"size":-9223372036854775808}]}`,
	`{"manifests":[{"size":123456789012345678901234567890}]}`, `{"manifests":[{"size":null}]}`, `{"manifests":[{"size":"1"}]}`, `{"manifests":[{"size":1,"size":2}]}`,
	`{"manifests":[{"mediaType":"a","mediaType":"b"}]}`, `{"manifests":[{"mediaType":"a","mediaType":null}]}`, `{"manifests":[{"MediaType":"a"}]}`, `{"manifests":[{"mediatype":"a","mediaType":"b"}]}`,
	`{"manifests":[{"mediaType":"a\"b\\c\/d\b\f\n\r\t\u00e9\ud83d\ude00\ud800x"}]}`, `{"manifests":[{"mediaType":"\x"}]}`, `{"manifests":[{"mediaType":"\u12G4"}]}`, "{\"manifests\":[{\"mediaType\":\"a\tb\"}]}",
	"{\"manifests\":[{\"mediaType\":\"\xff\xfe\",\"artifactType\":\"caf\xc3\xa9\"}]}", "{\"manifests\":[{\"artifactType\":\"\xed\xa0\x80\"}]}", `{"manifests":[{"artifactT\u0079pe":"application/vnd.cncf.notary.signature"}]}`,
	`{"manifests":[{"artifactType":"application/vnd.cncf.notary.signature","artifactType":"x"}]}`, `{"manifests":[{"artifactType":"x","artifactType":"application/vnd.cncf.notary.signature"}]}`,
	`{"manifests":[{"artifactType":null}]}`, `{"manifests":[{"artifactType":1}]}`, `{"manifests":[{"artifactType":"application\/vnd.cncf.notary.signature"}]}`,
	`{"manifests":[{"annotations":{}}]}`, `{"manifests":[{"annotations":null}]}`, `{"manifests":[{"annotations":{"a":"b","a":"c"}}]}`, `{"manifests":[{"annotations":{"a":"b"},"annotations":{"c":"d"}}]}`,
	`{"manifests":[{"annotations":{"a":{"b":"c"}}}]}`, `{"manifests":[{"annotations":{"a":null}}]}`, `{"manifests":[{"annotations":{"a":1}}]}`, `{"manifests":[{"annotations":{"\u0061":"\"b\""}}]}`, `{"manifests":[{"annotations":[]}]}`,
	`{"manifests":[{"urls":["u"],"data":"YWI=","platform":{"os":"linux","architecture":"amd64"},"unknown":[1,{"x":true}]}]}`, `{"manifests":[{"data":"!"}]}`, `{"manifests":[{"platform":{"os":1}}]}`,
	`{"manifests":[{"mediaType":"m","digest":"sha256:` + strings.Repeat("a", 64) + `","size":3,"annotations":{"k":"v"},"artifactType":"application/vnd.cncf.notary.signature"}]}`,
	" \t\r\n{ \t\r\n\"manifests\" \t\r\n: \t\r\n[ \t\r\n{ \"size\" : 1 , \"annotations\" : { \"a\" : \"b\" , \"c\" : \"d\" } } \t\r\n, \t\r\n{ } ] \t\r\n} \t\r\n",
	"{\"manifests\":[]}\v", "{\"manifests\":[]}\u00a0", "\xef\xbb\xbf{}", `{"a":tru}`, `{"a":falsey}`, `{"a":nulll}`, `{"a":"b}`, `{"a":[1,2}`, `{"a":{"b":1]}`,
	`{"manifests":[{"a":[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]}]}`,
	`{"manifests":[{"size":1}]` + strings.Repeat(" ", 40) + `}`,
}

// TestDecodeIndexDifferential: the scanner agrees with encoding/json
// (decodeIndexOracle) on the seeds, on a generated index, on each with
// the wrong size or digest announced, and at the nesting bound.
func TestDecodeIndexDifferential(t *testing.T) {
	bodies := [][]byte{benchIndex(200)}
	for _, s := range decodeIndexSeeds {
		bodies = append(bodies, []byte(s))
	}
	deep := func(n int) []byte {
		// An entry n deep (itself and n-1 arrays), a member n deep.
		return []byte(`{"manifests":[{"a":` + strings.Repeat("[", n-1) + strings.Repeat("]", n-1) + `}],"b":` + strings.Repeat("{\"c\":", n) + "1" + strings.Repeat("}", n) + `}`)
	}
	bodies = append(bodies, deep(maxNestingDepth), deep(maxNestingDepth+1))
	for _, body := range bodies {
		desc := describeIndex(body)
		compareDecoders(t, body, desc)
		short, long, other := desc, desc, desc
		short.Size--
		long.Size++
		other.Digest = digest.FromString("other")
		compareDecoders(t, body, short)
		compareDecoders(t, body, long)
		compareDecoders(t, body, other)
	}
	// Both nesting bounds were exercised: one is accepted, one not.
	if _, err := decodeIndex(bytes.NewReader(deep(maxNestingDepth)), describeIndex(deep(maxNestingDepth)), nil); err != nil {
		t.Errorf("nesting at the bound: %v", err)
	}
	if _, err := decodeIndex(bytes.NewReader(deep(maxNestingDepth+1)), describeIndex(deep(maxNestingDepth+1)), nil); err == nil || !strings.Contains(err.Error(), "exceeded max depth") {
		t.Errorf("nesting over the bound: %v", err)
	}
}

// TestDecodeIndex10k: the 10,000-referrer index is read the same as by
// encoding/json, and with an artifact type filter only the signature is
// built.
func TestDecodeIndex10k(t *testing.T) {
	body := benchIndex(10000)
	desc := describeIndex(body)
	want, err := decodeIndexOracle(bytes.NewReader(body), desc, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []io.Reader{bytes.NewReader(body), iotest.HalfReader(bytes.NewReader(body))} {
		got, err := decodeIndex(r, desc, nil)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("decodeIndex = %d entries, %v; want the oracle's %d", len(got), err, len(want))
		}
	}
	sigs, err := readIndex(bytes.NewReader(body), desc, isSignatureType, nil, indexReadSize)
	if err != nil || len(sigs) != 1 || !reflect.DeepEqual(sigs[0], want[len(want)-1]) {
		t.Fatalf("readIndex with a type filter = %+v, %v; want the signature only: %+v", sigs, err, want[len(want)-1])
	}
	allocs := testing.AllocsPerRun(5, func() {
		if _, err := readIndex(bytes.NewReader(body), desc, isSignatureType, nil, indexReadSize); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 50 {
		t.Errorf("reading 10,001 entries for one signature took %.0f allocations; want a few, not one per entry", allocs)
	}
}

// TestDecodeIndexReadError: an error reading the index is returned
// (wrapped), not taken for the end of it.
func TestDecodeIndexReadError(t *testing.T) {
	body := benchIndex(100)
	boom := errors.New("connection reset")
	for _, n := range []int{0, 1, 2, len(body) / 2, len(body) - 1} {
		r := io.MultiReader(bytes.NewReader(body[:n]), iotest.ErrReader(boom))
		if got, err := decodeIndex(r, describeIndex(body), nil); !errors.Is(err, boom) || got != nil {
			t.Errorf("read error after %d bytes: decodeIndex = %d entries, %v; want %v", n, len(got), err, boom)
		}
	}
}

// FuzzDecodeIndex compares the scanner with encoding/json on any bytes,
// announced with their size off by delta and, with badDigest, another
// digest.
func FuzzDecodeIndex(f *testing.F) {
	f.Add(benchIndex(3), int8(0), false)
	for _, s := range decodeIndexSeeds {
		f.Add([]byte(s), int8(0), false)
	}
	f.Add([]byte(`{"manifests":[]}`), int8(-1), false)
	f.Add([]byte(`{"manifests":[]}`), int8(1), true)
	f.Fuzz(func(t *testing.T, body []byte, delta int8, badDigest bool) {
		desc := describeIndex(body)
		desc.Size += int64(delta)
		if badDigest {
			desc.Digest = digest.FromString("other")
		}
		compareDecoders(t, body, desc)
	})
}

// BenchmarkDecodeIndex10k reads a 10,000-referrer index (2.5 MB, one
// signature last) with the scanner and with encoding/json (the oracle, the
// implementation before it): keeping the signatures only (verify) and
// keeping every entry (discover).
func BenchmarkDecodeIndex10k(b *testing.B) {
	body := benchIndex(10000)
	desc := describeIndex(body)
	sigs := func(m ocispec.Descriptor) bool { return isSignatureType(m.ArtifactType) }
	for _, c := range []struct {
		name string
		read func() ([]ocispec.Descriptor, error)
		want int
	}{
		{"scanner/signatures", func() ([]ocispec.Descriptor, error) {
			return readIndex(bytes.NewReader(body), desc, isSignatureType, nil, indexReadSize)
		}, 1},
		{"encoding-json/signatures", func() ([]ocispec.Descriptor, error) {
			return decodeIndexOracle(bytes.NewReader(body), desc, sigs)
		}, 1},
		{"scanner/all", func() ([]ocispec.Descriptor, error) { return decodeIndex(bytes.NewReader(body), desc, nil) }, 10001},
		{"encoding-json/all", func() ([]ocispec.Descriptor, error) {
			return decodeIndexOracle(bytes.NewReader(body), desc, nil)
		}, 10001},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				got, err := c.read()
				if err != nil || len(got) != c.want {
					b.Fatalf("%d entries, %v; want %d", len(got), err, c.want)
				}
			}
		})
	}
}
