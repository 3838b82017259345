package status

import (
	"context"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

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
