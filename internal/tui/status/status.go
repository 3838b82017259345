// Package status is the dashboard's bottom: the status line, which the
// prompt takes over while it asks something, and the key help under it.
// Components say things and ask things through uictx events; the line shows
// the prompt first, then a long operation's progress, then the last thing
// said, then what is wrong with the connection or the listing.
package status

import (
	"strings"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/cachectl/cachectl/internal/tui/uictx"
)

// Model is the status line and the help.
type Model struct {
	c     *uictx.Context
	width int

	text     string
	isErr    bool
	connText bool // text says the connection came back (uictx.Status.Conn)
	activity string
	listing  error
	prompt   *prompt

	help     help.Model
	short    []key.Binding // the focused pane's
	showHelp bool
}

// prompt is an open question.
type prompt struct {
	ask   uictx.Ask
	input textinput.Model
}

// New builds the status line.
func New(c *uictx.Context) *Model {
	m := &Model{c: c, width: c.Width, help: help.New()}
	m.help.Styles = help.DefaultStyles(true)
	return m
}

// SetSize sets the terminal's width.
func (m *Model) SetSize(width int) {
	m.width = width
	m.help.SetWidth(width)
}

// SetShortHelp sets the bindings the one-line help shows: the focused pane's.
func (m *Model) SetShortHelp(b []key.Binding) { m.short = b }

// ToggleHelp switches between the one-line help and every binding (?).
func (m *Model) ToggleHelp() { m.showHelp = !m.showHelp }

// Prompting reports whether a prompt is open: then every key is its.
func (m *Model) Prompting() bool { return m.prompt != nil }

// PromptValue is the open prompt's input.
func (m *Model) PromptValue() string {
	if m.prompt == nil {
		return ""
	}
	return m.prompt.input.Value()
}

// Text is what the status line last said, and whether it was an error.
func (m *Model) Text() (string, bool) { return m.text, m.isErr }

// Set says text in the status line.
func (m *Model) Set(text string, isErr bool) { m.text, m.isErr, m.connText = text, isErr, false }

// Update applies the status events, the keys of an open prompt, and
// anything else the prompt's input wants (its cursor's blinks).
func (m *Model) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case uictx.Status:
		m.Set(msg.Text, msg.Err)
		m.connText = msg.Conn
		return nil
	case uictx.Ask:
		return m.open(msg)
	case uictx.Activity:
		m.activity = msg.Text
		return nil
	case uictx.Listing:
		m.listing = msg.Err
		return nil
	case tea.BackgroundColorMsg:
		m.help.Styles = help.DefaultStyles(msg.IsDark())
		if m.prompt != nil {
			m.prompt.input.SetStyles(textinput.DefaultStyles(msg.IsDark()))
		}
		return nil
	case tea.PasteMsg:
		if m.prompt != nil && m.prompt.input.Focused() {
			var cmd tea.Cmd
			m.prompt.input, cmd = m.prompt.input.Update(msg)
			return cmd
		}
		return nil
	case tea.KeyPressMsg:
		if m.prompt != nil {
			return m.onKey(msg)
		}
		return nil
	}
	if m.prompt != nil {
		var cmd tea.Cmd
		m.prompt.input, cmd = m.prompt.input.Update(msg)
		return cmd
	}
	return nil
}

func (m *Model) open(a uictx.Ask) tea.Cmd {
	in := textinput.New()
	in.SetStyles(textinput.DefaultStyles(m.c.Styles.IsDark))
	in.Prompt = a.Label
	in.SetValue(a.Value)
	in.CursorEnd()
	w := a.Width
	if w == 0 {
		w = max(10, m.width-len(a.Label)-2)
	}
	in.SetWidth(w)
	m.prompt = &prompt{ask: a, input: in}
	if a.YesNo {
		return nil // answered by one key; nothing to type
	}
	return m.prompt.input.Focus()
}

func (m *Model) onKey(msg tea.KeyPressMsg) tea.Cmd {
	p := m.prompt
	if msg.String() == "ctrl+c" {
		return tea.Quit
	}
	if p.ask.YesNo {
		m.prompt = nil
		if msg.String() == "y" || msg.String() == "Y" {
			return p.ask.Answer("y")
		}
		return p.ask.Decline()
	}
	switch msg.String() {
	case "esc":
		m.prompt = nil
		m.Set("", false)
		return nil
	case "enter":
		m.prompt = nil
		return p.ask.Answer(strings.TrimSpace(p.input.Value()))
	}
	var cmd tea.Cmd
	p.input, cmd = p.input.Update(msg)
	return cmd
}

// Height is the lines the status line and the help take.
func (m *Model) Height() int {
	if !m.showHelp {
		return 2
	}
	return 1 + lipgloss.Height(m.helpLine())
}

// View is the status line and the help under it.
func (m *Model) View() string { return m.statusLine() + "\n" + m.helpLine() }

func (m *Model) statusLine() string {
	st := m.c.Styles
	w := m.width
	if p := m.prompt; p != nil {
		if p.ask.YesNo {
			return lipgloss.NewStyle().MaxWidth(w).Render(st.Warn.Render(p.ask.Label) + st.Title.Render("y") + st.Dim.Render("/N"))
		}
		return lipgloss.NewStyle().MaxWidth(w).Render(p.input.View())
	}
	if m.activity != "" {
		return lipgloss.NewStyle().MaxWidth(w).Render(st.Warn.Render(m.activity))
	}
	switch {
	case m.text != "" && m.isErr:
		return ansi.Truncate(st.ErrText.Render(m.text), w, "…")
	case m.text != "" && !(m.connText && m.c.Conn.State != uictx.Up):
		return ansi.Truncate(st.OK.Render(m.text), w, "…")
	case m.c.Conn.State == uictx.Down && m.c.Conn.Err != nil:
		return ansi.Truncate(st.ErrText.Render(uictx.ErrLine(m.c.Conn.Err)), w, "…")
	case m.listing != nil:
		return ansi.Truncate(st.ErrText.Render("listing: "+uictx.ErrLine(m.listing)), w, "…")
	case m.c.Conn.State == uictx.Degraded && m.c.Conn.Err != nil:
		return ansi.Truncate(st.Warn.Render(uictx.ErrLine(m.c.Conn.Err)), w, "…")
	}
	return ""
}

func (m *Model) helpLine() string {
	keys := uictx.Help{Keys: m.c.Keys, Short: m.short}
	var out string
	if !m.showHelp {
		out = m.help.ShortHelpView(keys.ShortHelp())
	} else {
		// Columns side by side while they fit, then a new band of columns.
		groups := keys.FullHelp()
		var bands []string
		for len(groups) > 0 {
			n := len(groups)
			for n > 1 && lipgloss.Width(m.help.FullHelpView(groups[:n])) > m.width {
				n--
			}
			bands = append(bands, m.help.FullHelpView(groups[:n]))
			groups = groups[n:]
		}
		out = strings.Join(bands, "\n")
	}
	// bubbles/help can overrun its width by an item; never let a line wrap.
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		lines[i] = ansi.Truncate(l, m.width, "…")
	}
	return strings.Join(lines, "\n")
}
