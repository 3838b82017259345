// Package appurl reads the cache URLs Python apps already have (aiocache's
// Cache.from_url forms, in CACHE_URL): it takes out the query parameters
// that configure the app's client rather than name the cache, and keeps
// what cachectl can use of them. It imports nothing of the project.
package appurl

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// App is what an app's URL said beyond where the cache is.
type App struct {
	// Namespace is aiocache's namespace (?namespace=).
	Namespace string
	// Timeout is aiocache's operation timeout (?timeout=, seconds).
	Timeout time.Duration
	// Password came as ?password= (aiocache reads it there too).
	Password string
	// Ignored names the app's own settings, which do not concern cachectl
	// (ttl, pool_max_size, create_connection_timeout…), in URL order.
	Ignored []string
}

// appParams are aiocache's from_url parameters for RedisCache and
// MemcachedCache that configure the client, not the cache's address.
var appParams = []string{"namespace", "ttl", "timeout", "pool_max_size", "pool_size",
	"create_connection_timeout", "password", "serializer", "plugins", "key_builder",
	// redis-py's Redis.from_url (Django's RedisCache LOCATION, Litestar's
	// RedisStore.with_client(url=…)): socket_timeout is the operation
	// timeout; the rest tune the app's connection pool. TLS settings
	// (ssl_cert_reqs…) are not here: skipping verification is never implied.
	"socket_timeout", "socket_connect_timeout", "socket_keepalive", "max_connections",
	"health_check_interval", "retry_on_timeout", "decode_responses", "encoding",
	"encoding_errors", "single_connection_client"}

// aiocacheSchemes are the schemes aiocache's and redis-py's from_url know
// and cachectl opens the same way.
var aiocacheSchemes = []string{"redis", "rediss", "unix", "memcached"}

// MemoryError is a memory:// URL: aiocache's SimpleMemoryCache lives inside
// the app's process, where no other program can reach it.
type MemoryError struct{}

func (MemoryError) Error() string {
	return "memory:// is a cache inside the app's own process (aiocache SimpleMemoryCache): no other program can reach it. " +
		"Expose it with the ASGI adapter (contrib/python/cachectl_asgi) and point cachectl at the adapter's http:// URL, " +
		"e.g. --url http://127.0.0.1:8000/_cache"
}

// Split takes the app's parameters out of raw. A URL of another scheme,
// or with none of them, comes back unchanged with a zero App.
func Split(raw string) (string, App, error) {
	var app App
	u, err := url.Parse(raw)
	if err != nil {
		return raw, app, nil // the backend says what is wrong with it
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme == "memory" {
		return raw, app, MemoryError{}
	}
	if !slices.Contains(aiocacheSchemes, scheme) || u.RawQuery == "" {
		return raw, app, nil
	}
	q := u.Query()
	found := false
	for _, pair := range strings.Split(u.RawQuery, "&") {
		name, _, _ := strings.Cut(pair, "=")
		name, _ = url.QueryUnescape(name)
		if !slices.Contains(appParams, name) || !q.Has(name) {
			continue
		}
		found = true
		v := q.Get(name)
		switch name {
		case "namespace":
			app.Namespace = v
		case "password":
			app.Password = v
		case "timeout", "socket_timeout":
			secs, err := strconv.ParseFloat(v, 64)
			if err != nil || secs <= 0 || secs > 24*3600 {
				return raw, app, fmt.Errorf("%s=%q in the URL is not a number of seconds", name, v)
			}
			app.Timeout = time.Duration(secs * float64(time.Second))
		default:
			if !slices.Contains(app.Ignored, name) {
				app.Ignored = append(app.Ignored, name)
			}
		}
		q.Del(name)
	}
	if !found {
		return raw, app, nil
	}
	u.RawQuery = q.Encode()
	return u.String(), app, nil
}
