package report

import (
	"io"

	"github.com/cachectl/cachectl/internal/iostreams"
)

// MaxKeyWidth bounds the runes of a key a text row shows.
const MaxKeyWidth = maxKeyWidth

// Table is the indented, tab-aligned table of the text reports, for the
// reports of other commands (hot) to look the same.
type Table struct{ t *barTable }

// NewTable starts a table with a header row (dimmed when printed); none
// for a table without one.
func NewTable(header ...string) *Table { return &Table{t: newBarTable(header...)} }

// Row adds a row; cells carry no colour.
func (t *Table) Row(cells ...string) { t.t.row(cells...) }

// Print lays the table out on w.
func (t *Table) Print(w io.Writer, cs *iostreams.ColorScheme) { t.t.print(w, cs) }

// Share is "12.5% ███▏": n of of as a percentage and a bar.
func Share(n, of int64) string { return share(n, of, DefaultBarWidth) }

// Approx is n, marked "~" when approximate.
func Approx(n int64, approximate bool) string { return approx(n, approximate) }
