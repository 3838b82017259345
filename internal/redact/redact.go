// Package redact masks credentials in cache URLs and finds them in other
// text. It is a leaf: backends, config and commands all use it, and none
// needs another of them for it.
package redact

import (
	"net/url"
	"strings"
)

// URL returns raw with any password replaced by "***":
// "redis://user:***@host:6379/0". It works on strings that do not parse as
// URLs too (a password holding '/', '#', '?' or '@'): everything from the
// first ':' after "scheme://" (or from the start, without a scheme) up to the
// last '@' of the string is masked. Over-masking a URL that has '@' in its
// path or query is accepted; leaking a password is not. A URL without a ':'
// before its last '@' keeps its user name where the scheme has user names
// (Redis ACLs); elsewhere a lone user part is a token or a misplaced
// password: "http://***@host", "memcached://***@host". Query parameters that carry secrets
// (?password=, ?token=, ...) are masked too.
func URL(raw string) string {
	start := 0
	scheme := ""
	if i := strings.Index(raw, "://"); i >= 0 && validScheme(raw[:i]) {
		start = i + len("://")
		scheme = strings.ToLower(raw[:i])
	}
	out := raw
	// An HTTP cache has no user names: its user part is a token or a
	// misplaced password, whole ("http://S3cret:x@h"). Redis (ACL users) and
	// memcached (SASL) keep the user name.
	userNames := scheme != "http" && scheme != "https" && scheme != "http+unix"
	if at := strings.LastIndex(raw, "@"); at >= start {
		if colon := strings.IndexByte(raw[start:at], ':'); colon >= 0 && userNames {
			out = raw[:start+colon] + ":***" + raw[at:]
		} else if colon >= 0 {
			out = raw[:start] + "***" + raw[at:]
		} else if scheme != "" && !strings.HasPrefix(scheme, "redis") && scheme != "unix" {
			// The user part before the query: an '@' in the query is a value.
			end := len(raw)
			if q := strings.IndexAny(raw[start:], "?#"); q >= 0 {
				end = start + q
			}
			if at := strings.LastIndex(raw[start:end], "@"); at > 0 {
				out = raw[:start] + "***" + raw[start+at:]
			}
		}
	}
	return redactQuery(out, start)
}

// secretParams are query parameters whose values are credentials, in the
// spellings URLs from other tools use (aiocache's ?password=, redis-py's).
var secretParams = []string{"password", "pass", "passwd", "pwd", "token", "secret", "auth", "access_token", "api_key", "apikey", "sentinel_password", "client_secret"}

// redactQuery masks the values of secret query parameters of raw, whose
// authority starts at start.
func redactQuery(raw string, start int) string {
	q := strings.IndexByte(raw[start:], '?')
	if q < 0 {
		return raw
	}
	q += start + 1
	end := len(raw)
	if h := strings.IndexByte(raw[q:], '#'); h >= 0 {
		end = q + h
	}
	params := strings.Split(raw[q:end], "&")
	changed := false
	for i, p := range params {
		name, value, ok := strings.Cut(p, "=")
		if !ok || value == "***" {
			continue
		}
		if n, err := url.QueryUnescape(name); err == nil {
			name = n
		}
		for _, s := range secretParams {
			if strings.EqualFold(name, s) {
				params[i] = p[:len(p)-len(value)] + "***"
				changed = true
				break
			}
		}
	}
	if !changed {
		return raw
	}
	return raw[:q] + strings.Join(params, "&") + raw[end:]
}

// validScheme reports whether s is an RFC 3986 scheme. Without this check a
// "://" inside the password of a scheme-less string would be taken for the
// end of a scheme, and the password before it would be left unmasked.
func validScheme(s string) bool {
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case i > 0 && (r >= '0' && r <= '9' || r == '+' || r == '-' || r == '.'):
		default:
			return false
		}
	}
	return s != ""
}

// ParsedURL is URL for a parsed URL.
func ParsedURL(u *url.URL) string { return URL(u.String()) }

// Secrets returns the parts of raw that URL masks (passwords, tokens in a
// user part, secret query values), raw and percent-decoded, so that text
// built from raw by other code (a library's error, a quoted path) can be
// scrubbed of them too.
func Secrets(raw string) []string {
	red := URL(raw)
	if red == raw {
		return nil
	}
	var out []string
	add := func(s string) {
		if s == "" || s == "***" {
			return
		}
		out = append(out, s)
		if d, err := url.PathUnescape(s); err == nil && d != s {
			out = append(out, d)
		}
		// net/url splits a password holding '/', '#' or '?' into host, path
		// and query, and a parser may quote one piece of it.
		if pieces := strings.FieldsFunc(s, func(r rune) bool { return strings.ContainsRune("/#?@", r) }); len(pieces) > 1 {
			for _, p := range pieces {
				if len(p) >= 4 {
					out = append(out, p)
				}
			}
		}
	}
	// Walk both strings: every "***" in red stands for one masked span of raw.
	i, j := 0, 0
	for i < len(red) && j < len(raw) {
		if strings.HasPrefix(red[i:], "***") && !strings.HasPrefix(raw[j:], "***") {
			rest := red[i+3:]
			// The span ends where raw continues as red does after the mask.
			end := len(raw)
			if rest != "" {
				next := rest
				if k := strings.IndexAny(rest, "&#@"); k >= 0 {
					next = rest[:k+1]
				}
				if k := strings.LastIndex(raw, next); k >= j && next[len(next)-1] == '@' {
					end = k
				} else if k := strings.Index(raw[j:], next); k >= 0 {
					end = j + k
				}
			}
			add(raw[j:end])
			i, j = i+3, end
			continue
		}
		i++
		j++
	}
	return out
}
