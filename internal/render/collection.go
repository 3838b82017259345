// Package render writes backend values for people, the same way for the
// commands and the dashboard: `cachectl get` and the detail pane share it.
// Text carries roles (internal/role) that the caller styles.
package render

import (
	"io"
	"strconv"
	"strings"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/role"
	"github.com/cachectl/cachectl/internal/textesc"
)

// CollectionOptions controls Collection.
type CollectionOptions struct {
	Style role.Styler // nil: plain text
	// ReadOnly ends the note on a shortened read with "(read-only view)",
	// for a view where other values can be edited (the dashboard).
	ReadOnly bool
}

// Collection writes a bounded read of a hash, list, set, sorted set or
// stream, one element a line:
//
//	field: value        hash
//	0) value            list
//	1.5 member          sorted set (score first)
//	1-0 f=v g=w         stream (entry ID, then its fields)
//	value               set
//
// then a note when the kind has no generic read (module types), when it is
// empty (a stream can be), and when the read was cut short. Fields, values, IDs and the kind are escaped
// (textesc.Key), so no control byte from the server reaches the terminal.
func Collection(w io.Writer, c *backends.Collection, opts CollectionOptions) error {
	style := opts.Style
	esc := func(p []byte) string { return textesc.Key(string(p)) }
	var b strings.Builder
	put := func(parts ...string) {
		for _, p := range parts {
			b.WriteString(p)
		}
	}
	for i, it := range c.Items {
		switch c.Kind {
		case "hash":
			put(style.Apply(role.Key, esc(it.Field)), ": ", esc(it.Value))
		case "list":
			put(style.Apply(role.Index, strconv.Itoa(i)+")"), " ", esc(it.Value))
		case "zset":
			put(style.Apply(role.Number, strconv.FormatFloat(it.Score, 'g', -1, 64)), " ", esc(it.Value))
		case "stream":
			put(style.Apply(role.Index, textesc.Key(it.ID)))
			for _, fv := range it.Fields {
				put(" ", style.Apply(role.Key, esc(fv.Field)), "=", esc(fv.Value))
			}
		default:
			put(esc(it.Value))
		}
		put("\n")
	}
	switch c.Kind {
	case "hash", "list", "set", "zset", "stream":
		// Redis removes an emptied hash, list, set or sorted set, but a stream
		// stays when XDEL takes its last entry: say so rather than show nothing.
		if len(c.Items) == 0 && c.Length == 0 {
			put(style.Apply(role.Note, "(empty "+c.Kind+")"), "\n")
		}
	default:
		put(style.Apply(role.Note, "(values of type "+textesc.Key(c.Kind)+" cannot be shown)"), "\n")
	}
	if c.Truncated {
		note := "… showing " + strconv.Itoa(len(c.Items)) + " of " + strconv.FormatInt(c.Length, 10) + " elements"
		if opts.ReadOnly {
			note += " (read-only view)"
		}
		put(style.Apply(role.Note, note), "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
