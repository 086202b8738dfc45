package cli

import (
	"bufio"
	"io"
	"strings"
	"unicode/utf8"
)

// boxTable prints rows in a box-drawn table: headers upper-cased and
// centred, cells left-aligned, one space of padding either side. It draws
// what github.com/olekukonko/tablewriter's default renderer drew for
// discover --format table, without that package's start-up cost (its
// width tables were built at every start of every command).
type boxTable struct {
	w      io.Writer
	header []string
	rows   [][]string
}

func newBoxTable(w io.Writer) *boxTable { return &boxTable{w: w} }

// Header sets the column titles.
func (t *boxTable) Header(cols ...string) {
	t.header = make([]string, len(cols))
	for i, c := range cols {
		t.header[i] = strings.ToUpper(c)
	}
}

// Append adds a row; it has as many cells as the header.
func (t *boxTable) Append(cells ...string) error {
	t.rows = append(t.rows, cells)
	return nil
}

// Render writes the table.
func (t *boxTable) Render() error {
	width := make([]int, len(t.header))
	for i, h := range t.header {
		width[i] = utf8.RuneCountInString(h)
	}
	for _, r := range t.rows {
		for i, c := range r {
			if i < len(width) {
				width[i] = max(width[i], utf8.RuneCountInString(c))
			}
		}
	}
	b := bufio.NewWriter(t.w)
	line := func(left, mid, right string) {
		b.WriteString(left)
		for i, n := range width {
			if i > 0 {
				b.WriteString(mid)
			}
			b.WriteString(strings.Repeat("─", n+2))
		}
		b.WriteString(right)
		b.WriteByte('\n')
	}
	row := func(cells []string, centre bool) {
		for i, n := range width {
			c := ""
			if i < len(cells) {
				c = cells[i]
			}
			gap := n - utf8.RuneCountInString(c)
			left := 0
			if centre {
				left = gap / 2
			}
			b.WriteString("│ ")
			b.WriteString(strings.Repeat(" ", left))
			b.WriteString(c)
			b.WriteString(strings.Repeat(" ", gap-left))
			b.WriteByte(' ')
		}
		b.WriteString("│\n")
	}
	line("┌", "┬", "┐")
	row(t.header, true)
	if len(t.rows) > 0 {
		line("├", "┼", "┤")
		for _, r := range t.rows {
			row(r, false)
		}
	}
	line("└", "┴", "┘")
	return b.Flush()
}
