package tui

import (
	"image/color"
	"strings"

	"charm.land/lipgloss/v2"
)

// styles are the dashboard's colours, built for the terminal's background:
// every foreground is picked per light/dark so both stay readable.
type styles struct {
	isDark bool

	title, dim, key, warn, errText, ok    lipgloss.Style
	badge, prodBadge, roBadge             lipgloss.Style
	pane, paneFocused                     lipgloss.Style
	selected, selectedBlur, branch, count lipgloss.Style
	field, fieldValue, mode, modeActive   lipgloss.Style
	dialog, spark                         lipgloss.Style
	labelColor                            func(name string) color.Color

	// Paints are the same styles as bare escape sequences, for the rows
	// drawn every frame: wrapping is then concatenation, not a Render that
	// measures every cell again.
	borderPaint, focusPaint, selectedPaint, blurPaint, branchPaint, dimPaint paint
}

// paint is a style's opening and closing escape sequences.
type paint struct{ pre, suf string }

func paintOf(s lipgloss.Style) paint {
	const mark = "\x00"
	pre, suf, _ := strings.Cut(s.Render(mark), mark)
	return paint{pre, suf}
}

func (p paint) wrap(s string) string { return p.pre + s + p.suf }

func newStyles(isDark bool) styles {
	ld := lipgloss.LightDark(isDark)
	fg := ld(lipgloss.Color("#1f2328"), lipgloss.Color("#e6edf3"))
	dim := ld(lipgloss.Color("#656d76"), lipgloss.Color("#8b949e"))
	accent := ld(lipgloss.Color("#0550ae"), lipgloss.Color("#79c0ff"))
	green := ld(lipgloss.Color("#116329"), lipgloss.Color("#56d364"))
	yellow := ld(lipgloss.Color("#7d4e00"), lipgloss.Color("#e3b341"))
	red := ld(lipgloss.Color("#a40e26"), lipgloss.Color("#ff7b72"))
	selBg := ld(lipgloss.Color("#ddf4ff"), lipgloss.Color("#1f3a5f"))
	blurBg := ld(lipgloss.Color("#eaeef2"), lipgloss.Color("#30363d"))
	border := ld(lipgloss.Color("#d0d7de"), lipgloss.Color("#484f58"))

	s := styles{isDark: isDark}
	s.title = lipgloss.NewStyle().Bold(true).Foreground(fg)
	s.dim = lipgloss.NewStyle().Foreground(dim)
	s.key = lipgloss.NewStyle().Foreground(accent)
	s.warn = lipgloss.NewStyle().Foreground(yellow)
	s.errText = lipgloss.NewStyle().Foreground(red)
	s.ok = lipgloss.NewStyle().Foreground(green)
	s.badge = lipgloss.NewStyle().Padding(0, 1).Bold(true).
		Foreground(ld(lipgloss.Color("#ffffff"), lipgloss.Color("#0d1117"))).Background(accent)
	s.prodBadge = s.badge.Background(red)
	s.roBadge = s.badge.Background(yellow)
	s.pane = lipgloss.NewStyle().Border(lipgloss.RoundedBorder()).BorderForeground(border)
	s.paneFocused = s.pane.BorderForeground(accent)
	s.selected = lipgloss.NewStyle().Background(selBg).Foreground(fg).Bold(true)
	s.selectedBlur = lipgloss.NewStyle().Background(blurBg).Foreground(fg)
	s.branch = lipgloss.NewStyle().Foreground(accent).Bold(true)
	s.count = lipgloss.NewStyle().Foreground(dim)
	s.field = lipgloss.NewStyle().Foreground(dim).Width(8)
	s.fieldValue = lipgloss.NewStyle().Foreground(fg)
	s.mode = lipgloss.NewStyle().Foreground(dim).Padding(0, 1)
	s.modeActive = lipgloss.NewStyle().Foreground(fg).Background(blurBg).Bold(true).Padding(0, 1)
	s.dialog = lipgloss.NewStyle().Border(lipgloss.RoundedBorder()).BorderForeground(accent).Padding(0, 1)
	s.spark = lipgloss.NewStyle().Foreground(green)
	s.borderPaint = paintOf(lipgloss.NewStyle().Foreground(border))
	s.focusPaint = paintOf(lipgloss.NewStyle().Foreground(accent))
	s.selectedPaint = paintOf(s.selected)
	s.blurPaint = paintOf(s.selectedBlur)
	s.branchPaint = paintOf(s.branch)
	s.dimPaint = paintOf(s.dim)
	s.labelColor = func(name string) color.Color {
		switch name {
		case "red":
			return red
		case "yellow":
			return yellow
		case "green":
			return green
		case "blue":
			return accent
		case "":
			return nil
		}
		return lipgloss.Color(name) // "#ff8800" or an ANSI number
	}
	return s
}

// contextBadge draws the context label: red for production (or the label's
// own colour), so a production cache is obvious at a glance.
func (s styles) contextBadge(label, colorName string, production bool) string {
	st := s.badge
	if production {
		st = s.prodBadge
	}
	if c := s.labelColor(colorName); c != nil {
		st = st.Background(c)
	}
	return st.Render(label)
}
