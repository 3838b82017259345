package uictx

import (
	"errors"
	"strconv"
	"strings"

	"github.com/charmbracelet/x/ansi"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/textesc"
)

// Box frames lines that are already exactly width-2 cells wide.
func (s Styles) Box(lines []string, width, height int, focused bool) []string {
	inner := max(0, width-2)
	p := s.BorderPaint
	if focused {
		p = s.FocusPaint
	}
	side := p.Pre + "│" + p.Suf
	out := make([]string, 0, height)
	out = append(out, p.Pre+"╭"+strings.Repeat("─", inner)+"╮"+p.Suf)
	blank := strings.Repeat(" ", inner)
	for i := range max(0, height-2) {
		l := blank
		if i < len(lines) {
			l = lines[i]
		}
		out = append(out, side+l+side)
	}
	return append(out, p.Pre+"╰"+strings.Repeat("─", inner)+"╯"+p.Suf)
}

// PadTo cuts styled text to w cells and pads it to exactly w.
func PadTo(s string, w int) string {
	n := ansi.StringWidth(s)
	if n > w {
		s = ansi.Truncate(s, w, "…")
		n = ansi.StringWidth(s)
	}
	return s + strings.Repeat(" ", max(0, w-n))
}

// Fit cuts plain text to w cells and pads it to exactly w. Escaped keys are
// nearly always ASCII, whose width is its length: that path skips grapheme
// segmentation, the main cost of a frame.
func Fit(s string, w int) string {
	if w <= 0 {
		return ""
	}
	if isASCII(s) {
		if len(s) > w {
			return s[:w-1] + "…"
		}
		return s + strings.Repeat(" ", w-len(s))
	}
	if ansi.StringWidth(s) > w {
		s = ansi.Truncate(s, w, "…")
	}
	if pad := w - ansi.StringWidth(s); pad > 0 {
		s += strings.Repeat(" ", pad)
	}
	return s
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 || s[i] < 0x20 {
			return false
		}
	}
	return true
}

// ErrLine is err for the status bar: OneLine, with an ACL refusal in its
// brief form, as the header already names the server and the full line
// would be cut before its grant.
func ErrLine(err error) string {
	msg := err.Error()
	var pe *backends.PermissionError
	if errors.As(err, &pe) {
		msg = strings.Replace(msg, pe.Error(), pe.Brief(), 1)
	}
	return OneLine(msg)
}

// OneLine makes a server's error text safe and single-line for the status bar.
func OneLine(s string) string {
	return strings.Join(strings.Fields(textesc.Text(s)), " ")
}

// GroupDigits writes 1234567 as 1,234,567.
func GroupDigits(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
