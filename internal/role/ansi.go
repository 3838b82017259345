package role

// ANSI styles text for its role with the eight basic colours, which terminal
// themes keep readable on light and dark backgrounds: keys cyan, strings
// green, numbers yellow, literals magenta, types and headings bold, markers,
// indexes and notes dim. The commands (when colour is on) and the dashboard's
// detail pane both style values with it, so a value looks the same in both.
func ANSI(r Role, text string) string {
	pre := ansiPrefix(r)
	if pre == "" {
		return text
	}
	return pre + text + "\x1b[0m"
}

func ansiPrefix(r Role) string {
	switch r {
	case Key:
		return "\x1b[36m"
	case String:
		return "\x1b[32m"
	case Number:
		return "\x1b[33m"
	case Literal:
		return "\x1b[35m"
	case Type, Heading:
		return "\x1b[1m"
	case Marker, Index, Note:
		return "\x1b[2m"
	}
	return ""
}
