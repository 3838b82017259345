package profiles

import (
	"bytes"
	"strings"
	"testing"

	"github.com/cachectl/cachectl/internal/glob"
)

func must(t *testing.T, name string, o Options) *Profile {
	t.Helper()
	p, err := Lookup(name, o)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Stored keys as each library writes them (reference §1.2, §2.1, §3.1, §4.1).
func TestKeyLayouts(t *testing.T) {
	tests := []struct {
		name, profile string
		o             Options
		user, stored  string
	}{
		{"aiocache redis no namespace", "aiocache", Options{Backend: "redis"}, "plain", "plain"},
		{"aiocache redis namespace", "aiocache", Options{Backend: "redis", Namespace: "main"}, "user:1", "main:user:1"},
		{"aiocache memcached namespace has no separator", "aiocache", Options{Backend: "memcached", Namespace: "main"}, "user:1", "mainuser:1"},
		{"aiocache memcached spaces become _", "aiocache", Options{Backend: "memcached"}, "plain key", "plain_key"},
		{"aiocache memcached spaces in namespace too", "aiocache", Options{Backend: "memcached", Namespace: "my ns"}, "a b", "my_nsa_b"},
		{"aiocache memory keeps spaces", "aiocache", Options{Backend: "http", Namespace: "ns"}, "a b", "nsa b"},
		{"litestar default namespace", "litestar", Options{Backend: "redis"}, "GET/itemspage=2", "LITESTAR:GET/itemspage=2"},
		{"litestar child namespace", "litestar", Options{Backend: "redis", Namespace: "sessions"}, "abc", "LITESTAR_sessions:abc"},
		{"litestar explicit namespace", "litestar", Options{Backend: "redis", Namespace: "LITESTAR_response_cache"}, "k", "LITESTAR_response_cache:k"},
		{"litestar MemoryStore keys are bare", "litestar", Options{Backend: "http", BareStore: true}, "GET/itemspage=2", "GET/itemspage=2"},
		{"starlite bare keys", "starlite", Options{Backend: "redis"}, "/itemspage=2", "/itemspage=2"},
		{"django default", "django", Options{Backend: "redis"}, "greeting", ":1:greeting"},
		{"django prefix and version", "django", Options{Backend: "redis", KeyPrefix: "myapp", KeyVersion: "3"}, "greeting", "myapp:3:greeting"},
		{"asgi-caches default", "asgi-caches", Options{Backend: "redis"}, "key", "::key"},
		{"async-caches alias", "async-caches", Options{Backend: "redis", KeyPrefix: "myapp", KeyVersion: "2"}, "key", "myapp:2:key"},
		{"none", "none", Options{}, "a:b", "a:b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := must(t, tt.profile, tt.o)
			if got := p.Key(tt.user); got != tt.stored {
				t.Fatalf("Key(%q) = %q, want %q", tt.user, got, tt.stored)
			}
			if !glob.Match(p.Pattern("*"), tt.stored) {
				t.Fatalf("Pattern(*) = %q does not match %q", p.Pattern("*"), tt.stored)
			}
			if tt.profile == "aiocache" && tt.o.Backend == "memcached" || tt.profile == "starlite" || tt.profile == "none" {
				return // not reversible by prefix (spaces) or no prefix
			}
			if u, ok := p.UserKey(tt.stored); !ok || u != tt.user {
				t.Fatalf("UserKey(%q) = %q, %v", tt.stored, u, ok)
			}
		})
	}
}

func TestLookupRefusesMeaninglessOptions(t *testing.T) {
	for _, c := range []struct {
		name string
		o    Options
	}{
		{"none", Options{Namespace: "x"}}, {"django", Options{Namespace: "x"}}, {"aiocache", Options{KeyPrefix: "x"}},
		{"starlite", Options{Namespace: "x"}}, {"auto", Options{Namespace: "x"}}, {"flask", Options{}},
		{"litestar", Options{Backend: "http", BareStore: true, Namespace: "sessions"}},
	} {
		if _, err := Lookup(c.name, c.o); err == nil {
			t.Errorf("Lookup(%q, %+v) accepted", c.name, c.o)
		}
	}
}

// The literal part of a pattern is escaped: aiocache and Litestar keys hold
// glob metacharacters.
func TestPatternsEscapeTheLayout(t *testing.T) {
	p := must(t, "aiocache", Options{Backend: "redis", Namespace: "n[1]"})
	pat := p.Pattern("*")
	if !glob.Match(pat, "n[1]:x") || glob.Match(pat, "n1:x") {
		t.Fatalf("pattern %q", pat)
	}
	if got := p.PrefixPattern("app?["); !glob.Match(got, "n[1]:app?[x") || glob.Match(got, "n[1]:appX[x") {
		t.Fatalf("prefix pattern %q", got)
	}
}

// --function: every result of that function and nothing else (reference §1.3).
func TestFunctionTarget(t *testing.T) {
	p := must(t, "aiocache", Options{Backend: "redis", Namespace: "deco"})
	tg, err := p.Function("__main__.get_user")
	if err != nil {
		t.Fatal(err)
	}
	hit := []string{"deco:__main__get_user(42,)[('role', 'admin')]", "deco:__main__get_user()[]"}
	miss := []string{"deco:__main__get_user_v2(42,)[]", "deco:__main__get_users(1,)[]", "__main__get_user(42,)[]", "other:__main__get_user(1,)[]"}
	for _, k := range hit {
		if !glob.Match(tg.Patterns[0], k) || !tg.Match(k) {
			t.Errorf("%q not targeted by %q", k, tg.Patterns[0])
		}
	}
	for _, k := range miss {
		if glob.Match(tg.Patterns[0], k) && tg.Match(k) {
			t.Errorf("%q targeted", k)
		}
	}
	mc := must(t, "aiocache", Options{Backend: "memcached", Namespace: "deco"})
	tg, _ = mc.Function("__main__.f")
	if k := "deco__main__f('hi_there',)[('b',_'q')]"; !glob.Match(tg.Patterns[0], k) || !tg.Match(k) {
		t.Errorf("memcached key %q not targeted by %q", k, tg.Patterns[0])
	}
	for _, bad := range []string{"get_user", ".f", "m.", "m.f(1)"} {
		if _, err := p.Function(bad); err == nil {
			t.Errorf("Function(%q) accepted", bad)
		}
	}
	if _, err := must(t, "django", Options{}).Function("a.b"); err == nil {
		t.Error("--function accepted for django")
	}
}

// --route: all query strings of the route, not longer paths (reference §2.2).
func TestRouteTarget(t *testing.T) {
	p := must(t, "litestar", Options{Backend: "redis"})
	tg, err := p.Route("get /items")
	if err != nil {
		t.Fatal(err)
	}
	hit := []string{"LITESTAR:GET/items", "LITESTAR:GET/itemspage=2", "LITESTAR:GET/itemsa=x+y&a=z&b=2&c=&d=%2Fslash"}
	miss := []string{"LITESTAR:GET/items/5", "LITESTAR:GET/items2", "LITESTAR:POST/items", "LITESTAR:GET/itemsx/y=1", "LITESTAR_x:GET/items"}
	for _, k := range hit {
		if !glob.Match(tg.Patterns[0], k) || !tg.Match(k) {
			t.Errorf("%q not targeted", k)
		}
	}
	for _, k := range miss {
		if glob.Match(tg.Patterns[0], k) && tg.Match(k) {
			t.Errorf("%q targeted", k)
		}
	}
	// A MemoryStore (what the HTTP adapter serves) keeps the same keys bare.
	bare := must(t, "litestar", Options{Backend: "http", BareStore: true})
	tg, _ = bare.Route("GET /items")
	for _, k := range hit {
		k = strings.TrimPrefix(k, "LITESTAR:")
		if !glob.Match(tg.Patterns[0], k) || !tg.Match(k) {
			t.Errorf("bare %q not targeted", k)
		}
	}
	// Misses stay misses without the namespace, and namespaced keys are not
	// this store's.
	bareMiss := append([]string{}, hit...)
	for _, k := range miss {
		bareMiss = append(bareMiss, strings.TrimPrefix(k, "LITESTAR:"))
	}
	for _, k := range bareMiss {
		if glob.Match(tg.Patterns[0], k) && tg.Match(k) {
			t.Errorf("bare store: %q targeted", k)
		}
	}
	s := must(t, "starlite", Options{Backend: "redis"})
	tg, _ = s.Route("GET /items")
	if !tg.Match("/itemspage=2") || tg.Match("/items/5") {
		t.Error("starlite route")
	}
	for _, bad := range []string{"/items", "GET items", "GET /items?page=1", ""} {
		if _, err := p.Route(bad); err == nil {
			t.Errorf("Route(%q) accepted", bad)
		}
	}
}

// --page: the md5 names Django and asgi-caches compute (captured keys in
// reference §3.2 and §4.4).
func TestPageTarget(t *testing.T) {
	d := must(t, "django", Options{Backend: "memcached"})
	tg, err := d.Page("http://testserver/api/items?page=2")
	if err != nil {
		t.Fatal(err)
	}
	hit := []string{
		":1:views.decorators.cache.cache_page..GET.fb81d1588724ec47394f8c4b789262a8.749cadba7b2ed8d4a2aaa91a9cb1896c.en-us.UTC",
		":1:views.decorators.cache.cache_header..fb81d1588724ec47394f8c4b789262a8.en-us.UTC",
		":1:views.decorators.cache.cache_page.site.HEAD.fb81d1588724ec47394f8c4b789262a8.d41d8cd98f00b204e9800998ecf8427e",
	}
	miss := []string{
		":1:views.decorators.cache.cache_page..GET.00000000000000000000000000000000.749cadba7b2ed8d4a2aaa91a9cb1896c.en-us.UTC",
		":2:views.decorators.cache.cache_page..GET.fb81d1588724ec47394f8c4b789262a8.749cadba7b2ed8d4a2aaa91a9cb1896c",
		":1:other.fb81d1588724ec47394f8c4b789262a8",
	}
	check := func(tg *Target, hit, miss []string) {
		t.Helper()
		for _, k := range hit {
			if !matchAny(tg.Patterns, k) || !tg.Match(k) {
				t.Errorf("%q not targeted by %q", k, tg.Patterns)
			}
		}
		for _, k := range miss {
			if matchAny(tg.Patterns, k) && tg.Match(k) {
				t.Errorf("%q targeted", k)
			}
		}
	}
	check(tg, hit, miss)

	a := must(t, "asgi-caches", Options{Backend: "redis"})
	tg, err = a.Page("http://testserver/items?page=2")
	if err != nil {
		t.Fatal(err)
	}
	check(tg, []string{
		"::::cache_page.GET.e4978db34647532a101916e7735e3dd2.749cadba7b2ed8d4a2aaa91a9cb1896c",
		"::::cache_page.HEAD.e4978db34647532a101916e7735e3dd2.d41d8cd98f00b204e9800998ecf8427e",
		"::::varying_headers.d4746b51ba0d58e31d34ba3e3d0736a9",
	}, []string{
		"::cache_page.GET.e4978db34647532a101916e7735e3dd2.749cadba7b2ed8d4a2aaa91a9cb1896c",
		"::::cache_page.GET.e4978db34647532a101916e7735e3dd3.749cadba7b2ed8d4a2aaa91a9cb1896c",
		"::::varying_headers.d4746b51ba0d58e31d34ba3e3d0736aa",
	})
	pv := must(t, "asgi-caches", Options{Backend: "redis", KeyPrefix: "myapp", KeyVersion: "2"})
	tg, _ = pv.Page("http://testserver/items?page=2")
	if !tg.Match("myapp:2:myapp:2:varying_headers.d4746b51ba0d58e31d34ba3e3d0736a9") {
		t.Error("prefixed asgi-caches varying headers key")
	}
	for _, bad := range []string{"/items", "testserver/items", "ftp://x/y"} {
		if _, err := d.Page(bad); err == nil {
			t.Errorf("Page(%q) accepted", bad)
		}
	}
}

func matchAny(pats []string, k string) bool {
	for _, p := range pats {
		if glob.Match(p, k) {
			return true
		}
	}
	return false
}

// Writes the app reads back (reference §4.2, §4.3; §1.4).
func TestEncode(t *testing.T) {
	redis := must(t, "django", Options{Backend: "redis"})
	mc := must(t, "django", Options{Backend: "memcached"})
	tests := []struct {
		name       string
		p          *Profile
		in, ser    string
		want       []byte
		flags      uint32
		hasFlags   bool
		serializer string
	}{
		{"django redis int", redis, "42", "", []byte("42"), 0, false, "int"},
		{"django redis text is pickled (protocol 5)", redis, "héllo", "", []byte("\x80\x05\x95\n\x00\x00\x00\x00\x00\x00\x00\x8c\x06h\xc3\xa9llo\x94."), 0, false, "pickle"},
		{"django redis leading zero is text", redis, "007", "", nil, 0, false, "pickle"},
		{"django memcached text flag 16", mc, "héllo", "", []byte("héllo"), 16, true, "string"},
		{"django memcached int flag 2", mc, "42", "", []byte("42"), 2, true, "int"},
		{"django memcached bytes flag 0", mc, "\x00raw\xff", "", []byte("\x00raw\xff"), 0, true, "raw"},
		{"django memcached json object flag 1", mc, `{"a": [1, 2]}`, "json", []byte("\x80\x05\x95\x10\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x01a\x94]\x94(K\x01K\x02es."), 1, true, "pickle"},
		{"django redis json true is pickled", redis, `true`, "json", []byte("\x80\x05\x88."), 0, false, "pickle"},
		{"aiocache json default", must(t, "aiocache", Options{Backend: "redis"}), `{"a": 1}`, "", []byte(`{"a": 1}`), 0, false, "json"},
		{"litestar raw default", must(t, "litestar", Options{Backend: "redis"}), "\x00bin", "", []byte("\x00bin"), 0, false, "raw"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := tt.p.Encode([]byte(tt.in), tt.ser, 4)
			if err != nil {
				t.Fatal(err)
			}
			if tt.want != nil && !bytes.Equal(w.Value, tt.want) {
				t.Errorf("value %q, want %q", w.Value, tt.want)
			}
			if w.Flags != tt.flags || w.HasFlags != tt.hasFlags || w.Serializer != tt.serializer {
				t.Errorf("flags %d/%v serializer %s, want %d/%v %s", w.Flags, w.HasFlags, w.Serializer, tt.flags, tt.hasFlags, tt.serializer)
			}
		})
	}
	if _, err := redis.Encode([]byte("x"), "msgpack", 4); err == nil {
		t.Error("django accepted msgpack")
	}
}

func TestRecognize(t *testing.T) {
	uuid := []byte("68c9c673-c428-49a7-8f21-12434ddc3b20")
	litestarMsgs := []byte("\x92\x83\xa4type\xb3http.response.start")
	tests := []struct {
		profile string
		o       Options
		key     string
		value   []byte
		want    string // "" for not recognised
	}{
		{"aiocache", Options{Backend: "redis", Namespace: "deco"}, "deco:__main__get_user(42,)[('role', 'admin')]", nil, "aiocache cached result __main__get_user"},
		{"aiocache", Options{Backend: "redis", Namespace: "main"}, "main:job-lock", uuid, "aiocache lock job"},
		{"aiocache", Options{Backend: "redis", Namespace: "main"}, "main:job-lock", []byte(`{"x": 1}`), ""},
		{"aiocache", Options{Backend: "redis", Namespace: "main"}, "other:f()[]", nil, ""},
		{"litestar", Options{Backend: "redis"}, "LITESTAR:GET/itemspage=2", litestarMsgs, "litestar response GET /itemspage=2"},
		{"litestar", Options{Backend: "redis", Namespace: "sessions"}, "LITESTAR_sessions:" + string(bytes.Repeat([]byte("ab"), 32)), nil, "litestar session"},
		{"litestar", Options{Backend: "redis"}, "LITESTAR:RateLimitMiddleware::127.0.0.1", nil, "litestar rate limit 127.0.0.1"},
		{"litestar", Options{Backend: "http", BareStore: true}, "GET/itemspage=2", nil, "litestar response GET /itemspage=2"},
		{"litestar", Options{Backend: "http", BareStore: true}, "RateLimitMiddleware::127.0.0.1", nil, "litestar rate limit 127.0.0.1"},
		{"litestar", Options{Backend: "http", BareStore: true}, "LITESTAR:GET/items", litestarMsgs, ""},
		{"auto", Options{}, "GET/itemspage=2", litestarMsgs, "litestar response GET /itemspage=2"},
		{"auto", Options{}, "GET/itemspage=2", []byte(`{"a": 1}`), ""},
		{"starlite", Options{Backend: "memcached"}, "/itemspage=2", []byte("\x80\x04\x95"), "starlite response /itemspage=2"},
		{"django", Options{Backend: "memcached"}, ":1:views.decorators.cache.cache_page..GET.fb81d1588724ec47394f8c4b789262a8.749cadba7b2ed8d4a2aaa91a9cb1896c.en-us.UTC", nil, "django page GET"},
		{"django", Options{Backend: "memcached"}, ":1:views.decorators.cache.cache_header..fb81d1588724ec47394f8c4b789262a8.en-us.UTC", nil, "django page headers"},
		{"django", Options{Backend: "redis"}, ":1:django.contrib.sessions.cacheabc", nil, "django session"},
		{"django", Options{Backend: "redis"}, ":1:greeting", nil, "django entry"},
		{"asgi-caches", Options{Backend: "redis"}, "::::cache_page.GET.e4978db34647532a101916e7735e3dd2.749cadba7b2ed8d4a2aaa91a9cb1896c", nil, "asgi-caches page GET"},
		{"asgi-caches", Options{Backend: "redis"}, "::::varying_headers.d4746b51ba0d58e31d34ba3e3d0736a9", nil, "asgi-caches varying headers"},
		{"auto", Options{}, "::::varying_headers.d4746b51ba0d58e31d34ba3e3d0736a9", nil, "asgi-caches varying headers"},
		{"auto", Options{}, "api:app.servicesget_profile(3,)[]", nil, "aiocache cached result app.servicesget_profile"},
		{"auto", Options{}, "LITESTAR:GET/items", litestarMsgs, "litestar response GET /items"},
		{"auto", Options{}, ":1:views.decorators.cache.cache_page..GET.fb81d1588724ec47394f8c4b789262a8.d41d8cd98f00b204e9800998ecf8427e", nil, "django page GET"},
		{"auto", Options{}, "ratelimit:10.0.0.1", nil, " rate limit"},
		{"auto", Options{}, "user:1", []byte("{}"), ""},
		{"none", Options{}, "LITESTAR:GET/items", litestarMsgs, ""},
	}
	for _, tt := range tests {
		t.Run(tt.profile+" "+tt.key, func(t *testing.T) {
			p := must(t, tt.profile, tt.o)
			tag, ok := p.Recognize(tt.key, tt.value)
			got := ""
			if ok {
				got = tag.String()
			}
			if got != tt.want {
				t.Fatalf("Recognize = %q, want %q", got, tt.want)
			}
		})
	}
}
