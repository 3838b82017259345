package tui

import (
	"encoding/hex"
	"fmt"
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/httpresp"
	"github.com/cachectl/cachectl/internal/human"
	"github.com/cachectl/cachectl/internal/render"
	"github.com/cachectl/cachectl/internal/serial"
)

// viewMode is how the detail pane shows a value.
type viewMode int

const (
	modeDecoded viewMode = iota // Python-like text, JSON pretty, text as is
	modeJSON                    // the decoded value mapped to JSON
	modeHex                     // the stored bytes
)

var modeNames = [...]string{"decoded", "json", "hex"}

func (m viewMode) String() string { return modeNames[m] }

// Preview bounds: what the pane shows before "load all". They keep a
// render of a huge value to a few hundred milliseconds at worst.
const (
	previewItems = 200
	previewBytes = 16 << 10
	previewHex   = 64 << 10
)

// renderValue renders an entry for the detail pane. It runs in a tea.Cmd:
// decoding a 10 MB pickle must not freeze the UI.
func renderValue(e *backends.Entry, seq int, mode viewMode, width int, all bool) tea.Cmd {
	return func() tea.Msg {
		return renderEntry(e, seq, mode, width, all)
	}
}

func renderEntry(e *backends.Entry, seq int, mode viewMode, width int, all bool) renderedMsg {
	msg := renderedMsg{seq: seq, mode: mode, width: width, all: all}
	if e.Collection != nil {
		msg.format = e.Type
		msg.content = renderCollection(e.Collection)
		return msg
	}
	d, err := serial.Decode(e.Value, serial.DecodeOptions{Hint: e.Hint})
	if err != nil {
		d = serial.Decoded{Format: serial.FormatBytes, Value: serial.NewBytes(e.Value), Err: err}
	}
	msg.format = string(d.Format)
	if d.Err != nil {
		msg.note = d.Err.Error() + "; showing its bytes"
	}
	opts := serial.TextOptions{Style: valueStyle, Width: max(width, 20)}
	if !all {
		opts.MaxItems, opts.MaxBytes = previewItems, previewBytes
	}
	var b strings.Builder
	switch mode {
	case modeHex:
		v := e.Value
		if !all && len(v) > previewHex {
			v, msg.cut = v[:previewHex], true
		}
		// hex.Dump's text column shows only printable ASCII: safe on a terminal.
		b.WriteString(strings.TrimRight(hex.Dump(v), "\n"))
		if msg.cut {
			fmt.Fprintf(&b, "\n… %s more", human.Bytes(int64(len(e.Value)-len(v))))
		}
	case modeJSON:
		jd, err := serial.ParseJSON(serial.ToJSON(d.Value))
		if err != nil {
			msg.note = "cannot show as JSON: " + err.Error()
			break
		}
		cut, err := serial.RenderText(&b, serial.Decoded{Format: serial.FormatJSON, Value: jd}, opts)
		msg.cut = cut
		if err != nil {
			msg.note = err.Error()
		}
	default:
		var cut bool
		var err error
		// A cached HTTP response reads best as one: status, headers, body
		// decoded by its type (json mode still shows the stored object).
		if r, ok := httpresp.From(d.Value); ok {
			msg.format += " · " + r.Kind + " response"
			if r.BodyNote != "" {
				msg.note = r.BodyNote
			}
			cut, err = r.RenderText(&b, opts)
		} else {
			cut, err = serial.RenderText(&b, d, opts)
		}
		msg.cut = cut
		if err != nil {
			msg.note = err.Error()
		}
	}
	msg.content = strings.TrimRight(b.String(), "\n")
	return msg
}

// renderCollection lists a bounded read of a hash, list, set, zset or stream.
func renderCollection(c *backends.Collection) string {
	var b strings.Builder
	_ = render.Collection(&b, c, render.CollectionOptions{ReadOnly: true}) // a Builder does not fail
	return strings.TrimRight(b.String(), "\n")
}
