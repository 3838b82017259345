package tui

import (
	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/tui/detail"
)

// renderedMsg is what render.go draws; the detail pane takes it as a
// detail.Rendered.
type renderedMsg struct {
	seq     int
	mode    viewMode
	width   int
	all     bool
	content string
	format  string
	note    string
	cut     bool
}

// renderForDetail is the detail pane's renderer.
func renderForDetail(e *backends.Entry, mode detail.Mode, width int, all bool) detail.Rendered {
	r := renderEntry(e, 0, viewMode(mode), width, all)
	return detail.Rendered{Content: r.content, Format: r.format, Note: r.note, Cut: r.cut}
}
