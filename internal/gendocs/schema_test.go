package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

// A minimal JSON Schema (draft 2020-12) checker for the subset that
// docs/schemas uses: type, properties, required, additionalProperties,
// items, minItems, $ref to #/$defs, anyOf, enum, const, pattern, minimum and
// format date-time. Anything else in a schema is an error, so a schema
// cannot silently rely on a keyword this checker ignores.
//
// It is strict about undeclared keys: an object key that the schema does
// not declare fails unless additionalProperties is a schema or true. With
// every schema closed (additionalProperties: false), a field that a command
// starts writing fails the test until the schema declares it.

type schemaDoc struct {
	root map[string]any
	defs map[string]any
}

func loadSchema(path string) (*schemaDoc, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var root map[string]any
	if err := json.Unmarshal(b, &root); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if root["$schema"] != "https://json-schema.org/draft/2020-12/schema" {
		return nil, fmt.Errorf("%s: $schema is not draft 2020-12", path)
	}
	defs, _ := root["$defs"].(map[string]any)
	return &schemaDoc{root: root, defs: defs}, nil
}

var knownKeywords = map[string]bool{
	"$schema": true, "$id": true, "$defs": true, "title": true, "description": true,
	"type": true, "properties": true, "required": true, "additionalProperties": true,
	"items": true, "minItems": true, "$ref": true, "anyOf": true, "enum": true,
	"const": true, "pattern": true, "minimum": true, "format": true,
}

// validate returns every violation of the schema by v (decoded with
// UseNumber), each prefixed with its JSON path.
func (d *schemaDoc) validate(v any) []string {
	var errs []string
	d.check(d.root, v, "$", &errs)
	return errs
}

func (d *schemaDoc) check(s map[string]any, v any, path string, errs *[]string) {
	fail := func(format string, args ...any) {
		*errs = append(*errs, path+": "+fmt.Sprintf(format, args...))
	}
	for k := range s {
		if !knownKeywords[k] {
			fail("schema keyword %q is not supported by this checker", k)
		}
	}
	if ref, ok := s["$ref"].(string); ok {
		name, found := strings.CutPrefix(ref, "#/$defs/")
		def, _ := d.defs[name].(map[string]any)
		if !found || def == nil {
			fail("unresolvable $ref %q", ref)
			return
		}
		d.check(def, v, path, errs)
	}
	if anyOf, ok := s["anyOf"].([]any); ok {
		matched := false
		var all []string
		for _, alt := range anyOf {
			var sub []string
			d.check(alt.(map[string]any), v, path, &sub)
			if len(sub) == 0 {
				matched = true
				break
			}
			all = append(all, sub...)
		}
		if !matched {
			fail("matches no anyOf alternative: %s", strings.Join(all, "; "))
		}
	}
	if t, ok := s["type"]; ok && !typeMatches(t, v) {
		fail("type %s, want %v", jsonType(v), t)
		return
	}
	if c, ok := s["const"]; ok && !jsonEqual(c, v) {
		fail("%v is not the constant %v", v, c)
	}
	if e, ok := s["enum"].([]any); ok && !slices.ContainsFunc(e, func(x any) bool { return jsonEqual(x, v) }) {
		fail("%v is not one of %v", v, e)
	}
	if p, ok := s["pattern"].(string); ok {
		if str, isStr := v.(string); isStr && !regexp.MustCompile(p).MatchString(str) {
			fail("%q does not match %s", str, p)
		}
	}
	if m, ok := s["minimum"].(float64); ok {
		if n, isNum := v.(json.Number); isNum {
			if f, _ := n.Float64(); f < m {
				fail("%v is under the minimum %v", n, m)
			}
		}
	}
	if f, ok := s["format"].(string); ok && f == "date-time" {
		if str, isStr := v.(string); isStr {
			if _, err := time.Parse(time.RFC3339Nano, str); err != nil {
				fail("%q is not an RFC 3339 date-time", str)
			}
		}
	}
	switch val := v.(type) {
	case map[string]any:
		props, _ := s["properties"].(map[string]any)
		for _, r := range asStrings(s["required"]) {
			if _, ok := val[r]; !ok {
				fail("required key %q missing", r)
			}
		}
		keys := make([]string, 0, len(val))
		for k := range val {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if ps, ok := props[k].(map[string]any); ok {
				d.check(ps, val[k], path+"."+k, errs)
				continue
			}
			switch ap := s["additionalProperties"].(type) {
			case map[string]any:
				d.check(ap, val[k], path+"."+k, errs)
			case bool:
				if !ap {
					fail("key %q is not declared in the schema", k)
				}
			default:
				// Only schemas that describe an object by $ref/anyOf leave
				// additionalProperties out; the referenced schema decides.
				if s["$ref"] == nil && s["anyOf"] == nil {
					fail("key %q: schema leaves additionalProperties open; close it", k)
				}
			}
		}
	case []any:
		if m, ok := s["minItems"].(float64); ok && float64(len(val)) < m {
			fail("%d items, want at least %v", len(val), m)
		}
		if items, ok := s["items"].(map[string]any); ok {
			for i, x := range val {
				d.check(items, x, fmt.Sprintf("%s[%d]", path, i), errs)
			}
		}
	}
}

func asStrings(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, x := range l {
		out = append(out, x.(string))
	}
	return out
}

func jsonType(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case json.Number:
		if f, err := x.Float64(); err == nil && f == math.Trunc(f) && !strings.ContainsAny(x.String(), ".eE") {
			return "integer"
		}
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

func typeMatches(t any, v any) bool {
	have := jsonType(v)
	ok := func(want string) bool { return want == have || (want == "number" && have == "integer") }
	switch tt := t.(type) {
	case string:
		return ok(tt)
	case []any:
		for _, w := range tt {
			if ok(w.(string)) {
				return true
			}
		}
	}
	return false
}

// jsonEqual compares a schema value (float64 numbers) with an instance
// value (json.Number numbers).
func jsonEqual(schemaVal, v any) bool {
	if n, ok := v.(json.Number); ok {
		f, _ := n.Float64()
		sf, isNum := schemaVal.(float64)
		return isNum && sf == f
	}
	return schemaVal == v
}

func schemaPath(name string) string {
	return filepath.Join("..", "..", "docs", "schemas", name)
}

func TestCheckerRejects(t *testing.T) {
	d := &schemaDoc{
		root: map[string]any{
			"type":                 "object",
			"required":             []any{"a"},
			"properties":           map[string]any{"a": map[string]any{"type": "integer"}, "b": map[string]any{"$ref": "#/$defs/s"}},
			"additionalProperties": false,
		},
		defs: map[string]any{"s": map[string]any{"type": "string", "enum": []any{"x"}}},
	}
	for in, want := range map[string]string{
		`{"a":1}`:         "",
		`{"a":1.5}`:       "type number",
		`{}`:              `required key "a" missing`,
		`{"a":1,"c":2}`:   `key "c" is not declared`,
		`{"a":1,"b":"y"}`: "is not one of",
	} {
		dec := json.NewDecoder(strings.NewReader(in))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		errs := strings.Join(d.validate(v), "\n")
		if (want == "") != (errs == "") || !strings.Contains(errs, want) {
			t.Errorf("%s: errors %q, want %q", in, errs, want)
		}
	}
}
