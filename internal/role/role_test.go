package role

import "testing"

func TestNilStylerLeavesTextPlain(t *testing.T) {
	var s Styler
	if got := s.Apply(Key, "k"); got != "k" {
		t.Errorf("nil Styler gave %q", got)
	}
	s = func(r Role, text string) string { return "<" + r.String() + ">" + text }
	if got := s.Apply(Note, "n"); got != "<note>n" {
		t.Errorf("Styler gave %q", got)
	}
	if got := Role(200).String(); got != "role(200)" {
		t.Errorf("unknown role = %q", got)
	}
}
