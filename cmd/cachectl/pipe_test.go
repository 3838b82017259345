package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/cachectl/cachectl/internal/testenv"
)

// TestClosedPipeExits141 runs the real binary with stdout a pipe nobody reads
// (`cachectl keys | head` once head has quit): every command stops at once,
// says nothing on stderr and ends with status 141, as a shell reports a
// process that SIGPIPE ended, whether SIGPIPE is default or ignored.
func TestClosedPipeExits141(t *testing.T) {
	bin, err := exec.LookPath("cachectl") // testscript.Main puts it on PATH
	if err != nil {
		t.Fatal(err)
	}
	url := testenv.RedisURL(t)
	c := testenv.RedisClient(t, url)
	ctx := context.Background()
	p := c.Pipeline()
	for i := 0; i < 5000; i++ {
		p.Set(ctx, fmt.Sprintf("pipe:%d", i), "v", 0)
	}
	p.Set(ctx, "pipe:big", strings.Repeat("x", 1<<20), 0)
	if _, err := p.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	commands := [][]string{
		{"keys", "pipe:*"},
		{"keys", "pipe:*", "-l"},
		{"keys", "pipe:*", "-o", "jsonl"},
		{"get", "pipe:big"},
		{"get", "pipe:big", "--raw"},
		{"get", "pipe:1", "pipe:2", "-o", "json"},
		{"dump", "pipe:*", "-f", "-"},
		{"stats", "--raw"},
		{"invalidate", "nomatch:*", "--dry-run"},
		{"version"},
	}
	for _, args := range commands {
		for _, ignored := range []bool{false, true} {
			name := strings.Join(args, " ")
			if ignored {
				name += " (SIGPIPE ignored)"
			}
			t.Run(name, func(t *testing.T) {
				r, w, err := os.Pipe()
				if err != nil {
					t.Fatal(err)
				}
				r.Close() // the reader has gone before the first write
				defer w.Close()
				full := append([]string{"-u", url}, args...)
				var cmd *exec.Cmd
				if ignored {
					// A parent that ignores SIGPIPE passes that on through exec.
					cmd = exec.Command("/bin/sh", append([]string{"-c", `trap "" PIPE; exec "$0" "$@"`, bin}, full...)...)
				} else {
					cmd = exec.Command(bin, full...)
				}
				var stderr bytes.Buffer
				cmd.Stdout, cmd.Stderr = w, &stderr
				cmd.Env = append(os.Environ(), "NO_COLOR=1")
				err = cmd.Run()
				st := cmd.ProcessState
				if st == nil {
					t.Fatalf("did not run: %v", err)
				}
				ws := st.Sys().(syscall.WaitStatus)
				switch {
				case ws.Signaled() && ws.Signal() == syscall.SIGPIPE:
				case st.ExitCode() == 141:
				default:
					t.Errorf("ended with %v (exit %d), want SIGPIPE or exit 141", st, st.ExitCode())
				}
				if stderr.Len() != 0 {
					t.Errorf("stderr: %q", stderr.String())
				}
			})
		}
	}
}
