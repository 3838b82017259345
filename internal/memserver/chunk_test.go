package memserver

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestInvalidateChunk: stepping through the store deletes exactly the
// matching keys, never more than the limit per step, and the steps' counts
// add up to what was deleted.
func TestInvalidateChunk(t *testing.T) {
	for _, limit := range []int{1, 7, 100, 5000} {
		t.Run("limit "+strconv.Itoa(limit), func(t *testing.T) {
			s := NewStore(Options{})
			const n = 3000
			for i := range n {
				_ = s.Set("del:"+strconv.Itoa(i), []byte("v"), 0, "")
				_ = s.Set("keep:"+strconv.Itoa(i), []byte("v"), 0, "")
			}
			ctx := context.Background()
			// A dry run first: it counts every match once (nothing shrinks).
			var dry int64
			for cursor, steps := "", 0; ; steps++ {
				m, d, next, err := s.InvalidateChunk(ctx, []string{"del:*"}, true, cursor, limit, 0)
				if err != nil || d != 0 {
					t.Fatalf("dry step: %d deleted, %v", d, err)
				}
				dry += m
				if next == "" {
					break
				}
				if steps > 2*n {
					t.Fatal("the dry run does not end")
				}
				cursor = next
			}
			if dry != n {
				t.Fatalf("dry run matched %d, want %d", dry, n)
			}
			var total int64
			for cursor, steps := "", 0; ; steps++ {
				m, d, next, err := s.InvalidateChunk(ctx, []string{"del:*"}, false, cursor, limit, 0)
				if err != nil {
					t.Fatal(err)
				}
				if d > int64(limit) || m != d {
					t.Fatalf("step deleted %d (matched %d), limit %d", d, m, limit)
				}
				total += d
				if next == "" {
					break
				}
				if steps > 2*n {
					t.Fatal("the run does not end")
				}
				cursor = next
			}
			if total != n {
				t.Fatalf("deleted %d, want %d", total, n)
			}
			if st := s.Stats(); st.Keys != n {
				t.Fatalf("%d keys left, want the %d keep: keys", st.Keys, n)
			}
			keys, _, _ := s.Scan("", "del:*", MaxCount)
			if len(keys) != 0 {
				t.Fatalf("%d del: keys left", len(keys))
			}
			checkInvariants(t, s)
		})
	}
}

// TestInvalidateChunkBudget: a step stops on time, yet every step advances.
func TestInvalidateChunkBudget(t *testing.T) {
	s := NewStore(Options{})
	for i := range 20000 {
		_ = s.Set("k:"+strconv.Itoa(i), nil, 0, "")
	}
	var total int64
	steps := 0
	for cursor := ""; ; steps++ {
		_, d, next, err := s.InvalidateChunk(context.Background(), []string{"k:*"}, false, cursor, 1<<30, time.Nanosecond)
		if err != nil {
			t.Fatal(err)
		}
		total += d
		if next == "" {
			break
		}
		if next == cursor || steps > 20000 {
			t.Fatalf("step %d does not advance (cursor %q)", steps, next)
		}
		cursor = next
	}
	if total != 20000 || steps < 2 {
		t.Fatalf("deleted %d in %d steps, want 20000 in several", total, steps)
	}
	checkInvariants(t, s)
	if _, _, _, err := s.InvalidateChunk(context.Background(), []string{"*"}, false, "x", 10, 0); err != ErrBadCursor {
		t.Fatalf("bad cursor: %v", err)
	}
}

func TestInvalidateChunkEndpoint(t *testing.T) {
	ts := newTestServer(t, Options{}, HandlerOptions{})
	for i := range 50 {
		_ = ts.store.Set("user:"+strconv.Itoa(i), nil, 0, "")
		_ = ts.store.Set("other:"+strconv.Itoa(i), nil, 0, "")
	}
	var total int64
	for cursor, steps := "", 0; ; steps++ {
		body, _ := json.Marshal(map[string]any{"match": []string{"user:*"}, "limit": 10, "cursor": cursor})
		r := ts.do(t, "POST", "/v1/invalidate", strings.NewReader(string(body)))
		var doc struct {
			Matched, Deleted *int64
			Cursor           *string
		}
		if r.status != 200 || json.Unmarshal([]byte(r.body), &doc) != nil || doc.Deleted == nil || doc.Cursor == nil || doc.Matched == nil {
			t.Fatalf("step %d: %d %q", steps, r.status, r.body)
		}
		if *doc.Deleted > 10 {
			t.Fatalf("step deleted %d, limit 10", *doc.Deleted)
		}
		total += *doc.Deleted
		if *doc.Cursor == "" {
			break
		}
		if steps > 100 {
			t.Fatal("does not end")
		}
		cursor = *doc.Cursor
	}
	if total != 50 || ts.store.Stats().Keys != 50 {
		t.Fatalf("deleted %d, %d keys left; want 50 and 50", total, ts.store.Stats().Keys)
	}
	const badLimit = `{"error":"limit must be a positive number of keys"}` + "\n"
	for body, want := range map[string]string{
		`{"match":["*"],"limit":0}`:                  badLimit,
		`{"match":["*"],"limit":-1}`:                 badLimit,
		`{"match":["*"],"cursor":"5"}`:               badLimit,
		`{"match":["*"],"limit":1,"cursor":"nope"}`:  `{"error":"bad cursor"}` + "\n",
		`{"match":["*"],"limit":1,"cursor":"1e100"}`: `{"error":"bad cursor"}` + "\n",
		`{"match":["*"],"limit":"1"}`:                `{"error":"malformed JSON: want {\"match\": [globs], \"dry_run\": bool}"}` + "\n",
	} {
		ts.do(t, "POST", "/v1/invalidate", strings.NewReader(body)).expect(t, 400, want)
	}
	if ts.store.Stats().Keys != 50 {
		t.Fatal("a refused request deleted keys")
	}
}
