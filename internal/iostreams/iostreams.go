// Package iostreams carries the process's standard streams and what is known
// about them (terminal or not, colour or not), so commands never touch os.Std*
// and tests can swap in buffers and pretend to be a terminal.
package iostreams

import (
	"bytes"
	"io"
	"os"

	"golang.org/x/term"
)

// IOStreams are the streams a command reads and writes.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer

	stdinTTY, stdoutTTY, stderrTTY bool
	colorEnabled                   bool
	termWidth                      int
}

// Getenv looks up an environment variable; os.LookupEnv in production.
type Getenv func(string) (string, bool)

// System returns the real standard streams. Colour is on only when stdout is
// a terminal, NO_COLOR is unset (or empty), and TERM is not "dumb";
// CLICOLOR_FORCE (non-empty, not "0") forces it on even in pipes.
func System(env Getenv) *IOStreams {
	s := &IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
	s.stdinTTY = isTerminal(os.Stdin)
	s.stdoutTTY = isTerminal(os.Stdout)
	s.stderrTTY = isTerminal(os.Stderr)
	if s.stdoutTTY {
		if w, _, err := term.GetSize(int(os.Stdout.Fd())); err == nil {
			s.termWidth = w
		}
	}
	s.colorEnabled = ColorWanted(env, s.stdoutTTY)
	return s
}

// ColorWanted applies the NO_COLOR / CLICOLOR_FORCE conventions.
func ColorWanted(env Getenv, tty bool) bool {
	if v, ok := env("NO_COLOR"); ok && v != "" {
		return false
	}
	if v, ok := env("CLICOLOR_FORCE"); ok && v != "" && v != "0" {
		return true
	}
	if v, ok := env("TERM"); ok && v == "dumb" {
		return false
	}
	return tty
}

func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

// Test returns streams backed by buffers, with no terminal and no colour.
func Test() (s *IOStreams, in, out, errOut *bytes.Buffer) {
	in, out, errOut = &bytes.Buffer{}, &bytes.Buffer{}, &bytes.Buffer{}
	return &IOStreams{In: in, Out: out, ErrOut: errOut}, in, out, errOut
}

func (s *IOStreams) IsStdinTTY() bool  { return s.stdinTTY }
func (s *IOStreams) IsStdoutTTY() bool { return s.stdoutTTY }
func (s *IOStreams) IsStderrTTY() bool { return s.stderrTTY }

func (s *IOStreams) SetStdinTTY(v bool)  { s.stdinTTY = v }
func (s *IOStreams) SetStdoutTTY(v bool) { s.stdoutTTY = v }
func (s *IOStreams) SetStderrTTY(v bool) { s.stderrTTY = v }

// ColorEnabled reports whether stdout output may carry colour escapes.
func (s *IOStreams) ColorEnabled() bool { return s.colorEnabled }

// SetColorEnabled overrides the decision (--no-color, tests).
func (s *IOStreams) SetColorEnabled(v bool) { s.colorEnabled = v }

// TerminalWidth is the width of the stdout terminal, or 80 when unknown.
func (s *IOStreams) TerminalWidth() int {
	if s.termWidth > 0 {
		return s.termWidth
	}
	return 80
}

// CanPrompt reports whether the user can answer a question interactively.
func (s *IOStreams) CanPrompt() bool { return s.stdinTTY && s.stderrTTY }

// ColorScheme returns styling helpers that are no-ops when colour is off.
func (s *IOStreams) ColorScheme() *ColorScheme { return &ColorScheme{enabled: s.colorEnabled} }

// ColorScheme wraps text in ANSI SGR sequences only when colour is enabled,
// so escapes can never leak into a pipe or a file.
type ColorScheme struct{ enabled bool }

func (c *ColorScheme) wrap(code, s string) string {
	if !c.enabled || s == "" {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

func (c *ColorScheme) Bold(s string) string    { return c.wrap("1", s) }
func (c *ColorScheme) Dim(s string) string     { return c.wrap("2", s) }
func (c *ColorScheme) Red(s string) string     { return c.wrap("31", s) }
func (c *ColorScheme) Green(s string) string   { return c.wrap("32", s) }
func (c *ColorScheme) Yellow(s string) string  { return c.wrap("33", s) }
func (c *ColorScheme) Blue(s string) string    { return c.wrap("34", s) }
func (c *ColorScheme) Magenta(s string) string { return c.wrap("35", s) }
func (c *ColorScheme) Cyan(s string) string    { return c.wrap("36", s) }
func (c *ColorScheme) Enabled() bool           { return c.enabled }
