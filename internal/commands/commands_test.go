package commands

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/cachectl/cachectl/internal/iostreams"
	"github.com/cachectl/cachectl/internal/testenv"
)

type testRun struct {
	f              *Factory
	stdout, stderr *bytes.Buffer
	stdin          *bytes.Buffer
}

func newTestRun(t *testing.T, env map[string]string) *testRun {
	t.Helper()
	io, in, out, errOut := iostreams.Test()
	if env == nil {
		env = map[string]string{}
	}
	if _, ok := env["XDG_CONFIG_HOME"]; !ok {
		env["XDG_CONFIG_HOME"] = t.TempDir()
	}
	getenv := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	return &testRun{f: NewFactory(io, getenv), stdout: out, stderr: errOut, stdin: in}
}

func (r *testRun) run(args ...string) int {
	return Run(context.Background(), r.f, args)
}

func TestFlagParsingWithoutAServer(t *testing.T) {
	r := newTestRun(t, nil)
	var got *getOptions
	cmd := NewCmdGet(r.f, func(_ context.Context, o *getOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"a", "b", "--as", "json", "-l"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if strings.Join(got.Keys, ",") != "a,b" || got.As != "json" || !got.Long || got.Raw {
		t.Fatalf("options: %+v", got)
	}

	var so *setOptions
	cmd = NewCmdSet(r.f, func(_ context.Context, o *setOptions) error { so = o; return nil })
	cmd.SetArgs([]string{"k", "-", "--ttl", "5m", "--serializer", "json"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if so.Key != "k" || so.Value != nil || so.TTL != "5m" || so.Serializer != "json" {
		t.Fatalf("set options: %+v", so)
	}
}

func TestEscapedKeysFlag(t *testing.T) {
	r := newTestRun(t, nil)
	r.f.Global.EscapedKeys = true
	var got *delOptions
	cmd := NewCmdDel(r.f, func(_ context.Context, o *delOptions) error { got = o; return nil })
	cmd.SetArgs([]string{`"a\x00b"`, `c\td`})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.Keys[0] != "a\x00b" || got.Keys[1] != "c\td" {
		t.Fatalf("keys: %q", got.Keys)
	}
}

func TestKeysLongOutputTTYAndPipe(t *testing.T) {
	url := testenv.RedisURL(t)
	c := testenv.RedisClient(t, url)
	ctx := context.Background()
	c.Set(ctx, "user:1", `{"a":1}`, 0)
	c.RPush(ctx, "list:1", "x", "y")

	pipe := newTestRun(t, nil)
	if code := pipe.run("-u", url, "keys", "-l"); code != 0 {
		t.Fatalf("exit %d: %s", code, pipe.stderr)
	}
	if !strings.Contains(pipe.stdout.String(), "string\t-\t7\tjson\tuser:1\n") ||
		!strings.Contains(pipe.stdout.String(), "list\t-\t2\t-\tlist:1\n") || strings.Contains(pipe.stdout.String(), "TYPE") {
		t.Fatalf("pipe output:\n%s", pipe.stdout)
	}

	tty := newTestRun(t, nil)
	tty.f.IO.SetStdoutTTY(true)
	if code := tty.run("-u", url, "keys", "-l"); code != 0 {
		t.Fatalf("exit %d: %s", code, tty.stderr)
	}
	out := tty.stdout.String()
	if !strings.HasPrefix(out, "TYPE ") || !strings.Contains(out, "7 B") || !strings.Contains(out, "2 items") {
		t.Fatalf("tty output:\n%s", out)
	}
	if strings.Contains(out, "\x1b") {
		t.Fatalf("colour is off in test streams, yet output has escapes: %q", out)
	}
}

func TestColourOnlyWhenEnabled(t *testing.T) {
	url := testenv.RedisURL(t)
	testenv.RedisClient(t, url).Set(context.Background(), "k", `{"a":1}`, 0)

	r := newTestRun(t, nil)
	r.f.IO.SetStdoutTTY(true)
	r.f.IO.SetColorEnabled(true)
	if code := r.run("-u", url, "get", "k", "-l"); code != 0 {
		t.Fatalf("exit %d: %s", code, r.stderr)
	}
	if !strings.Contains(r.stdout.String(), "\x1b[") {
		t.Fatalf("want colour on a colour terminal: %q", r.stdout)
	}

	r = newTestRun(t, nil)
	r.f.IO.SetStdoutTTY(true)
	r.f.IO.SetColorEnabled(true)
	if code := r.run("-u", url, "--no-color", "get", "k", "-l"); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if strings.Contains(r.stdout.String(), "\x1b") {
		t.Fatalf("--no-color still coloured: %q", r.stdout)
	}
}

func TestColorWanted(t *testing.T) {
	env := func(m map[string]string) iostreams.Getenv {
		return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
	}
	tests := []struct {
		env  map[string]string
		tty  bool
		want bool
	}{
		{map[string]string{}, true, true},
		{map[string]string{}, false, false},
		{map[string]string{"NO_COLOR": "1"}, true, false},
		{map[string]string{"NO_COLOR": ""}, true, true},
		{map[string]string{"CLICOLOR_FORCE": "1"}, false, true},
		{map[string]string{"CLICOLOR_FORCE": "0"}, false, false},
		{map[string]string{"NO_COLOR": "1", "CLICOLOR_FORCE": "1"}, false, false},
		{map[string]string{"TERM": "dumb"}, true, false},
	}
	for _, tt := range tests {
		if got := iostreams.ColorWanted(env(tt.env), tt.tty); got != tt.want {
			t.Errorf("ColorWanted(%v, tty=%v) = %v, want %v", tt.env, tt.tty, got, tt.want)
		}
	}
}

func TestInterruptedScanExits130(t *testing.T) {
	url := testenv.RedisURL(t)
	c := testenv.RedisClient(t, url)
	ctx := context.Background()
	pipe := c.Pipeline()
	for i := range 20000 {
		pipe.Set(ctx, fmt.Sprintf("k:%d", i), "v", 0)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	r := newTestRun(t, nil)
	cctx, cancel := context.WithCancel(ctx)
	// Cancel as soon as the first page is written: the scan must stop there.
	r.f.IO.Out = &cancelAfterWrite{w: r.stdout, cancel: cancel}
	r.f.IO.SetStdoutTTY(true) // flush per page
	code := Run(cctx, r.f, []string{"-u", url, "--scan-count", "100", "keys"})
	if code != ExitInterrupted {
		t.Fatalf("exit %d, want 130; stderr %s", code, r.stderr)
	}
	if !strings.Contains(r.stderr.String(), "interrupted") {
		t.Fatalf("stderr: %q", r.stderr)
	}
	if n := strings.Count(r.stdout.String(), "\n"); n == 0 || n >= 20000 {
		t.Fatalf("printed %d keys; want the pages before the interrupt only", n)
	}
}

type cancelAfterWrite struct {
	w      *bytes.Buffer
	cancel func()
}

func (c *cancelAfterWrite) Write(p []byte) (int, error) {
	c.cancel()
	return c.w.Write(p)
}

func TestSetFromTerminalWithoutValueIsUsageError(t *testing.T) {
	r := newTestRun(t, nil)
	r.f.IO.SetStdinTTY(true)
	if code := r.run("-u", "redis://127.0.0.1:1", "set", "k"); code != ExitUsage {
		t.Fatalf("exit %d: %s", code, r.stderr)
	}
	if !strings.Contains(r.stderr.String(), "no value") {
		t.Fatalf("stderr: %s", r.stderr)
	}
}

func TestSetConfirmsOnTerminalOnly(t *testing.T) {
	url := testenv.RedisURL(t)
	r := newTestRun(t, nil)
	if code := r.run("-u", url, "set", "k", "v", "--ttl", "90"); code != 0 || r.stderr.Len() != 0 || r.stdout.Len() != 0 {
		t.Fatalf("in a pipe set is silent: exit %d, out %q, err %q", code, r.stdout, r.stderr)
	}
	r = newTestRun(t, nil)
	r.f.IO.SetStderrTTY(true)
	if code := r.run("-u", url, "set", "k", "v", "--ttl", "90"); code != 0 {
		t.Fatal(code)
	}
	if !strings.Contains(r.stderr.String(), "stored k (1 B, 1m30s)") {
		t.Fatalf("stderr: %q", r.stderr)
	}
}

// keys --prefix and invalidate --prefix name the same stored keys: one
// mapping, --escaped-keys read back, then the profile's layout.
func TestPrefixMapsTheSameInKeysAndInvalidate(t *testing.T) {
	r := newTestRun(t, nil)
	r.f.Global.EscapedKeys = true
	r.f.Global.Profile, r.f.Global.ProfileSet = "django", true
	var ko *keysOptions
	cmd := NewCmdKeys(r.f, func(_ context.Context, o *keysOptions) error { ko = o; return nil })
	cmd.SetArgs([]string{"--prefix", `"user\x00"`})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	var io *invalidateOptions
	cmd = NewCmdInvalidate(r.f, func(_ context.Context, o *invalidateOptions) error { io = o; return nil })
	cmd.SetArgs([]string{"--prefix", `"user\x00"`})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if ko.Pattern != ":1:user\x00*" || len(io.Patterns) != 1 || io.Patterns[0] != ko.Pattern {
		t.Fatalf("keys %q, invalidate %q", ko.Pattern, io.Patterns)
	}
}
