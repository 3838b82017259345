package detail

import (
	"github.com/cachectl/cachectl/internal/role"
	"github.com/cachectl/cachectl/internal/tui/uictx"
)

// valueStyle colours the roles of a value in the detail pane with the eight
// basic colours: the terminal's theme picks their shades, so they stay
// readable on light and dark backgrounds alike. It runs in the render
// command, away from the model, so it is a plain function of the role.
func valueStyle(r role.Role, s string) string {
	var sgr string
	switch r {
	case role.Key:
		sgr = "36"
	case role.String:
		sgr = "32"
	case role.Number:
		sgr = "33"
	case role.Literal:
		sgr = "35"
	case role.Type, role.Heading:
		sgr = "1"
	case role.Marker, role.Index, role.Note:
		sgr = "2"
	default:
		return s
	}
	return uictx.Paint{Pre: "\x1b[" + sgr + "m", Suf: "\x1b[0m"}.Wrap(s)
}
