package httpmem

import (
	"context"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// TestSocketSwappedWhileDialled: a socket replaced by a link to another
// socket between the check and the dial (the race a listing cannot close)
// is not followed: what is dialled is the socket that was checked.
func TestSocketSwappedWhileDialled(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the socket is pinned on Linux only")
	}
	dir, outside := socketDir(t), socketDir(t)
	path := filepath.Join(dir, "web-1.sock")
	ws := unixWorker(t, path)
	ws.store.Set("mine", []byte("x"), 0, "")
	other := unixWorker(t, filepath.Join(outside, "other.sock"))
	other.store.Set("secret", []byte("x"), 0, "")

	at, release, err := pinSocket(path, func(fi fs.FileInfo) error {
		// The swap, right after the check has looked.
		moved := filepath.Join(dir, "moved")
		if err := os.Rename(path, moved); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Rename(moved, path) })
		if err := os.Symlink(filepath.Join(outside, "other.sock"), path); err != nil {
			t.Fatal(err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	conn, err := net.Dial("unix", at)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("GET /_cache/v1/keys?match=* HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	n, _ := conn.Read(buf)
	if got := string(buf[:n]); strings.Contains(got, "secret") || !strings.Contains(got, "mine") {
		t.Fatalf("the dial reached another socket than the one checked:\n%s", got)
	}
}

// TestSocketOwners: a socket of another user in the directory (a shared or
// sticky one) is not a worker: it would get the token. A directory every
// user may write is warned about, sticky or not.
func TestSocketOwners(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("giving a socket to another user needs root")
	}
	dir := socketDir(t)
	if err := os.Chmod(dir, 0o1777); err != nil {
		t.Fatal(err)
	}
	unixWorker(t, filepath.Join(dir, "web-1.sock"))
	foreign := filepath.Join(dir, "web-2.sock")
	unixWorker(t, foreign)
	if err := os.Lchown(foreign, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	var warn warnings
	b := openPool(t, "http+unix://"+dir+"?path=/_cache", "", &warn)
	ms, err := b.(*Pool).Members(context.Background())
	var names []string
	for _, m := range ms {
		names = append(names, m.Name)
	}
	if err != nil || !slices.Equal(names, []string{"web-1.sock"}) {
		t.Fatalf("members %q, %v", names, err)
	}
	if w := warn.all(); !strings.Contains(w, "skipped web-2.sock") || !strings.Contains(w, "owned by uid 65534") || !strings.Contains(w, "writable by every user") {
		t.Fatalf("warnings: %q", w)
	}
	// Given to another user after the listing: refused at the dial.
	own := filepath.Join(dir, "web-1.sock")
	if err := os.Lchown(own, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Get(context.Background(), "k"); err == nil || !strings.Contains(err.Error(), "owned by uid 65534") {
		t.Fatalf("a socket given away since the listing: %v", err)
	}
}
