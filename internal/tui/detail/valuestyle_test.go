package detail

import (
	"testing"

	"github.com/cachectl/cachectl/internal/role"
)

// The detail pane colours values as it always has: the basic ANSI colours.
func TestValueStyleColours(t *testing.T) {
	for code, roles := range map[string][]role.Role{
		"36": {role.Key}, "32": {role.String}, "33": {role.Number}, "35": {role.Literal},
		"1": {role.Type, role.Heading}, "2": {role.Marker, role.Index, role.Note},
	} {
		for _, r := range roles {
			if got, want := valueStyle(r, "x"), "\x1b["+code+"mx\x1b[0m"; got != want {
				t.Errorf("%s: %q, want %q", r, got, want)
			}
		}
	}
	if got := valueStyle(role.Role(99), "x"); got != "x" {
		t.Errorf("unknown role styled: %q", got)
	}
}
