package human

import (
	"strings"
	"testing"
	"time"
)

func TestParseTTL(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		err  string
	}{
		{"300", 300 * time.Second, ""},
		{"1.5", 1500 * time.Millisecond, ""},
		{"0", 0, ""},
		{"30s", 30 * time.Second, ""},
		{"5m", 5 * time.Minute, ""},
		{"1h30m", 90 * time.Minute, ""},
		{"2d", 48 * time.Hour, ""},
		{"1d12h", 36 * time.Hour, ""},
		{"", 0, "empty"},
		{"-5", 0, "zero or positive"},
		{"-5s", 0, "zero or positive"},
		{"soon", 0, "invalid duration"},
		{"1.5d", 0, "invalid duration"},
		{"10ns", 0, "smallest TTL is 1ms"},
		{"1e300", 0, "too large"},
		{"NaN", 0, "zero or positive"},
	}
	for _, tt := range tests {
		got, err := ParseTTL(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseTTL(%q): want error %q, got %v, %v", tt.in, tt.err, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseTTL(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestDuration(t *testing.T) {
	tests := map[time.Duration]string{
		500 * time.Millisecond:                "500ms",
		59 * time.Second:                      "59s",
		299 * time.Second:                     "4m59s",
		5 * time.Minute:                       "5m",
		90 * time.Minute:                      "1h30m",
		time.Hour + 30*time.Second:            "1h",
		76 * time.Hour:                        "3d4h",
		48*time.Hour + 5*time.Minute:          "2d",
		59*time.Second + 600*time.Millisecond: "1m",
	}
	for d, want := range tests {
		if got := Duration(d); got != want {
			t.Errorf("Duration(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 1536: "1.5 KiB", 5 << 20: "5.0 MiB", 3 << 40: "3.0 TiB"} {
		if got := Bytes(n); got != want {
			t.Errorf("Bytes(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestTTL(t *testing.T) {
	tests := []struct {
		expires   bool
		remaining time.Duration
		unknown   bool
		want      string
	}{
		{false, 0, true, "unknown"},
		{true, time.Minute, true, "unknown"}, // the server cannot tell: nothing else counts
		{false, 0, false, "no expiry"},
		{false, time.Hour, false, "no expiry"},
		{true, 59 * time.Second, false, "59s"},
		{true, 4*time.Minute + 59*time.Second, false, "4m59s"},
		{true, 250 * time.Millisecond, false, "250ms"},
		{true, 3*24*time.Hour + 4*time.Hour + 5*time.Minute, false, "3d4h"},
	}
	for _, tt := range tests {
		if got := TTL(tt.expires, tt.remaining, tt.unknown); got != tt.want {
			t.Errorf("TTL(%v, %v, %v) = %q, want %q", tt.expires, tt.remaining, tt.unknown, got, tt.want)
		}
	}
}
