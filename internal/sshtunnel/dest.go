// Package sshtunnel opens one SSH connection (through any ProxyJump hosts)
// and dials through it: every connection a backend makes, to each cluster
// node, sentinel, pool member or HTTP worker, is a channel of that one
// client. Settings resolve as OpenSSH resolves them (explicit settings, then
// ~/.ssh/config, then defaults); host keys are verified against known_hosts.
//
// The package reads the environment only through the Getenv it is given.
package sshtunnel

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"unicode"
)

// Dest is one SSH destination as a user writes it: [user@]host[:port].
type Dest struct {
	User string // "" = not given
	Host string // a host name, an alias of ~/.ssh/config or an IP address (no brackets)
	Port int    // 0 = not given
}

// String is user@host:port with the parts that were given; IPv6 hosts are bracketed.
func (d Dest) String() string {
	h := d.Host
	if strings.Contains(h, ":") {
		h = "[" + h + "]"
	}
	if d.Port != 0 {
		h += ":" + strconv.Itoa(d.Port)
	}
	if d.User != "" {
		h = d.User + "@" + h
	}
	return h
}

// ParseDest parses [user@]host[:port], as ssh and its ProxyJump take it
// (IPv6 addresses in brackets, an optional ssh:// prefix). Its errors quote
// nothing but what the user wrote, escaped.
func ParseDest(s string) (Dest, error) {
	orig := s
	bad := func(reason string) (Dest, error) {
		return Dest{}, fmt.Errorf("bad SSH destination %s: %s (want [user@]host[:port])", strconv.QuoteToASCII(orig), reason)
	}
	s = strings.TrimPrefix(s, "ssh://")
	if s == "" {
		return bad("empty")
	}
	var d Dest
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		d.User, s = s[:i], s[i+1:]
		if d.User == "" {
			return bad("empty user name before @")
		}
		if err := checkName(d.User); err != nil {
			return bad("user name " + err.Error())
		}
	}
	host, port := s, ""
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return bad("missing ] after an IPv6 address")
		}
		host, port = s[1:end], s[end+1:]
		if port != "" {
			if !strings.HasPrefix(port, ":") {
				return bad("text after ]")
			}
			port = port[1:]
			if port == "" {
				return bad("empty port")
			}
		}
		if net.ParseIP(host) == nil {
			return bad("not an IP address in brackets")
		}
	} else if i := strings.LastIndexByte(s, ':'); i >= 0 {
		if strings.Count(s, ":") > 1 {
			return bad("an IPv6 address needs brackets, e.g. [::1]:22")
		}
		host, port = s[:i], s[i+1:]
		if port == "" {
			return bad("empty port")
		}
	}
	if host == "" {
		return bad("empty host")
	}
	if !strings.Contains(host, ":") {
		if err := checkHost(host); err != nil {
			return bad("host " + err.Error())
		}
	}
	d.Host = host
	if port != "" {
		p, err := strconv.Atoi(port)
		if err != nil || p < 1 || p > 65535 {
			return bad("port must be a number from 1 to 65535")
		}
		d.Port = p
	}
	return d, nil
}

// checkName refuses what no user name holds and a terminal or an ssh
// command line would act on.
func checkName(s string) error {
	if strings.HasPrefix(s, "-") {
		return errors.New("starts with -")
	}
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) || r == unicode.ReplacementChar || unicode.Is(unicode.Cf, r) {
			return errors.New("holds a space or control character")
		}
	}
	return nil
}

func checkHost(s string) error {
	if err := checkName(s); err != nil {
		return err
	}
	if strings.ContainsAny(s, "/\\[]@,'\"`$;&|<>()*?!") {
		return errors.New("holds a character no host name has")
	}
	return nil
}
