package build

import "testing"

func TestString(t *testing.T) {
	defer func(v, c, d string) { Version, Commit, Date = v, c, d }(Version, Commit, Date)
	Version, Commit, Date = "v1.2.3", "abc1234", "2026-11-23T10:00:00Z"
	if got := String(); got != "v1.2.3 (commit abc1234, built 2026-11-23T10:00:00Z)" {
		t.Fatalf("String() = %q", got)
	}
	Date = ""
	if got := String(); got != "v1.2.3 (commit abc1234)" {
		t.Fatalf("String() = %q", got)
	}
	Commit = ""
	if got := String(); got != "v1.2.3" {
		t.Fatalf("String() = %q", got)
	}
}
