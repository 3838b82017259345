package httpmem

import (
	"context"
	"sort"
	"strings"
	"testing"

	"github.com/cachectl/cachectl/internal/memserver"
)

// TestInvalidateBinaryPatterns: a pattern that is not UTF-8 reaches the
// server byte for byte ({"$bytes"}), so it deletes exactly the key it
// matches, not the keys whose U+FFFD its bytes would have become; the dry run
// counts the same keys.
func TestInvalidateBinaryPatterns(t *testing.T) {
	ctx := context.Background()
	store := memserver.NewStore(memserver.Options{})
	b := openURL(t, serve(t, memserver.NewHandler(store, memserver.HandlerOptions{})), "")
	for _, k := range []string{"bin\xff1", "bin\xef\xbf\xbd2", "bin\xef\xbf\xbd3", "bin\xfe4"} {
		if err := b.Set(ctx, k, []byte("v"), 0); err != nil {
			t.Fatal(err)
		}
	}
	for _, chunked := range []bool{false, true} {
		var m, d int64
		var err error
		if chunked {
			m, d, _, err = b.InvalidateChunk(ctx, []string{"bin\xff*"}, true, "", 100)
		} else {
			m, d, err = b.Invalidate(ctx, []string{"bin\xff*"}, true)
		}
		if err != nil || m != 1 || d != 0 {
			t.Fatalf("dry run (chunked %v): matched %d deleted %d, %v; want 1 and 0", chunked, m, d, err)
		}
	}
	m, d, err := b.Invalidate(ctx, []string{"bin\xff*", "bin[\xfe]4"}, false)
	if err != nil || m != 2 || d != 2 {
		t.Fatalf("invalidate: matched %d deleted %d, %v; want 2", m, d, err)
	}
	var left []string
	if err := b.Scan(ctx, "*", func(keys []string) error { left = append(left, keys...); return nil }); err != nil {
		t.Fatal(err)
	}
	sort.Strings(left)
	if strings.Join(left, " ") != "bin\xef\xbf\xbd2 bin\xef\xbf\xbd3" {
		t.Fatalf("left %q, want the two U+FFFD keys", left)
	}
}

func TestCapabilitiesStore(t *testing.T) {
	ctx := context.Background()
	b := openURL(t, serve(t, memserver.NewHandler(memserver.NewStore(memserver.Options{}), memserver.HandlerOptions{})), "")
	st, err := b.Store(ctx)
	if err != nil || st.Library != "cachectl" || st.Class != "memserver.Store" || st.Namespace != nil {
		t.Fatalf("store %+v, %v", st, err)
	}
	ok, err := b.ChunkedInvalidate(ctx)
	if err != nil || !ok {
		t.Fatalf("chunked %v, %v", ok, err)
	}
}
