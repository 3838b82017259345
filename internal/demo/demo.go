// Package demo makes the sample entries of `cachectl demo`: what the caches
// of Python web apps really hold (aiocache JSON under namespaces, pickled
// objects with datetimes and Decimals, msgpack, Litestar and Django key
// layouts, short TTLs, a few large values). The set is deterministic.
package demo

import (
	"bytes"
	"compress/zlib"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/cachectl/cachectl/internal/serial"
)

// Entry is one sample cache entry.
type Entry struct {
	Key    string
	Value  []byte
	TTL    time.Duration // 0: no expiry
	Format string        // what Value is, as the HTTP protocol's Cache-Format
}

var firstNames = []string{"Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Margaret", "Ken", "Frances", "Dennis", "Radia", "Guido"}
var products = []string{"keyboard", "monitor", "cable", "laptop stand", "headset", "webcam", "dock", "mouse"}

// Entries returns the sample set; now anchors the timestamps inside values.
func Entries(now time.Time) ([]Entry, error) {
	r := rand.New(rand.NewPCG(1, 2))
	var out []Entry
	add := func(key string, value []byte, ttl time.Duration, format string) {
		out = append(out, Entry{Key: key, Value: value, TTL: ttl, Format: format})
	}
	str := serial.NewStr
	num := func(i int) *serial.Value { return serial.NewInt(int64(i)) }
	kv := func(k string, v *serial.Value) serial.Pair { return serial.Pair{Key: str(k), Value: v} }

	// aiocache with the JSON serializer under the namespace "api" (Redis
	// layout "ns:key"): users and their @cached lookups.
	for i := 1; i <= 60; i++ {
		name := firstNames[i%len(firstNames)]
		user := serial.NewDict(
			kv("id", num(i)),
			kv("name", str(fmt.Sprintf("%s %c.", name, 'A'+rune(i%26)))),
			kv("email", str(fmt.Sprintf("%s%d@example.org", strings.ToLower(name), i))),
			kv("active", serial.NewBool(i%4 != 0)),
			kv("roles", serial.NewList(str("user"), str([]string{"editor", "admin", "viewer"}[i%3]))),
			kv("score", serial.NewFloat(float64(r.IntN(10000))/100)),
		)
		v, err := serial.EncodeValue(user, "json")
		if err != nil {
			return nil, err
		}
		ttl := time.Duration(0)
		if i%3 == 0 {
			ttl = time.Duration(300+r.IntN(3300)) * time.Second
		}
		add(fmt.Sprintf("api:user:%d", i), v, ttl, "json")
		if i <= 15 {
			add(fmt.Sprintf("api:app.services.usersget_profile(%d,)[]", i), v, 10*time.Minute, "json")
		}
	}

	// Pickled orders (protocol 5, as Django and aiocache's PickleSerializer
	// write): dicts with a UTC datetime, Decimal totals, UUIDs and items.
	for i := 1; i <= 50; i++ {
		var items []*serial.Value
		total := 0
		for j := 0; j <= i%4; j++ {
			cents := 500 + r.IntN(20000)
			total += cents
			items = append(items, serial.NewDict(
				kv("sku", str(fmt.Sprintf("SKU-%04d", r.IntN(10000)))),
				kv("name", str(products[r.IntN(len(products))])),
				kv("qty", num(1+r.IntN(3))),
				kv("price", serial.NewDecimal(fmt.Sprintf("%d.%02d", cents/100, cents%100))),
			))
		}
		created := now.Add(-time.Duration(r.IntN(30*24*3600)) * time.Second).UTC()
		var id [16]byte
		for k := range id {
			id[k] = byte(r.IntN(256))
		}
		id[6], id[8] = id[6]&0x0f|0x40, id[8]&0x3f|0x80
		order := serial.NewDict(
			kv("id", serial.NewUUID(id)),
			kv("number", num(100000+i)),
			kv("customer", str(firstNames[i%len(firstNames)])),
			kv("created", serial.NewDateTime(serial.DateTime{Year: created.Year(), Month: int(created.Month()), Day: created.Day(),
				Hour: created.Hour(), Minute: created.Minute(), Second: created.Second(), HasOffset: true})),
			kv("total", serial.NewDecimal(fmt.Sprintf("%d.%02d", total/100, total%100))),
			kv("items", serial.NewList(items...)),
			kv("status", str([]string{"paid", "shipped", "delivered", "refunded"}[i%4])),
		)
		v, err := serial.EncodePickle(order, 5)
		if err != nil {
			return nil, fmt.Errorf("demo order %d: %w", i, err)
		}
		ttl := time.Duration(0)
		if i%2 == 0 {
			ttl = time.Duration(600+r.IntN(6000)) * time.Second
		}
		add(fmt.Sprintf("orders:%d", 100000+i), v, ttl, "pickle")
	}
	// A few instances of an app class, as pickle writes any object.
	for i := 1; i <= 5; i++ {
		inv := serial.NewObject("app.models.Invoice", []*serial.Value{}, serial.NewDict(
			kv("number", str(fmt.Sprintf("INV-2024-%03d", i))),
			kv("amount", serial.NewDecimal(fmt.Sprintf("%d.00", 100*i))),
			kv("due", serial.NewDate(2024, 12, i)),
			kv("paid", serial.NewBool(i%2 == 0)),
		))
		v, err := serial.EncodePickle(inv, 4)
		if err != nil {
			return nil, fmt.Errorf("demo invoice %d: %w", i, err)
		}
		add(fmt.Sprintf("invoices:%d", i), v, 0, "pickle")
	}

	// msgpack: an activity feed.
	for i := 1; i <= 20; i++ {
		var events []*serial.Value
		for j := 0; j < 3+i%5; j++ {
			events = append(events, serial.NewDict(
				kv("kind", str([]string{"login", "comment", "like", "follow"}[r.IntN(4)])),
				kv("at", num(int(now.Unix())-r.IntN(86400))),
				kv("actor", num(1+r.IntN(60))),
			))
		}
		feed := serial.NewDict(kv("user", num(i)), kv("events", serial.NewList(events...)), kv("cursor", serial.NewBytes([]byte{byte(i), 0xff, 0x00})))
		v, err := serial.EncodeMsgpack(feed)
		if err != nil {
			return nil, err
		}
		add(fmt.Sprintf("feed:%d", i), v, 30*time.Minute, "msgpack")
	}

	// Litestar's response cache: msgpack-encoded ASGI messages under
	// LITESTAR:<method><path><sorted query>.
	for i := 1; i <= 12; i++ {
		body := fmt.Sprintf(`{"items":[{"id":%d,"name":"%s"}],"page":%d}`, i, products[i%len(products)], i)
		msgs := serial.NewList(
			serial.NewDict(kv("type", str("http.response.start")), kv("status", num(200)),
				kv("headers", serial.NewList(
					serial.NewList(serial.NewBytes([]byte("content-type")), serial.NewBytes([]byte("application/json"))),
					serial.NewList(serial.NewBytes([]byte("content-length")), serial.NewBytes([]byte(fmt.Sprint(len(body))))),
				))),
			serial.NewDict(kv("type", str("http.response.body")), kv("body", serial.NewBytes([]byte(body))), kv("more_body", serial.NewBool(false))),
		)
		v, err := serial.EncodeMsgpack(msgs)
		if err != nil {
			return nil, err
		}
		add(fmt.Sprintf("LITESTAR:GET/itemspage=%d&size=20", i), v, 60*time.Second, "msgpack")
	}

	// Django: cache_page entries and their header keys (":1:" is the
	// default key prefix and version), sessions, and integer counters stored
	// as ASCII digits.
	for i := 1; i <= 12; i++ {
		url := fmt.Sprintf("https://example.org/blog/post-%d/", i)
		sum := md5.Sum([]byte(url))
		urlHash := hex.EncodeToString(sum[:])
		// Django ≥3.2 keeps headers in a ResponseHeaders object whose _store
		// maps the lower-case name to (Original-Name, value).
		hdrs := serial.NewObject("django.http.response.ResponseHeaders", []*serial.Value{}, serial.NewDict(
			kv("_store", serial.NewDict(
				kv("content-type", serial.NewTuple(str("Content-Type"), str("text/html; charset=utf-8"))),
				kv("cache-control", serial.NewTuple(str("Cache-Control"), str("max-age=600"))),
			))))
		page := serial.NewObject("django.http.response.HttpResponse", []*serial.Value{}, serial.NewDict(
			kv("headers", hdrs),
			kv("_charset", serial.None()),
			kv("_container", serial.NewList(serial.NewBytes([]byte(fmt.Sprintf("<html><body><h1>Post %d</h1></body></html>", i))))),
			kv("status_code", num(200)),
		))
		v, err := serial.EncodePickle(page, 5)
		if err != nil {
			return nil, fmt.Errorf("demo page %d: %w", i, err)
		}
		add(":1:views.decorators.cache.cache_page..GET."+urlHash+".d41d8cd98f00b204e9800998ecf8427e.en-us.UTC", v, 10*time.Minute, "pickle")
		hdr, _ := serial.EncodePickle(serial.NewList(), 5)
		add(":1:views.decorators.cache.cache_header.."+urlHash+".en-us.UTC", hdr, 10*time.Minute, "pickle")
	}
	for i := 1; i <= 10; i++ {
		sess := serial.NewDict(kv("_auth_user_id", str(fmt.Sprint(i))), kv("_auth_user_backend", str("django.contrib.auth.backends.ModelBackend")),
			kv("cart", serial.NewList(num(r.IntN(100)), num(r.IntN(100)))))
		v, err := serial.EncodePickle(sess, 5)
		if err != nil {
			return nil, err
		}
		add(fmt.Sprintf(":1:django.contrib.sessions.cache%032x", r.Uint64()), v, 14*24*time.Hour, "pickle")
	}
	for _, name := range []string{"visits", "signups", "orders_today", "errors_5xx"} {
		// Django stores ints as ASCII digits; no format: detection reads them.
		add(":1:counter:"+name, []byte(fmt.Sprint(r.IntN(100000))), 0, "")
	}

	// Short TTLs that expire while you watch: rate limits and aiocache locks.
	for i := 1; i <= 20; i++ {
		add(fmt.Sprintf("ratelimit:10.0.0.%d", i), []byte(fmt.Sprint(1+r.IntN(60))), time.Duration(20+r.IntN(100))*time.Second, "")
	}
	for i := 1; i <= 4; i++ {
		var id [16]byte
		for k := range id {
			id[k] = byte(r.IntN(256))
		}
		add(fmt.Sprintf("api:report:%d-lock", i), []byte(fmt.Sprintf("%x-%x-%x-%x-%x", id[0:4], id[4:6], id[6:8], id[8:10], id[10:16])), time.Duration(15+15*i)*time.Second, "string")
	}

	// Large values: a big JSON report, a big pickled export, a zlib-compressed
	// catalogue, and an opaque blob.
	var rows []*serial.Value
	for i := 0; i < 20000; i++ {
		rows = append(rows, serial.NewDict(kv("id", num(i)), kv("name", str(fmt.Sprintf("item-%05d", i))), kv("price", serial.NewFloat(float64(r.IntN(100000))/100))))
	}
	big, err := serial.EncodeValue(serial.NewDict(kv("year", num(2024)), kv("rows", serial.NewList(rows...))), "json")
	if err != nil {
		return nil, err
	}
	add("report:2024-annual", big, 0, "json")
	bigPickle, err := serial.EncodePickle(serial.NewList(rows[:8000]...), 5)
	if err != nil {
		return nil, err
	}
	add("export:items", bigPickle, 0, "pickle")
	catalog, err := serial.EncodeValue(serial.NewList(rows[:3000]...), "json")
	if err != nil {
		return nil, err
	}
	var zbuf bytes.Buffer
	zw := zlib.NewWriter(&zbuf)
	if _, err := zw.Write(catalog); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	add("catalog:compressed", zbuf.Bytes(), 0, "zlib+json")
	blob := make([]byte, 256<<10)
	for i := range blob {
		blob[i] = byte(r.IntN(256))
	}
	add("blob:avatar:1", blob, 0, "bytes")

	// Keys that need care on a terminal.
	add("weird:key with spaces", []byte("spaces are fine"), 0, "string")
	add("weird:\x1b[31mred\x1b[0m", []byte("escape bytes in a key are shown escaped"), 0, "string")
	add("weird:\x00\xff", []byte{0x00, 0xff}, 0, "bytes")
	return out, nil
}
