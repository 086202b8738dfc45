package jwt

import (
	"encoding/json"
	"fmt"
	"testing"
)

// scanAll reads data as an object whose values are all strings (collected)
// or other values (skipped).
func scanAll(data []byte) (map[string]string, error) {
	out := map[string]string{}
	err := jsonObject(data, func(key string, s *scanner) error {
		if s.peek() == '"' {
			v, err := s.str()
			out[key] = v
			return err
		}
		return s.skipValue(1)
	})
	return out, err
}

var jsonSeeds = []string{
	`{}`, ` { "a" : "b" } `, `{"a":"\u00e9\ud83d\ude00\n\"\\\/"}`, `{"a":[1,-0.5e+3,true,false,null,{"b":[]}]}`,
	`{"a":"b",}`, `{"a":"b"}x`, `{"a":01}`, `{"a":1.}`, `{"a":"\ud800"}`, `{"a":"\udc00\ud800"}`, `{"a":"` + "\x01" + `"}`,
	`{"a":"` + "\xff" + `"}`, `{"a":"b","a":"c"}`, `{"a":{"x":1,"x":2}}`, `{"a":tru}`, `{"a":"\x"}`, `[]`, `{"a":-}`,
	`{"a":1e}`, `{"a":"\u12"}`, "{\"a\":\"b\"}\n", `{"a" "b"}`, `{"a":"b" "c":"d"}`, `{,}`, `{"a":[1,]}`, `{"é":"ü"}`,
}

// TestScannerAgreesWithEncodingJSON: whatever the strict scanner accepts,
// encoding/json accepts with the same string values; and valid objects
// without duplicates, bad UTF-8 or lone surrogates are accepted.
func TestScannerAgreesWithEncodingJSON(t *testing.T) {
	for _, in := range jsonSeeds {
		checkAgainstEncodingJSON(t, []byte(in))
	}
	want := map[string]string{`{}`: "", `{"a":"b",}`: "invalid JSON at offset 9: expected a string key",
		`{"a":"b","a":"c"}`: `duplicate key "a"`, `{"a":{"x":1,"x":2}}`: `duplicate key "x"`,
		`{"a":"\ud800"}`: "invalid JSON at offset 12: lone UTF-16 surrogate", `{"a":"` + "\xff" + `"}`: "invalid JSON at offset 6: invalid UTF-8",
		`{"a":"\u00e9\ud83d\ude00\n\"\\\/"}`: "", `{"a":1e700}`: "invalid JSON at offset 5: number 1e700 out of range", `{"a":1e-700}`: ""}
	for in, wantErr := range want {
		_, err := scanAll([]byte(in))
		if got := fmt.Sprint(err); (err == nil) != (wantErr == "") || err != nil && got != wantErr {
			t.Errorf("%q: err = %v, want %q", in, err, wantErr)
		}
	}
}

func checkAgainstEncodingJSON(t *testing.T, data []byte) {
	got, err := scanAll(data)
	if err != nil {
		return
	}
	if !json.Valid(data) {
		t.Fatalf("scanner accepted invalid JSON %q", data)
	}
	var ref map[string]any
	if err := json.Unmarshal(data, &ref); err != nil {
		t.Fatalf("scanner accepted %q that encoding/json refuses: %v", data, err)
	}
	for k, v := range got {
		if ref[k] != v {
			t.Fatalf("%q: key %q = %q, encoding/json says %q", data, k, v, ref[k])
		}
	}
}

func FuzzStrictJSON(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkAgainstEncodingJSON(t, data)
		// Parse must never panic on any token-shaped input either.
		Parse(data)
		decodeHeader(data)
		decodeClaims(data)
	})
}
