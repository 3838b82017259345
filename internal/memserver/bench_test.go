package memserver

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync/atomic"
	"testing"
)

const benchKeys = 10_000

func benchStore(b *testing.B, maxMemory int64) *Store {
	b.Helper()
	s := NewStore(Options{MaxMemory: maxMemory})
	val := make([]byte, 256)
	for i := range benchKeys {
		if err := s.Set("user:"+strconv.Itoa(i), val, 0, "json"); err != nil {
			b.Fatal(err)
		}
	}
	return s
}

func BenchmarkGet(b *testing.B) {
	for _, bc := range []struct {
		name string
		max  int64
	}{{"unbounded", 0}, {"lru", 1 << 30}} {
		b.Run(bc.name, func(b *testing.B) {
			s := benchStore(b, bc.max)
			keys := make([]string, benchKeys)
			for i := range keys {
				keys[i] = "user:" + strconv.Itoa(i)
			}
			var seq atomic.Int64
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := int(seq.Add(1)) * 7919
				for pb.Next() {
					if _, ok := s.Get(keys[i%benchKeys]); !ok {
						b.Error("miss")
						return
					}
					i++
				}
			})
		})
	}
}

func BenchmarkSet(b *testing.B) {
	s := benchStore(b, 1<<20) // small bound: most Sets evict
	val := make([]byte, 256)
	var seq atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := int(seq.Add(1)) << 20
		for pb.Next() {
			_ = s.Set("k:"+strconv.Itoa(i), val, 0, "")
			i++
		}
	})
}

// discardWriter is a reusable ResponseWriter, so the benchmark counts the
// handler's allocations, not a recorder's.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) WriteHeader(int)             {}
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }

// BenchmarkHandlerGet is GET /v1/entry through ServeHTTP, without a network.
func BenchmarkHandlerGet(b *testing.B) {
	s := benchStore(b, 0)
	h := NewHandler(s, HandlerOptions{Token: "t0ken"})
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		reqs := make([]*http.Request, 64)
		for i := range reqs {
			reqs[i] = &http.Request{
				Method: "GET",
				URL:    &url.URL{Path: "/v1/entry", RawQuery: "key=user%3A" + strconv.Itoa(i*97)},
				Header: http.Header{"Authorization": {"Bearer t0ken"}},
			}
		}
		w := &discardWriter{h: http.Header{}}
		i := 0
		for pb.Next() {
			clear(w.h)
			h.ServeHTTP(w, reqs[i%len(reqs)])
			i++
		}
	})
}

// BenchmarkHTTPGet is GET /v1/entry over loopback HTTP/1.1 with keep-alive;
// the client shares the CPUs, so it understates what the server holds.
func BenchmarkHTTPGet(b *testing.B) {
	s := benchStore(b, 0)
	srv := httptest.NewServer(NewHandler(s, HandlerOptions{}))
	defer srv.Close()
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	var seq atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := int(seq.Add(1)) * 7919
		for pb.Next() {
			resp, err := client.Get(srv.URL + "/v1/entry?key=user%3A" + strconv.Itoa(i%benchKeys))
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
			i++
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}
