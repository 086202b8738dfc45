package cli

import (
	"strings"
	"testing"
)

// The bytes github.com/olekukonko/tablewriter v1.1.5 drew for the same
// rows (discover --format table before boxTable replaced it).
func TestBoxTable(t *testing.T) {
	for _, tc := range []struct {
		name string
		rows [][]string
		want string
	}{
		{"empty", nil, `┌───────┬────────┬───────────────┬──────────┬──────┐
│ DEPTH │ DIGEST │ ARTIFACT TYPE │ FOUND BY │ SIZE │
└───────┴────────┴───────────────┴──────────┴──────┘
`},
		{"rows", [][]string{{"1", "sha256:abc", "application/x", "referrers", "738"}, {"2", "sha256:de (computed)", "t", "links,tag-fallback", "12345678"}}, `┌───────┬──────────────────────┬───────────────┬────────────────────┬──────────┐
│ DEPTH │        DIGEST        │ ARTIFACT TYPE │      FOUND BY      │   SIZE   │
├───────┼──────────────────────┼───────────────┼────────────────────┼──────────┤
│ 1     │ sha256:abc           │ application/x │ referrers          │ 738      │
│ 2     │ sha256:de (computed) │ t             │ links,tag-fallback │ 12345678 │
└───────┴──────────────────────┴───────────────┴────────────────────┴──────────┘
`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			tb := newBoxTable(&b)
			tb.Header("Depth", "Digest", "Artifact type", "Found by", "Size")
			for _, r := range tc.rows {
				if err := tb.Append(r...); err != nil {
					t.Fatal(err)
				}
			}
			if err := tb.Render(); err != nil {
				t.Fatal(err)
			}
			if b.String() != tc.want {
				t.Errorf("got\n%s\nwant\n%s", b.String(), tc.want)
			}
		})
	}
}
