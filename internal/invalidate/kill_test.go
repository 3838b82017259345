package invalidate

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/backends/redis"
	"github.com/cachectl/cachectl/internal/dumpfile"
	"github.com/cachectl/cachectl/internal/testenv"
)

// startRedis runs a private redis-server that writes every command to its
// append-only file before answering, so that after a SIGKILL a restart shows
// exactly what the server did.
func startRedis(t *testing.T, dir string, port int) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("redis-server", "--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--dir", dir,
		"--appendonly", "yes", "--appendfsync", "always", "--save", "", "--logfile", filepath.Join(dir, "redis.log"))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := goredis.NewClient(&goredis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", port)})
	defer c.Close()
	for deadline := time.Now().Add(10 * time.Second); c.Ping(context.Background()).Err() != nil; {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("redis-server did not start")
		}
		time.Sleep(20 * time.Millisecond) // polling a starting server; nothing to wait on
	}
	return cmd
}

// TestServerKilledMidRun: the server dies (SIGKILL) during an invalidation.
// The run fails with a count that brackets exactly what the server did, no
// non-matching key is touched, and the backup restores every deleted entry
// with its TTL.
func TestServerKilledMidRun(t *testing.T) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		if testenv.Required() {
			t.Fatal("redis-server is required")
		}
		t.Skip("no redis-server")
	}
	ctx := context.Background()
	dir := t.TempDir()
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	srv := startRedis(t, dir, port)
	t.Cleanup(func() { srv.Process.Kill(); srv.Wait() })
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	c := goredis.NewClient(&goredis.Options{Addr: addr})
	defer c.Close()
	const n = 20000
	pipe := c.Pipeline()
	for i := range n {
		pipe.Set(ctx, fmt.Sprintf("del:%05d", i), fmt.Sprintf("v%d", i), time.Hour)
		pipe.Set(ctx, fmt.Sprintf("keep:%05d", i), "k", 0)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}

	b := open(t, "redis://"+addr+"/0", redis.Open, backends.Options{Timeout: 2 * time.Second})
	backup, err := os.Create(filepath.Join(dir, "backup.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	w := dumpfile.NewWriter(backup)
	sum, runErr := Run(ctx, b, Options{
		Patterns: []string{"del:*"},
		Batch:    500,
		Before: func(ctx context.Context, keys []string) error {
			for _, k := range keys {
				e, err := b.Get(ctx, k)
				if err != nil {
					return err
				}
				if err := w.Write(dumpfile.Entry{Key: k, Value: e.Value, TTL: e.TTL}); err != nil {
					return err
				}
			}
			return w.Flush()
		},
		Progress: func(pr Progress) {
			if pr.Deleted >= 3000 && srv.ProcessState == nil {
				srv.Process.Kill() // SIGKILL: no goodbye
				srv.Wait()
			}
		},
	})
	backup.Close()
	if runErr == nil {
		t.Fatalf("the run survived its server: %+v", sum)
	}
	if sum.Deleted < 3000 || sum.Deleted >= n {
		t.Fatalf("deleted %d, want at least the 3000 before the kill and not all", sum.Deleted)
	}

	// Restart on the same append-only file and look.
	srv2 := startRedis(t, dir, port)
	t.Cleanup(func() { srv2.Process.Kill(); srv2.Wait() })
	c2 := goredis.NewClient(&goredis.Options{Addr: addr})
	defer c2.Close()
	left, _ := c2.Keys(ctx, "del:*").Result()
	kept, _ := c2.Keys(ctx, "keep:*").Result()
	gone := int64(n - len(left))
	if len(kept) != n {
		t.Fatalf("%d non-matching keys left of %d", len(kept), n)
	}
	if gone < sum.Deleted || gone > sum.Deleted+sum.Unconfirmed {
		t.Fatalf("%d keys are gone; the run said %d deleted and %d unconfirmed", gone, sum.Deleted, sum.Unconfirmed)
	}
	t.Logf("killed mid-run: %d deleted (confirmed), %d unconfirmed, %d actually gone; error: %v", sum.Deleted, sum.Unconfirmed, gone, runErr)

	// Restore the backup: every deleted key is back with its value and TTL.
	b2 := open(t, "redis://"+addr+"/0", redis.Open, backends.Options{})
	f, err := os.Open(filepath.Join(dir, "backup.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := dumpfile.NewReader(f)
	restored := 0
	for {
		e, err := r.Next()
		if err != nil {
			break
		}
		if err := b2.Set(ctx, e.Key, e.Value, e.TTL.Remaining); err != nil {
			t.Fatal(err)
		}
		restored++
	}
	left, _ = c2.Keys(ctx, "del:*").Result()
	if len(left) != n || int64(restored) < gone {
		t.Fatalf("after restore: %d of %d keys (restored %d, %d were gone)", len(left), n, restored, gone)
	}
	ttl, _ := c2.TTL(ctx, "del:00000").Result()
	v, _ := c2.Get(ctx, "del:00000").Result()
	if ttl < 59*time.Minute || ttl > time.Hour || !strings.HasPrefix(v, "v0") {
		t.Fatalf("restored del:00000 = %q with TTL %v", v, ttl)
	}
}
