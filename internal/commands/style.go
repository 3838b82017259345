package commands

import (
	"github.com/cachectl/cachectl/internal/iostreams"
	"github.com/cachectl/cachectl/internal/role"
)

// valueStyle colours the roles of rendered values (serial, httpresp and
// collections) with the eight basic colours, which terminal themes keep
// readable on light and dark backgrounds. It is nil when colour is off, so
// no escape byte reaches a pipe or a file.
func valueStyle(cs *iostreams.ColorScheme) role.Styler {
	if !cs.Enabled() {
		return nil
	}
	return func(r role.Role, s string) string {
		switch r {
		case role.Key:
			return cs.Cyan(s)
		case role.String:
			return cs.Green(s)
		case role.Number:
			return cs.Yellow(s)
		case role.Literal:
			return cs.Magenta(s)
		case role.Type, role.Heading:
			return cs.Bold(s)
		case role.Marker, role.Index, role.Note:
			return cs.Dim(s)
		}
		return s
	}
}
