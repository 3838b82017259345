package redis

import (
	"slices"
	"testing"

	"github.com/cachectl/cachectl/internal/backends"
)

// TestParseHotkeysGet reads HOTKEYS GET replies shaped as Redis 8.6's
// documentation shows them (no 8.6 server was at hand to capture one).
func TestParseHotkeysGet(t *testing.T) {
	flat := []any{
		"tracking-active", int64(1), "sample-ratio", int64(1), "selected-slots", []any{},
		"all-commands-all-slots-us", int64(220), "collection-duration-ms", int64(6408),
		"by-cpu-time-us", []any{"x", int64(104), "y", int64(98), "z", int64(18)},
	}
	want := []backends.HotKey{{Key: "x", CPU: 104}, {Key: "y", CPU: 98}, {Key: "z", CPU: 18}}
	for name, reply := range map[string]any{
		"flat":    flat,
		"wrapped": []any{flat},
		"map":     map[any]any{"tracking-active": int64(0), "by-cpu-time-us": []any{"x", int64(104), "y", int64(98), "z", int64(18)}},
	} {
		got, err := parseHotkeysGet(reply)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("%s: %+v %v", name, got, err)
		}
	}
	if got, err := parseHotkeysGet(nil); err != nil || got != nil {
		t.Errorf("no session: %+v %v", got, err)
	}
	if got, err := parseHotkeysGet([]any{"by-cpu-time-us", []any{"x", "not a number"}}); err == nil {
		t.Errorf("a bad entry was read as %+v", got)
	}
	if _, err := parseHotkeysGet("OK"); err == nil {
		t.Error("a status reply was read")
	}
}
