package memcached

import (
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/mchash"
	"github.com/cachectl/cachectl/internal/redact"
)

// DefaultPort is memcached's port.
const DefaultPort = "11211"

// target is a parsed memcached:// URL.
type target struct {
	Addrs   []string // host:port, in URL order
	Hash    string   // the client library whose key distribution writes follow
	Display string
}

// parseURL reads memcached://host[:port][,host[:port]…][?hash=NAME].
func parseURL(u *url.URL) (*target, error) {
	bad := func(reason string) error {
		return &backends.URLError{URL: redact.ParsedURL(u), Reason: reason}
	}
	if u.User != nil {
		return nil, bad("memcached URLs take no user or password: memcached's text protocol has no authentication (SASL needs the binary protocol, which cachectl does not speak)")
	}
	if u.Path != "" && u.Path != "/" {
		return nil, bad("memcached URLs have no path or database (got " + strconv.Quote(u.Path) + ")")
	}
	if u.Host == "" {
		return nil, bad("no server, e.g. memcached://127.0.0.1:11211")
	}
	t := &target{Hash: mchash.Default}
	for _, h := range strings.Split(u.Host, ",") {
		addr, err := hostPort(h)
		if err != nil {
			return nil, bad(err.Error())
		}
		if slices.Contains(t.Addrs, addr) {
			return nil, bad("server " + addr + " is listed twice")
		}
		t.Addrs = append(t.Addrs, addr)
	}
	for name, vals := range u.Query() {
		switch name {
		case "hash":
			v := vals[len(vals)-1]
			if !slices.Contains(mchash.Schemes(), v) {
				return nil, bad("unknown hash " + strconv.Quote(v) + " (want " + strings.Join(mchash.Schemes(), ", ") + ")")
			}
			t.Hash = v
		default:
			return nil, bad("unknown parameter " + strconv.Quote(name) + " (memcached URLs take hash=" + strings.Join(mchash.Schemes(), "|") + ")")
		}
	}
	t.Display = "memcached://" + strings.Join(t.Addrs, ",")
	if t.Hash != mchash.Default {
		t.Display += "?hash=" + t.Hash
	}
	return t, nil
}

func hostPort(h string) (string, error) {
	if h == "" {
		return "", errString("empty server in the list")
	}
	host, port := h, DefaultPort
	if strings.HasPrefix(h, "[") || strings.Count(h, ":") == 1 {
		var err error
		if host, port, err = net.SplitHostPort(h); err != nil {
			if !strings.Contains(err.Error(), "missing port") {
				return "", errString("bad server " + strconv.Quote(h))
			}
			host, port = strings.Trim(h, "[]"), DefaultPort
		}
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return "", errString("bad port " + strconv.Quote(port) + " for " + host)
	}
	if host == "" {
		return "", errString("no host before :" + port)
	}
	return net.JoinHostPort(host, port), nil
}

type errString string

func (e errString) Error() string { return string(e) }
