// Package profiles translates between what a Python web framework calls a
// cache key (a namespace and a key, a cached function, a route, a page URL)
// and the bytes it stores, exactly as each library does (README "Framework
// profiles"; checked against the real libraries by the Python tests). It also
// picks the serializer the app reads back and recognises what a stored key is.
package profiles

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/cachectl/cachectl/internal/glob"
)

// Names lists the profiles --profile accepts.
var Names = []string{"none", "auto", "aiocache", "litestar", "starlite", "django", "asgi-caches"}

// Options are a profile's settings, from flags or a context.
type Options struct {
	Namespace  string // aiocache namespace; Litestar store namespace or child (-n)
	KeyPrefix  string // Django KEY_PREFIX, async-caches key_prefix
	KeyVersion string // Django VERSION (default "1"), async-caches version (default "")
	// Backend is "redis", "memcached" or "http": aiocache lays keys out
	// differently on each.
	Backend string
	// BareStore: the Litestar store keeps keys as the app gives them
	// (MemoryStore, FileStore), with no namespace; only RedisStore and
	// ValkeyStore (and their with_namespace children) prefix NS:.
	BareStore bool
}

// Profile is one framework's key layout.
type Profile struct {
	name string
	opts Options
	// prefix every key of this profile and namespace starts with.
	prefix string
}

// Lookup returns the named profile ("" is none).
func Lookup(name string, o Options) (*Profile, error) {
	p := &Profile{name: name, opts: o}
	switch name {
	case "", "none":
		p.name = "none"
		if o.Namespace != "" || o.KeyPrefix != "" || o.KeyVersion != "" {
			return nil, fmt.Errorf("--namespace, --key-prefix and --key-version need a --profile (%s)", strings.Join(Names[2:], ", "))
		}
	case "auto":
		if o.Namespace != "" || o.KeyPrefix != "" || o.KeyVersion != "" {
			return nil, fmt.Errorf("--profile auto only recognises keys; name the framework to use --namespace, --key-prefix or --key-version")
		}
	case "aiocache":
		if o.KeyPrefix != "" || o.KeyVersion != "" {
			return nil, fmt.Errorf("aiocache has no key prefix or version; use --namespace")
		}
		if o.Namespace != "" {
			if o.Backend == "redis" {
				p.prefix = o.Namespace + ":"
			} else {
				p.prefix = p.aiocacheKey(o.Namespace)
			}
		}
	case "litestar":
		if o.KeyPrefix != "" || o.KeyVersion != "" {
			return nil, fmt.Errorf("litestar has no key prefix or version; use --namespace")
		}
		if o.BareStore {
			if o.Namespace != "" {
				return nil, fmt.Errorf("this Litestar store (MemoryStore or FileStore) has no namespace; --namespace applies to RedisStore and ValkeyStore")
			}
			break
		}
		p.prefix = LitestarNamespace(o.Namespace) + ":"
	case "starlite":
		if o.Namespace != "" || o.KeyPrefix != "" || o.KeyVersion != "" {
			return nil, fmt.Errorf("starlite stores bare keys: it has no namespace, prefix or version")
		}
	case "django":
		if o.Namespace != "" {
			return nil, fmt.Errorf("django uses --key-prefix and --key-version, not --namespace")
		}
		v := o.KeyVersion
		if v == "" {
			v = "1"
		}
		p.opts.KeyVersion = v
		p.prefix = o.KeyPrefix + ":" + v + ":"
	case "asgi-caches", "async-caches":
		p.name = "asgi-caches"
		if o.Namespace != "" {
			return nil, fmt.Errorf("asgi-caches uses --key-prefix and --key-version, not --namespace")
		}
		p.prefix = o.KeyPrefix + ":" + o.KeyVersion + ":"
	default:
		return nil, fmt.Errorf("unknown profile %q (want %s)", name, strings.Join(Names, ", "))
	}
	return p, nil
}

// LitestarNamespace is the store namespace -n names: "LITESTAR" by default,
// a child under it (-n sessions → LITESTAR_sessions, as with_namespace does),
// or, when it already starts with LITESTAR, exactly that.
func LitestarNamespace(n string) string {
	switch {
	case n == "":
		return "LITESTAR"
	case strings.HasPrefix(n, "LITESTAR"):
		return n
	}
	return "LITESTAR_" + n
}

// Name is the profile's name.
func (p *Profile) Name() string { return p.name }

// Maps reports whether the profile changes keys (none and auto do not).
func (p *Profile) Maps() bool { return p.name != "none" && p.name != "auto" }

// Prefix is what every stored key of this profile and namespace starts with.
func (p *Profile) Prefix() string { return p.prefix }

// aiocacheKey is aiocache's key on Memcached and in memory: namespace and
// key joined with no separator; Memcached also turns spaces into "_".
func (p *Profile) aiocacheKey(s string) string {
	if p.opts.Backend == "memcached" {
		return strings.ReplaceAll(s, " ", "_")
	}
	return s
}

// Key maps a user key to the stored key.
func (p *Profile) Key(user string) string {
	switch p.name {
	case "aiocache":
		if p.opts.Backend == "redis" {
			return p.prefix + user
		}
		return p.aiocacheKey(p.opts.Namespace + user)
	case "none", "auto", "starlite":
		return user
	}
	return p.prefix + user // "" for a bare Litestar store
}

// UserKey strips the layout off a stored key; ok is false for a key outside
// the profile's namespace (it is then shown as stored).
func (p *Profile) UserKey(stored string) (string, bool) {
	if !p.Maps() {
		return stored, true
	}
	if !strings.HasPrefix(stored, p.prefix) {
		return stored, false
	}
	return stored[len(p.prefix):], true
}

// Pattern maps a user glob to a stored-key glob: the layout's literal part
// escaped (aiocache and Litestar keys hold "[", "]" and "?"), the user's glob
// kept.
func (p *Profile) Pattern(userGlob string) string {
	if !p.Maps() {
		return userGlob
	}
	if p.name == "aiocache" && p.opts.Backend == "memcached" {
		userGlob = strings.ReplaceAll(userGlob, " ", "_")
	}
	return glob.Escape(p.prefix) + userGlob
}

// PrefixPattern is the glob of every stored key that starts with the user's
// literal prefix (no metacharacters in it are special).
func (p *Profile) PrefixPattern(userPrefix string) string {
	return glob.Escape(p.Key(userPrefix)) + "*"
}

// Target is a set of stored-key globs plus an exact check: what a framework
// level --function, --route or --page names. Every key a pattern lists must
// also pass Match before it is deleted.
type Target struct {
	Patterns []string
	Match    func(key string) bool
	What     string // for messages: "cached results of app.services.get_user"
}

// Function targets every cached result of an aiocache @cached function,
// given as module.function ("app.services.get_user"; "__main__.f" for a
// script). aiocache keys are module + __name__ with no separator, then the
// repr of the arguments: "app.servicesget_user(42,)[]".
func (p *Profile) Function(qualified string) (*Target, error) {
	if p.name != "aiocache" {
		return nil, fmt.Errorf("--function names an aiocache @cached function; use --profile aiocache")
	}
	i := strings.LastIndex(qualified, ".")
	if i <= 0 || i == len(qualified)-1 || strings.ContainsAny(qualified, "()[] ") {
		return nil, fmt.Errorf("--function wants module.function, e.g. app.services.get_user or __main__.f; got %q", qualified)
	}
	stem := qualified[:i] + qualified[i+1:] + "("
	stored := p.Key(stem)
	return &Target{
		Patterns: []string{glob.Escape(stored) + "*"},
		Match:    func(k string) bool { return strings.HasPrefix(k, stored) },
		What:     "cached results of " + qualified,
	}, nil
}

// Route targets every cached response of a route ("GET /items") whatever
// its query string. Litestar keys are METHOD + path + urlencoded query with
// no "?" between; Starlite's have no method. A longer path ("/items/5",
// "/items2") is not the route: what follows the path must be empty or a
// query (urlencode turns "/" into %2F and always writes "=").
func (p *Profile) Route(route string) (*Target, error) {
	method, path, ok := strings.Cut(strings.TrimSpace(route), " ")
	path = strings.TrimSpace(path)
	if !ok || method == "" || !strings.HasPrefix(path, "/") || strings.ContainsAny(path, "? ") {
		return nil, fmt.Errorf("--route wants METHOD /path, e.g. 'GET /items' (no query string); got %q", route)
	}
	method = strings.ToUpper(method)
	var stem string
	switch p.name {
	case "litestar":
		stem = p.prefix + method + path
	case "starlite":
		stem = path
	default:
		return nil, fmt.Errorf("--route names a Litestar or Starlite route; use --profile litestar or starlite")
	}
	return &Target{
		Patterns: []string{glob.Escape(stem) + "*"},
		Match: func(k string) bool {
			rest, ok := strings.CutPrefix(k, stem)
			return ok && (rest == "" || !strings.Contains(rest, "/") && strings.Contains(rest, "="))
		},
		What: "cached responses of " + method + " " + path,
	}, nil
}

// Page targets the cached page of an absolute URL and its header keys:
// Django's cache_page and cache_header keys (any middleware key prefix and
// method, any language and time zone suffix) or asgi-caches' cache_page and
// varying_headers keys, whose names hold md5 hashes of the URL and path.
func (p *Profile) Page(rawURL string) (*Target, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--page wants the absolute URL the app saw, e.g. http://example.com/items?page=2; got %q", rawURL)
	}
	sum := func(s string) string { h := md5.Sum([]byte(s)); return hex.EncodeToString(h[:]) }
	urlSum := sum(rawURL)
	var pats []string
	var match func(string) bool
	switch p.name {
	case "django":
		page := glob.Escape(p.prefix+"views.decorators.cache.cache_page.") + "*." + urlSum + ".*"
		hdr := glob.Escape(p.prefix+"views.decorators.cache.cache_header.") + "*" + urlSum + "*"
		pats = []string{page, hdr}
		pagePrefix, hdrPrefix := p.prefix+"views.decorators.cache.cache_page.", p.prefix+"views.decorators.cache.cache_header."
		match = func(k string) bool {
			if rest, ok := strings.CutPrefix(k, pagePrefix); ok {
				// KEY_PREFIX.METHOD.md5(url).md5(headers)[.lang][.tz]
				f := strings.Split(rest, ".")
				return slices.Index(f, urlSum) >= 2
			}
			if rest, ok := strings.CutPrefix(k, hdrPrefix); ok {
				f := strings.Split(rest, ".")
				return slices.Index(f, urlSum) >= 1
			}
			return false
		}
	case "asgi-caches":
		// asgi-caches builds keys with make_key and Cache.set applies it again.
		doubled := p.prefix + p.prefix
		page := doubled + "cache_page."
		path := u.Path
		if path == "" {
			path = "/"
		}
		vary := doubled + "varying_headers." + sum(path) // md5(request.url.path)
		pats = []string{glob.Escape(page) + "*." + urlSum + ".*", glob.Escape(vary)}
		match = func(k string) bool {
			if k == vary {
				return true
			}
			rest, ok := strings.CutPrefix(k, page)
			if !ok {
				return false
			}
			f := strings.Split(rest, ".") // METHOD.md5(url).md5(headers)
			return len(f) == 3 && f[1] == urlSum
		}
	default:
		return nil, fmt.Errorf("--page names a page cached by Django's cache_page or asgi-caches; use --profile django or asgi-caches")
	}
	return &Target{Patterns: pats, Match: match, What: "cached page " + rawURL}, nil
}
