package commands

import (
	"github.com/cachectl/cachectl/internal/iostreams"
	"github.com/cachectl/cachectl/internal/role"
)

// valueStyle styles the roles of rendered values (serial, httpresp and
// collections) as the dashboard does (role.ANSI). It is nil when colour is
// off, so no escape byte reaches a pipe or a file.
func valueStyle(cs *iostreams.ColorScheme) role.Styler {
	if !cs.Enabled() {
		return nil
	}
	return role.ANSI
}
