package redis

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/testenv"
)

func TestTLS(t *testing.T) {
	addr, dir := testenv.RedisTLS(t)
	ca, cert, key := dir+"/ca.pem", dir+"/client.pem", dir+"/client.key"
	ctx := context.Background()
	ok := []string{
		fmt.Sprintf("rediss://%s/7?ca=%s&cert=%s&key=%s", addr, ca, cert, key),
		fmt.Sprintf("rediss://%s/7?insecure=true&cert=%s&key=%s", addr, cert, key),
		fmt.Sprintf("rediss://%s/7?ca=%s&cert=%s&key=%s&servername=localhost", addr, ca, cert, key),
	}
	for _, u := range ok {
		b := open(t, u, backends.Options{})
		if err := b.Set(ctx, "tls-k", []byte("v"), 0); err != nil {
			t.Fatalf("%s: %v", u, err)
		}
		e, err := b.Get(ctx, "tls-k")
		if err != nil || string(e.Value) != "v" {
			t.Fatalf("%s: %v %+v", u, err, e)
		}
	}
	fails := []struct{ url, want string }{
		// Verification is on by default: the test CA is not in the system pool.
		{fmt.Sprintf("rediss://%s/7?cert=%s&key=%s", addr, cert, key), "certificate signed by unknown authority"},
		// The server name must match the certificate.
		{fmt.Sprintf("rediss://%s/7?ca=%s&cert=%s&key=%s&servername=evil.example", addr, ca, cert, key), "certificate"},
		// The server requires a client certificate.
		{fmt.Sprintf("rediss://%s/7?ca=%s", addr, ca), "cannot reach"},
		// Plain text against a TLS port.
		{fmt.Sprintf("redis://%s/7", addr), "cannot reach"},
	}
	for _, f := range fails {
		b := open(t, f.url, backends.Options{Timeout: 2e9})
		_, err := b.Get(ctx, "tls-k")
		var ce *backends.ConnError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), f.want) {
			t.Errorf("%s: want ConnError containing %q, got %T %v", f.url, f.want, err, err)
		}
	}
}

func TestDeleteFallsBackToDELWithoutUNLINK(t *testing.T) {
	base := testenv.RedisNoUnlinkURL(t)
	u, cleanup, err := testenv.NewRedisDB(base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cleanup)
	b := open(t, u, backends.Options{})
	ctx := context.Background()
	for i := range 3 {
		if err := b.Set(ctx, fmt.Sprintf("k%d", i), []byte("v"), 0); err != nil {
			t.Fatal(err)
		}
	}
	n, err := b.Delete(ctx, "k0", "k1", "k2", "missing")
	if err != nil || n != 3 {
		t.Fatalf("delete on a server without UNLINK: n=%d err=%v", n, err)
	}
	if !b.useDel {
		t.Fatal("backend should remember that UNLINK is unavailable")
	}
	if _, err := b.Get(ctx, "k0"); !errors.Is(err, backends.ErrNotFound) {
		t.Fatalf("k0 still there: %v", err)
	}
}
