package redis

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/redact"
)

// target is a parsed Redis URL: everything needed to dial, nothing dialled.
type target struct {
	Kind       string // "standalone", "sentinel", "cluster"
	Network    string // "tcp" or "unix"
	Addrs      []string
	MasterName string
	DB         int
	Username   string
	Password   string
	TLS        *tls.Config
	ClientName string
	Display    string // redacted URL for messages
}

// knownParams are the query parameters a Redis URL may carry; anything else is
// a typo the user should hear about rather than have silently ignored.
var knownParams = map[string]bool{
	"db": true, "ca": true, "cert": true, "key": true, "insecure": true,
	"servername": true, "client_name": true, "password": false,
	// Read by the caller, which puts the sentinels' password in Options.
	"sentinel_password_env": true,
}

// parseURL turns redis://, rediss://, unix://, redis+sentinel:// and
// redis+cluster:// URLs into a target.
func parseURL(u *url.URL, password string) (*target, error) {
	t := &target{Network: "tcp", Kind: "standalone", Display: redact.ParsedURL(u)}
	bad := func(format string, args ...any) error {
		return &backends.URLError{URL: t.Display, Reason: fmt.Sprintf(format, args...)}
	}
	q := u.Query()
	for name := range q {
		if !knownParams[name] {
			if name == "password" {
				return nil, bad("put the password in the URL's user part or in CACHECTL_PASSWORD, not in ?password=")
			}
			return nil, bad("unknown parameter %q (known: db, ca, cert, key, insecure, servername, client_name, sentinel_password_env)", name)
		}
	}
	if u.User != nil {
		t.Username = u.User.Username()
		if p, ok := u.User.Password(); ok {
			t.Password = p
		}
	}
	if t.Password == "" {
		t.Password = password
	}
	t.ClientName = q.Get("client_name")

	secure := false
	switch u.Scheme {
	case "redis":
	case "rediss":
		secure = true
	case "unix", "redis+unix":
		t.Network = "unix"
	case "redis+sentinel", "rediss+sentinel":
		t.Kind = "sentinel"
		secure = u.Scheme == "rediss+sentinel"
	case "redis+cluster", "rediss+cluster":
		t.Kind = "cluster"
		secure = u.Scheme == "rediss+cluster"
	default:
		return nil, bad("not a Redis scheme %q", u.Scheme)
	}

	path := strings.Trim(u.Path, "/")
	if strings.Contains(path, "@") && t.Network != "unix" {
		// "redis://u:12/pw@h" parses as host "u", port 12, path "/pw@h": the
		// path is the tail of a password, so it is not quoted.
		return nil, bad("malformed URL; characters such as @ : / # ? %% in a user name or password must be percent-encoded")
	}
	if t.Network == "unix" {
		if u.Path == "" {
			return nil, bad("a unix URL needs a socket path, e.g. unix:///run/redis/redis.sock?db=0")
		}
		t.Addrs = []string{u.Path}
		path = ""
	} else {
		hosts := strings.Split(u.Host, ",")
		if u.Host == "" {
			hosts = []string{""}
		}
		defPort := "6379"
		if t.Kind == "sentinel" {
			defPort = "26379"
		}
		for _, h := range hosts {
			addr, err := hostPort(h, defPort)
			if err != nil {
				return nil, bad("%v", err)
			}
			t.Addrs = append(t.Addrs, addr)
		}
		if len(t.Addrs) > 1 && t.Kind == "standalone" {
			return nil, bad("several hosts need redis+cluster:// or redis+sentinel://")
		}
	}

	if t.Kind == "sentinel" {
		// redis+sentinel://host:port[,host:port]/master-name[/db]
		parts := strings.Split(path, "/")
		if path == "" || parts[0] == "" {
			return nil, bad("a sentinel URL needs the master name: redis+sentinel://host:26379/mymaster[/db]")
		}
		t.MasterName = parts[0]
		parts = parts[1:]
		path = strings.Join(parts, "/")
	}
	if path != "" {
		if t.Kind == "cluster" {
			return nil, bad("Redis Cluster has only database 0; drop the path %q", "/"+path)
		}
		db, err := parseDB(path)
		if err != nil {
			return nil, bad("%v", err)
		}
		t.DB = db
	}
	if v := q.Get("db"); v != "" {
		if path != "" {
			return nil, bad("database given twice (path and ?db=)")
		}
		db, err := parseDB(v)
		if err != nil {
			return nil, bad("%v", err)
		}
		t.DB = db
	}

	tlsParams := q.Has("ca") || q.Has("cert") || q.Has("key") || q.Has("insecure") || q.Has("servername")
	if tlsParams && !secure {
		return nil, bad("TLS parameters need a rediss:// URL")
	}
	if q.Has("sentinel_password_env") && t.Kind != "sentinel" {
		return nil, bad("sentinel_password_env is for redis+sentinel:// URLs")
	}
	if secure {
		// Each node of a cluster or Sentinel setup is checked against its
		// own host name unless servername= names one for all.
		host := t.Addrs[0]
		if t.Kind != "standalone" {
			host = ""
		}
		cfg, err := tlsConfig(q, host)
		if err != nil {
			return nil, bad("%v", err)
		}
		t.TLS = cfg
	}
	return t, nil
}

func hostPort(h, defPort string) (string, error) {
	if h == "" {
		return "127.0.0.1:" + defPort, nil
	}
	host, port, err := net.SplitHostPort(h)
	if err != nil {
		// No port: the whole thing is the host (IPv6 literals come bracketed).
		if strings.Count(h, ":") > 1 && !strings.HasPrefix(h, "[") {
			return "", fmt.Errorf("IPv6 address %q needs brackets, e.g. [::1]:6379", h)
		}
		host, port = strings.Trim(h, "[]"), defPort
	}
	if host == "" {
		host = "127.0.0.1"
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 1 || p > 65535 {
		return "", fmt.Errorf("bad port %q", port)
	}
	return net.JoinHostPort(host, port), nil
}

func parseDB(s string) (int, error) {
	db, err := strconv.Atoi(s)
	if err != nil || db < 0 {
		return 0, fmt.Errorf("bad database number %q (want /0, /1, ...)", s)
	}
	return db, nil
}

func tlsConfig(q url.Values, addr string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if host, _, err := net.SplitHostPort(addr); err == nil {
		cfg.ServerName = host
	}
	if v := q.Get("servername"); v != "" {
		cfg.ServerName = v
	}
	if v := q.Get("insecure"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, fmt.Errorf("bad insecure=%q (want true or false)", v)
		}
		cfg.InsecureSkipVerify = b
	}
	if v := q.Get("ca"); v != "" {
		pem, err := os.ReadFile(v)
		if err != nil {
			return nil, fmt.Errorf("read CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA file %s holds no PEM certificate", v)
		}
		cfg.RootCAs = pool
	}
	cert, key := q.Get("cert"), q.Get("key")
	if (cert == "") != (key == "") {
		return nil, fmt.Errorf("client certificate needs both cert= and key=")
	}
	if cert != "" {
		pair, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			return nil, fmt.Errorf("load client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}
