package httpresp

import "github.com/cachectl/cachectl/internal/role"

// ansiStyle colours roles with the basic ANSI colours, as the commands and
// the dashboard do.
func ansiStyle(r role.Role, s string) string {
	code := map[role.Role]string{
		role.Heading: "1", role.Key: "36", role.String: "32", role.Number: "33",
		role.Literal: "35", role.Type: "1", role.Marker: "2", role.Note: "2",
	}[r]
	if code == "" {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}
