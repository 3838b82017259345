package uictx

import (
	"image/color"
	"strings"

	"charm.land/lipgloss/v2"
)

// Styles are the dashboard's colours, built for the terminal's background:
// every foreground is picked per light/dark so both stay readable.
type Styles struct {
	IsDark bool

	Title, Dim, Key, Warn, ErrText, OK    lipgloss.Style
	Badge, ProdBadge, ROBadge             lipgloss.Style
	Pane, PaneFocused                     lipgloss.Style
	Selected, SelectedBlur, Branch, Count lipgloss.Style
	Field, FieldValue, Mode, ModeActive   lipgloss.Style
	Dialog, Spark                         lipgloss.Style
	labelColor                            func(name string) color.Color

	// Paints are the same styles as bare escape sequences, for the rows
	// drawn every frame: wrapping is then concatenation, not a Render that
	// measures every cell again.
	BorderPaint, FocusPaint, SelectedPaint, BlurPaint, BranchPaint, DimPaint Paint
}

// Paint is a style's opening and closing escape sequences.
type Paint struct{ Pre, Suf string }

func paintOf(s lipgloss.Style) Paint {
	const mark = "\x00"
	pre, suf, _ := strings.Cut(s.Render(mark), mark)
	return Paint{pre, suf}
}

// Wrap paints s.
func (p Paint) Wrap(s string) string { return p.Pre + s + p.Suf }

func NewStyles(isDark bool) Styles {
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

	s := Styles{IsDark: isDark}
	s.Title = lipgloss.NewStyle().Bold(true).Foreground(fg)
	s.Dim = lipgloss.NewStyle().Foreground(dim)
	s.Key = lipgloss.NewStyle().Foreground(accent)
	s.Warn = lipgloss.NewStyle().Foreground(yellow)
	s.ErrText = lipgloss.NewStyle().Foreground(red)
	s.OK = lipgloss.NewStyle().Foreground(green)
	s.Badge = lipgloss.NewStyle().Padding(0, 1).Bold(true).
		Foreground(ld(lipgloss.Color("#ffffff"), lipgloss.Color("#0d1117"))).Background(accent)
	s.ProdBadge = s.Badge.Background(red)
	s.ROBadge = s.Badge.Background(yellow)
	s.Pane = lipgloss.NewStyle().Border(lipgloss.RoundedBorder()).BorderForeground(border)
	s.PaneFocused = s.Pane.BorderForeground(accent)
	s.Selected = lipgloss.NewStyle().Background(selBg).Foreground(fg).Bold(true)
	s.SelectedBlur = lipgloss.NewStyle().Background(blurBg).Foreground(fg)
	s.Branch = lipgloss.NewStyle().Foreground(accent).Bold(true)
	s.Count = lipgloss.NewStyle().Foreground(dim)
	s.Field = lipgloss.NewStyle().Foreground(dim).Width(8)
	s.FieldValue = lipgloss.NewStyle().Foreground(fg)
	s.Mode = lipgloss.NewStyle().Foreground(dim).Padding(0, 1)
	s.ModeActive = lipgloss.NewStyle().Foreground(fg).Background(blurBg).Bold(true).Padding(0, 1)
	s.Dialog = lipgloss.NewStyle().Border(lipgloss.RoundedBorder()).BorderForeground(accent).Padding(0, 1)
	s.Spark = lipgloss.NewStyle().Foreground(green)
	s.BorderPaint = paintOf(lipgloss.NewStyle().Foreground(border))
	s.FocusPaint = paintOf(lipgloss.NewStyle().Foreground(accent))
	s.SelectedPaint = paintOf(s.Selected)
	s.BlurPaint = paintOf(s.SelectedBlur)
	s.BranchPaint = paintOf(s.Branch)
	s.DimPaint = paintOf(s.Dim)
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

// ContextBadge draws the context label: red for production (or the label's
// own colour), so a production cache is obvious at a glance.
func (s Styles) ContextBadge(label, colorName string, production bool) string {
	st := s.Badge
	if production {
		st = s.ProdBadge
	}
	if c := s.labelColor(colorName); c != nil {
		st = st.Background(c)
	}
	return st.Render(label)
}
