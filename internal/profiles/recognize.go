package profiles

import (
	"regexp"
	"strings"
)

// Tag says what a stored key is in its framework's terms.
type Tag struct {
	Framework string `json:"framework"`
	What      string `json:"what"`           // "cached result", "lock", "response", "page", ...
	Name      string `json:"name,omitempty"` // the function, route or method it belongs to
}

// String is the one-line form listings show: "aiocache cached result app.servicesget_user".
func (t Tag) String() string {
	s := t.Framework + " " + t.What
	if t.Name != "" {
		s += " " + t.Name
	}
	return s
}

var (
	// aiocache @cached: module+name, repr(args tuple), repr(sorted kwargs list).
	aiocacheCached = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_.]*?)(\(.*\))(\[.*\])$`)
	uuid4          = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	httpMethod     = regexp.MustCompile(`^(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS)(/.*)$`)
	djangoPrefix   = regexp.MustCompile(`^[^:]*:[0-9]+:`)
	hex64          = regexp.MustCompile(`^[0-9a-f]{64}$`)
	md5Hex         = regexp.MustCompile(`^[0-9a-f]{32}$`)
)

// Recognize tags a stored key, looking at the first bytes of its value when
// given (nil when unknown). A named profile only recognises its own
// framework; auto tries each. ok is false for a key no rule explains.
func (p *Profile) Recognize(key string, value []byte) (Tag, bool) {
	switch p.name {
	case "none":
		return Tag{}, false
	case "auto":
		for _, f := range []func(string, []byte) (Tag, bool){recognizeDjango, recognizeASGICaches, recognizeLitestar, recognizeLitestarResponse, recognizeAiocache, recognizeStarlite} {
			if t, ok := f(key, value); ok {
				return t, true
			}
		}
		return recognizeRateLimit(key)
	}
	user, inNS := p.UserKey(key)
	if !inNS {
		return Tag{}, false
	}
	var t Tag
	var ok bool
	switch p.name {
	case "aiocache":
		t, ok = recognizeAiocacheUser(user, value)
	case "litestar":
		if p.prefix == "" {
			t, ok = recognizeLitestarBare(key, value, false)
		} else {
			t, ok = recognizeLitestar(key, value)
		}
	case "starlite":
		t, ok = recognizeStarlite(key, value)
	case "django":
		t, ok = recognizeDjangoKey(user) // KEY_PREFIX may itself hold colons
	case "asgi-caches":
		t, ok = recognizeASGICaches(key, value)
	}
	if !ok {
		if t, ok = recognizeRateLimit(key); ok {
			t.Framework = p.name
		}
	}
	return t, ok
}

func recognizeAiocache(key string, value []byte) (Tag, bool) {
	// Without the namespace known, strip a leading "ns:" before looking.
	if t, ok := recognizeAiocacheUser(key, value); ok {
		return t, ok
	}
	if _, rest, ok := strings.Cut(key, ":"); ok {
		return recognizeAiocacheUser(rest, value)
	}
	return Tag{}, false
}

func recognizeAiocacheUser(user string, value []byte) (Tag, bool) {
	if m := aiocacheCached.FindStringSubmatch(user); m != nil {
		return Tag{Framework: "aiocache", What: "cached result", Name: m[1]}, true
	}
	if strings.HasSuffix(user, "-lock") && (value == nil || uuid4.Match(value)) {
		return Tag{Framework: "aiocache", What: "lock", Name: strings.TrimSuffix(user, "-lock")}, true
	}
	return Tag{}, false
}

func recognizeLitestar(key string, value []byte) (Tag, bool) {
	if !strings.HasPrefix(key, "LITESTAR") {
		return Tag{}, false
	}
	ns, rest, ok := strings.Cut(key, ":")
	if !ok {
		return Tag{}, false
	}
	switch {
	case httpMethod.MatchString(rest):
		m := httpMethod.FindStringSubmatch(rest)
		return Tag{Framework: "litestar", What: "response", Name: m[1] + " " + m[2]}, true
	case strings.HasPrefix(rest, "RateLimitMiddleware::"):
		return Tag{Framework: "litestar", What: "rate limit", Name: strings.TrimPrefix(rest, "RateLimitMiddleware::")}, true
	case hex64.MatchString(rest) && strings.HasSuffix(ns, "sessions"):
		return Tag{Framework: "litestar", What: "session"}, true
	case strings.HasPrefix(rest, "/") && isPickle(value):
		return Tag{Framework: "litestar", What: "response", Name: "(2.0) " + rest}, true
	}
	return Tag{}, false
}

// recognizeLitestarBare tags the keys of a Litestar store without a
// namespace (MemoryStore, FileStore: what an app's in-process cache holds).
// Under --profile litestar the key's shape says enough; guessing (auto) also
// needs the value to be Litestar's msgpack list of ASGI messages.
func recognizeLitestarBare(key string, value []byte, guessing bool) (Tag, bool) {
	if m := httpMethod.FindStringSubmatch(key); m != nil && (!guessing || isLitestarMessages(value)) {
		return Tag{Framework: "litestar", What: "response", Name: m[1] + " " + m[2]}, true
	}
	if guessing {
		return Tag{}, false
	}
	switch {
	case strings.HasPrefix(key, "RateLimitMiddleware::"):
		return Tag{Framework: "litestar", What: "rate limit", Name: strings.TrimPrefix(key, "RateLimitMiddleware::")}, true
	case hex64.MatchString(key):
		return Tag{Framework: "litestar", What: "session"}, true
	}
	return Tag{}, false
}

func recognizeLitestarResponse(key string, value []byte) (Tag, bool) {
	return recognizeLitestarBare(key, value, true)
}

// isLitestarMessages: a msgpack array whose first element is a map starting
// with the key "type" (the http.response.start message), as Litestar >= 2.2
// stores a cached response.
func isLitestarMessages(v []byte) bool {
	if len(v) < 7 {
		return false
	}
	i := 1
	switch {
	case v[0] >= 0x91 && v[0] <= 0x9f:
	case v[0] == 0xdc: // array 16
		i = 3
	default:
		return false
	}
	if len(v) < i+6 || v[i] < 0x81 || v[i] > 0x8f {
		return false
	}
	return string(v[i+1:i+6]) == "\xa4type"
}

// Starlite 1.x keys are the bare path and query; the value a pickled
// response (pickled twice on Memcached).
func recognizeStarlite(key string, value []byte) (Tag, bool) {
	if strings.HasPrefix(key, "/") && (value == nil || isPickle(value)) {
		return Tag{Framework: "starlite", What: "response", Name: key}, true
	}
	return Tag{}, false
}

func recognizeDjango(key string, value []byte) (Tag, bool) {
	loc := djangoPrefix.FindStringIndex(key)
	if loc == nil {
		return Tag{}, false
	}
	return recognizeDjangoKey(key[loc[1]:])
}

// recognizeDjangoKey classifies a Django key without its KEY_PREFIX:VERSION:.
func recognizeDjangoKey(rest string) (Tag, bool) {
	switch {
	case strings.HasPrefix(rest, "views.decorators.cache.cache_page."):
		f := strings.Split(strings.TrimPrefix(rest, "views.decorators.cache.cache_page."), ".")
		name := ""
		if len(f) > 1 {
			name = f[1]
		}
		return Tag{Framework: "django", What: "page", Name: name}, true
	case strings.HasPrefix(rest, "views.decorators.cache.cache_header."):
		return Tag{Framework: "django", What: "page headers"}, true
	case strings.HasPrefix(rest, "django.contrib.sessions.cache"):
		return Tag{Framework: "django", What: "session"}, true
	}
	if t, ok := recognizeRateLimit(rest); ok {
		t.Framework = "django"
		return t, true
	}
	return Tag{Framework: "django", What: "entry"}, true
}

func recognizeASGICaches(key string, value []byte) (Tag, bool) {
	for _, what := range []struct{ marker, tag string }{{"cache_page.", "page"}, {"varying_headers.", "varying headers"}} {
		i := strings.Index(key, what.marker)
		if i < 0 {
			continue
		}
		// The layout prefix appears twice: "P:V:P:V:".
		pre := key[:i]
		if len(pre)%2 != 0 || pre[:len(pre)/2] != pre[len(pre)/2:] || strings.Count(pre, ":") != 4 {
			continue
		}
		f := strings.Split(key[i+len(what.marker):], ".")
		if what.tag == "page" && len(f) == 3 && md5Hex.MatchString(f[1]) {
			return Tag{Framework: "asgi-caches", What: "page", Name: f[0]}, true
		}
		if what.tag == "varying headers" && len(f) == 1 && md5Hex.MatchString(f[0]) {
			return Tag{Framework: "asgi-caches", What: "varying headers"}, true
		}
	}
	return Tag{}, false
}

func recognizeRateLimit(key string) (Tag, bool) {
	l := strings.ToLower(key)
	if strings.Contains(l, "ratelimit") || strings.Contains(l, "rate_limit") || strings.Contains(l, "rate-limit") {
		return Tag{Framework: "", What: "rate limit"}, true
	}
	return Tag{}, false
}

func isPickle(b []byte) bool { return len(b) >= 2 && b[0] == 0x80 && b[1] >= 2 && b[1] <= 5 }
