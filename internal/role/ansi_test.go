package role

import "testing"

// Values are coloured as they always were: the basic ANSI colours.
func TestANSI(t *testing.T) {
	for code, roles := range map[string][]Role{
		"36": {Key}, "32": {String}, "33": {Number}, "35": {Literal},
		"1": {Type, Heading}, "2": {Marker, Index, Note},
	} {
		for _, r := range roles {
			if got, want := ANSI(r, "x"), "\x1b["+code+"mx\x1b[0m"; got != want {
				t.Errorf("%s: %q, want %q", r, got, want)
			}
		}
	}
	if got := ANSI(Role(99), "x"); got != "x" {
		t.Errorf("unknown role styled: %q", got)
	}
}

// An empty token is wrapped too, as the old palette did: the bytes stay as they were.
func TestANSIEmpty(t *testing.T) {
	if got := ANSI(Key, ""); got != "\x1b[36m\x1b[0m" {
		t.Errorf("empty key: %q", got)
	}
}
