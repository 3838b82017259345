package status

import (
	"context"
	"errors"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/cachectl/cachectl/internal/tui/uictx"
)

func press(s string) tea.KeyPressMsg {
	switch s {
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	case "esc":
		return tea.KeyPressMsg{Code: tea.KeyEscape}
	}
	return tea.KeyPressMsg{Code: rune(s[0]), Text: s}
}

// A prompt takes every key until enter hands the trimmed text to the asker.
func TestPromptAnswersTheAsker(t *testing.T) {
	m := New(uictx.New(context.Background(), time.Now, time.Second, false))
	var got string
	m.Update(uictx.Ask{Label: "find: ", Value: " a", Answer: func(v string) tea.Cmd { got = v; return nil }})
	if !m.Prompting() || m.PromptValue() != " a" {
		t.Fatalf("prompt open %v with %q", m.Prompting(), m.PromptValue())
	}
	m.Update(press("b"))
	m.Update(press("enter"))
	if m.Prompting() || got != "ab" {
		t.Fatalf("after enter: open %v, answer %q", m.Prompting(), got)
	}
}

// A yes/no question is answered by y alone; esc on a text prompt clears the line.
func TestYesNoAndEsc(t *testing.T) {
	m := New(uictx.New(context.Background(), time.Now, time.Second, false))
	var yes, no int
	ask := uictx.Ask{Label: "Delete k? ", YesNo: true,
		Answer:  func(string) tea.Cmd { yes++; return nil },
		Decline: func() tea.Cmd { no++; return nil }}
	m.Update(ask)
	m.Update(press("n"))
	m.Update(ask)
	m.Update(press("y"))
	if yes != 1 || no != 1 || m.Prompting() {
		t.Fatalf("yes %d no %d open %v", yes, no, m.Prompting())
	}
	m.Update(uictx.Status{Text: "something", Err: true})
	m.Update(uictx.Ask{Label: "filter: ", Answer: func(string) tea.Cmd { t.Fatal("esc answered"); return nil }})
	m.Update(press("esc"))
	if s, isErr := m.Text(); s != "" || isErr || m.Prompting() {
		t.Fatalf("after esc: %q %v open %v", s, isErr, m.Prompting())
	}
}

// "reconnected" gives way to the next failure; what a user's action said
// does not. A degraded deployment's reason shows when nothing else does.
func TestConnectionTextGivesWayToTheNextFailure(t *testing.T) {
	c := uictx.New(context.Background(), time.Now, time.Second, false)
	m := New(c)
	m.SetSize(100)
	line := func() string { return ansi.Strip(m.statusLine()) }
	c.Down(errors.New("connection refused"))
	c.Up()
	for _, e := range c.Events() {
		m.Update(e)
	}
	if line() != "reconnected" {
		t.Fatalf("status %q", line())
	}
	c.Degrade(errors.New("1 of 6 nodes did not answer"), time.Now())
	if line() != "1 of 6 nodes did not answer" {
		t.Fatalf("degraded, status %q", line())
	}
	m.Update(uictx.Status{Text: "deleted k"})
	if line() != "deleted k" {
		t.Fatalf("status %q", line())
	}
	c.Unreachable(errors.New("connection refused"))
	if line() != "deleted k" {
		t.Fatalf("down, status %q", line())
	}
}
