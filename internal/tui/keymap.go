package tui

import "charm.land/bubbles/v2/key"

// keyMap holds every binding; the help line and the full help (?) are built
// from it, so what is shown is what works.
type keyMap struct {
	Up, Down, PageUp, PageDown, Top, Bottom key.Binding
	Expand, Collapse, Focus, Enter          key.Binding
	Filter, ClearFilter, Find, Next, Prev   key.Binding
	Tree, Mode, LoadAll                     key.Binding
	Delete, Invalidate, TTL, Refresh, Copy  key.Binding
	Help, Quit                              key.Binding
}

func newKeyMap() keyMap {
	b := func(keys []string, k, desc string) key.Binding {
		return key.NewBinding(key.WithKeys(keys...), key.WithHelp(k, desc))
	}
	return keyMap{
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
		Help:        b([]string{"?"}, "?", "help"),
		Quit:        b([]string{"q", "ctrl+c"}, "q", "quit"),
	}
}

// readOnly marks the write bindings as disabled in their help text: they
// still show (so the user sees why nothing happens) but say so.
func (k *keyMap) readOnly() {
	for _, b := range []*key.Binding{&k.Delete, &k.Invalidate, &k.TTL} {
		h := b.Help()
		b.SetHelp(h.Key, h.Desc+" (read-only)")
	}
}

// helpView adapts the map to bubbles/help for the focused pane.
type helpView struct {
	k      keyMap
	detail bool // the detail pane has focus
	tree   bool
	filter bool // a filter is active, so esc clears it
}

func (h helpView) ShortHelp() []key.Binding {
	k := h.k
	if h.detail {
		return []key.Binding{k.Focus, k.Mode, k.LoadAll, k.Delete, k.TTL, k.Copy, k.Help, k.Quit}
	}
	out := []key.Binding{k.Filter}
	if h.filter {
		out = append(out, k.ClearFilter)
	}
	out = append(out, k.Find, k.Next, k.Tree, k.Delete, k.Invalidate, k.TTL, k.Refresh, k.Help, k.Quit)
	return out
}

func (h helpView) FullHelp() [][]key.Binding {
	k := h.k
	return [][]key.Binding{
		{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom},
		{k.Expand, k.Collapse, k.Tree, k.Focus, k.Enter},
		{k.Filter, k.ClearFilter, k.Find, k.Next, k.Prev},
		{k.Mode, k.LoadAll, k.Copy, k.Refresh},
		{k.Delete, k.Invalidate, k.TTL, k.Help, k.Quit},
	}
}
