package detail

import (
	"encoding/hex"
	"fmt"
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/httpresp"
	"github.com/cachectl/cachectl/internal/human"
	"github.com/cachectl/cachectl/internal/render"
	"github.com/cachectl/cachectl/internal/role"
	"github.com/cachectl/cachectl/internal/serial"
)

// Preview bounds: what the pane shows before "load all". They keep a
// render of a huge value to a few hundred milliseconds at worst.
const (
	previewItems = 200
	previewBytes = 16 << 10
	previewHex   = 64 << 10
)

// renderValue renders an entry for the detail pane. It runs in a tea.Cmd:
// decoding a 10 MB pickle must not freeze the UI.
func renderValue(e *backends.Entry, seq int, mode Mode, width int, all bool) tea.Cmd {
	return func() tea.Msg {
		return renderedMsg{renderEntry(e, seq, mode, width, all)}
	}
}

func renderEntry(e *backends.Entry, seq int, mode Mode, width int, all bool) Rendered {
	msg := Rendered{Seq: seq, Mode: mode, Width: width, All: all}
	if e.Collection != nil {
		msg.Format = e.Type
		msg.Content = renderCollection(e.Collection)
		return msg
	}
	d, err := serial.Decode(e.Value, serial.DecodeOptions{Hint: e.Hint})
	if err != nil {
		d = serial.Decoded{Format: serial.FormatBytes, Value: serial.NewBytes(e.Value), Err: err}
	}
	msg.Format = string(d.Format)
	if d.Err != nil {
		msg.Note = d.Err.Error() + "; showing its bytes"
	}
	opts := serial.TextOptions{Style: role.ANSI, Width: max(width, 20)}
	if !all {
		opts.MaxItems, opts.MaxBytes = previewItems, previewBytes
	}
	var b strings.Builder
	switch mode {
	case ModeHex:
		v := e.Value
		if !all && len(v) > previewHex {
			v, msg.Cut = v[:previewHex], true
		}
		// hex.Dump's text column shows only printable ASCII: safe on a terminal.
		b.WriteString(strings.TrimRight(hex.Dump(v), "\n"))
		if msg.Cut {
			fmt.Fprintf(&b, "\n… %s more", human.Bytes(int64(len(e.Value)-len(v))))
		}
	case ModeJSON:
		jd, err := serial.ParseJSON(serial.ToJSON(d.Value))
		if err != nil {
			msg.Note = "cannot show as JSON: " + err.Error()
			break
		}
		cut, err := serial.RenderText(&b, serial.Decoded{Format: serial.FormatJSON, Value: jd}, opts)
		msg.Cut = cut
		if err != nil {
			msg.Note = err.Error()
		}
	default:
		var cut bool
		var err error
		// A cached HTTP response reads best as one: status, headers, body
		// decoded by its type (json mode still shows the stored object).
		if r, ok := httpresp.From(d.Value); ok {
			msg.Format += " · " + r.Kind + " response"
			if r.BodyNote != "" {
				msg.Note = r.BodyNote
			}
			cut, err = r.RenderText(&b, opts)
		} else {
			cut, err = serial.RenderText(&b, d, opts)
		}
		msg.Cut = cut
		if err != nil {
			msg.Note = err.Error()
		}
	}
	msg.Content = strings.TrimRight(b.String(), "\n")
	return msg
}

// renderCollection lists a bounded read of a hash, list, set, zset or stream.
func renderCollection(c *backends.Collection) string {
	var b strings.Builder
	_ = render.Collection(&b, c, render.CollectionOptions{ReadOnly: true}) // a Builder does not fail
	return strings.TrimRight(b.String(), "\n")
}
