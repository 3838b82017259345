package uictx

import "charm.land/bubbles/v2/key"

// KeyMap holds every binding; the help line and the full help (?) are built
// from it, so what is shown is what works.
type KeyMap struct {
	Up, Down, PageUp, PageDown, Top, Bottom key.Binding
	Expand, Collapse, Focus, Enter          key.Binding
	Filter, ClearFilter, Find, Next, Prev   key.Binding
	Tree, Mode, LoadAll                     key.Binding
	Delete, Invalidate, TTL, Refresh, Copy  key.Binding
	Live, Analyze                           key.Binding
	Help, Quit                              key.Binding
}

// NewKeyMap is the dashboard's bindings.
func NewKeyMap() KeyMap {
	b := func(keys []string, k, desc string) key.Binding {
		return key.NewBinding(key.WithKeys(keys...), key.WithHelp(k, desc))
	}
	return KeyMap{
		Up:          b([]string{"up", "k"}, "↑/k", "up"),
		Down:        b([]string{"down", "j"}, "↓/j", "down"),
		PageUp:      b([]string{"pgup", "ctrl+b"}, "pgup", "page up"),
		PageDown:    b([]string{"pgdown", "ctrl+f", "space"}, "pgdn", "page down"),
		Top:         b([]string{"home", "g"}, "g", "first"),
		Bottom:      b([]string{"end", "G"}, "G", "last"),
		Expand:      b([]string{"right", "l"}, "→/l", "expand"),
		Collapse:    b([]string{"left", "h"}, "←/h", "collapse"),
		Focus:       b([]string{"tab", "shift+tab"}, "tab", "switch pane"),
		Enter:       b([]string{"enter"}, "enter", "open"),
		Filter:      b([]string{"/"}, "/", "filter (glob)"),
		ClearFilter: b([]string{"esc"}, "esc", "clear filter"),
		Find:        b([]string{"f"}, "f", "find"),
		Next:        b([]string{"n"}, "n/N", "next/prev match"),
		Prev:        b([]string{"N"}, "N", "previous match"),
		Tree:        b([]string{"v"}, "v", "tree/flat"),
		Mode:        b([]string{"m"}, "m", "decoded/json/hex"),
		LoadAll:     b([]string{"a"}, "a", "load all"),
		Delete:      b([]string{"d"}, "d", "delete"),
		Invalidate:  b([]string{"D"}, "D", "delete filter"),
		TTL:         b([]string{"t"}, "t", "edit TTL"),
		Refresh:     b([]string{"r"}, "r", "refresh"),
		Copy:        b([]string{"y"}, "y", "copy key"),
		Live:        b([]string{"L"}, "L", "live on/off"),
		Analyze:     b([]string{"A"}, "A", "analysis"),
		Help:        b([]string{"?"}, "?", "help"),
		Quit:        b([]string{"q", "ctrl+c"}, "q", "quit"),
	}
}

// ReadOnly marks the write bindings as disabled in their help text: they
// still show (so the user sees why nothing happens) but say so.
func (k *KeyMap) ReadOnly() {
	for _, b := range []*key.Binding{&k.Delete, &k.Invalidate, &k.TTL} {
		h := b.Help()
		b.SetHelp(h.Key, h.Desc+" (read-only)")
	}
}

// FullHelp is every binding in columns, for the full help (?).
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom},
		{k.Expand, k.Collapse, k.Tree, k.Focus, k.Enter},
		{k.Filter, k.ClearFilter, k.Find, k.Next, k.Prev},
		{k.Mode, k.LoadAll, k.Copy, k.Refresh, k.Live, k.Analyze},
		{k.Delete, k.Invalidate, k.TTL, k.Help, k.Quit},
	}
}

// Help adapts the bindings to bubbles/help: the short help is the focused
// pane's, the full help every binding.
type Help struct {
	Keys  KeyMap
	Short []key.Binding
}

func (h Help) ShortHelp() []key.Binding  { return h.Short }
func (h Help) FullHelp() [][]key.Binding { return h.Keys.FullHelp() }
