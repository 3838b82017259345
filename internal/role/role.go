// Package role names what each piece of rendered text is — a key, a number,
// a note — so the text renderers (serial, httpresp, the collection renderer)
// carry no colours of their own: each caller styles the roles its way, the
// commands with ANSI colours when the terminal takes them, the dashboard with
// its theme. It imports nothing, so every renderer can use it.
package role

import "strconv"

// Role is the part a token plays in rendered text.
type Role uint8

const (
	Key     Role = iota // dict keys, header names, hash and stream fields
	String              // str and bytes values
	Number              // int, float, Decimal, dates and times, sorted-set scores
	Literal             // None, True, False, null, true, false
	Type                // class names of objects, UUID(...), ExtType(...)
	Marker              // what a renderer left out inside a value: "… (3 more items)", <cycle>
	Heading             // the first line of a rendered whole, such as an HTTP status line
	Index               // a member's position: a list index, a stream entry's ID
	Note                // text about the value rather than of it: "… showing 100 of 150 elements"
)

var names = [...]string{"key", "string", "number", "literal", "type", "marker", "heading", "index", "note"}

func (r Role) String() string {
	if int(r) < len(names) {
		return names[r]
	}
	return "role(" + strconv.Itoa(int(r)) + ")"
}

// Styler returns text styled for its role. Renderers pass it text already
// escaped for the terminal (textesc), so a style only wraps, never escapes.
// A nil Styler leaves all text plain: no escape byte is ever written.
type Styler func(r Role, text string) string

// Apply returns text styled for r, or text itself when s is nil.
func (s Styler) Apply(r Role, text string) string {
	if s == nil {
		return text
	}
	return s(r, text)
}
