package commands

import (
	"strings"
	"testing"

	"github.com/cachectl/cachectl/internal/iostreams"
	"github.com/cachectl/cachectl/internal/role"
	"github.com/cachectl/cachectl/internal/serial"
)

// Values print in the colours they always had: keys cyan, strings green,
// numbers yellow, literals magenta, types and headings bold, the rest dim.
func TestValueStyleColours(t *testing.T) {
	io, _, _, _ := iostreams.Test()
	if valueStyle(io.ColorScheme()) != nil {
		t.Fatal("a styler with colour off")
	}
	io.SetColorEnabled(true)
	style := valueStyle(io.ColorScheme())
	sgr := map[role.Role]string{role.Key: "36", role.String: "32", role.Number: "33", role.Literal: "35",
		role.Type: "1", role.Heading: "1", role.Marker: "2", role.Index: "2", role.Note: "2"}
	for r, code := range sgr {
		if got, want := style(r, "x"), "\x1b["+code+"mx\x1b[0m"; got != want {
			t.Errorf("%s: %q, want %q", r, got, want)
		}
	}
	var b strings.Builder
	if _, err := serial.RenderText(&b, serial.Detect([]byte(`{"s":"x","n":null}`)), serial.TextOptions{Style: style}); err != nil {
		t.Fatal(err)
	}
	if want := "{\n  \x1b[36m\"s\"\x1b[0m: \x1b[32m\"x\"\x1b[0m,\n  \x1b[36m\"n\"\x1b[0m: \x1b[35mnull\x1b[0m\n}\n"; b.String() != want {
		t.Errorf("coloured JSON = %q, want %q", b.String(), want)
	}
}
