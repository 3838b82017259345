package redis

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
		{fmt.Sprintf("rediss://%s/7?cert=%s&key=%s", addr, cert, key), "signed by an unknown authority (issued by CN=cachectl-test-ca); trust its CA with ?ca=FILE"},
		// The server name must match the certificate.
		{fmt.Sprintf("rediss://%s/7?ca=%s&cert=%s&key=%s&servername=evil.example", addr, ca, cert, key), "certificate is for localhost, 127.0.0.1, not evil.example"},
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

// TestTLSExpiredCertificateSaysSo: a server whose certificate has expired
// (a Go TLS listener: the handshake fails before any Redis is spoken).
func TestTLSExpiredCertificateSaysSo(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "expired"},
		NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}})
	if err != nil {
		t.Fatal(err)
	}
	serveEach(t, ln, func(c net.Conn) { _ = c.(*tls.Conn).Handshake() })
	b := open(t, fmt.Sprintf("rediss://%s/0?ca=%s", ln.Addr(), caFile), backends.Options{Timeout: 2 * time.Second})
	_, err = b.Get(context.Background(), "k")
	if err == nil || !strings.Contains(err.Error(), "the server's certificate expired on "+tmpl.NotAfter.UTC().Format(time.RFC3339)) {
		t.Fatalf("expired certificate: %v", err)
	}
}
