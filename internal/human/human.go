// Package human formats sizes and durations for people and parses the
// durations they type (--ttl, expire, the dashboard's TTL editor).
package human

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// TTL renders a key's lifetime for people: "59s", "4m59s", "no expiry",
// "unknown" (the server cannot tell). It takes plain values so that this
// package stays a leaf that imports nothing of the project.
func TTL(expires bool, remaining time.Duration, unknown bool) string {
	if unknown {
		return "unknown"
	}
	if !expires {
		return "no expiry"
	}
	return Duration(remaining)
}

// Duration shows the two most significant units: "4m59s", "1h30m", "3d4h".
func Duration(d time.Duration) string {
	if d < time.Second {
		return fmt.Sprintf("%dms", d.Milliseconds())
	}
	secs := int64(d.Round(time.Second) / time.Second)
	units := []struct {
		n    int64
		name string
	}{{secs / 86400, "d"}, {secs % 86400 / 3600, "h"}, {secs % 3600 / 60, "m"}, {secs % 60, "s"}}
	var b strings.Builder
	shown := 0
	for _, u := range units {
		if shown == 0 && u.n == 0 {
			continue
		}
		if shown == 2 {
			break
		}
		shown++
		if u.n == 0 {
			continue
		}
		fmt.Fprintf(&b, "%d%s", u.n, u.name)
	}
	return b.String()
}

// Cut cuts s to at most w runes, marking the cut with an ellipsis.
func Cut(s string, w int) string {
	if utf8.RuneCountInString(s) <= w {
		return s
	}
	r := []rune(s)
	return string(r[:w-1]) + "…"
}

// Bytes renders a byte count with binary units.
func Bytes(n int64) string {
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	f := float64(n)
	for _, unit := range []string{"KiB", "MiB", "GiB", "TiB"} {
		f /= 1024
		if f < 1024 {
			return fmt.Sprintf("%.1f %s", f, unit)
		}
	}
	return fmt.Sprintf("%.1f PiB", f/1024)
}

// ParseTTL reads --ttl and expire's DURATION: a bare number is seconds
// ("300", "1.5"), otherwise a Go duration with an optional day unit
// ("30s", "5m", "1h30m", "2d"). Zero means no expiry; negative is refused.
func ParseTTL(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("empty duration")
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if f < 0 || math.IsNaN(f) || math.IsInf(f, 0) {
			return 0, fmt.Errorf("invalid duration %q: must be zero or positive", s)
		}
		if f > float64(math.MaxInt64/int64(time.Second)) {
			return 0, fmt.Errorf("invalid duration %q: too large", s)
		}
		return time.Duration(f * float64(time.Second)), nil
	}
	var days time.Duration
	if i := strings.Index(s, "d"); i > 0 {
		n, err := strconv.Atoi(s[:i])
		if err != nil || n < 0 {
			return 0, fmt.Errorf("invalid duration %q (want e.g. 300, 30s, 5m, 1h30m, 2d)", s)
		}
		days = time.Duration(n) * 24 * time.Hour
		s = s[i+1:]
		if s == "" {
			return days, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q (want e.g. 300, 30s, 5m, 1h30m, 2d)", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("invalid duration %q: must be zero or positive", s)
	}
	if d > 0 && d < time.Millisecond {
		return 0, fmt.Errorf("invalid duration %q: the smallest TTL is 1ms", s)
	}
	return days + d, nil
}
