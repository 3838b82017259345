package commands

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/config"
	"github.com/cachectl/cachectl/internal/glob"
	"github.com/cachectl/cachectl/internal/invalidate"
	"github.com/cachectl/cachectl/internal/iostreams"
)

// twoNodes is a sharded backend in miniature: keys live on the node their
// last byte picks. Its first delete loses its answers (having deleted the
// first key), Recover brings it back.
type twoNodes struct {
	backends.Backend // nil: only what invalidate uses is here
	mu               sync.Mutex
	data             [2]map[string]bool
	failed           bool
}

func newTwoNodes(keys ...string) *twoNodes {
	b := &twoNodes{data: [2]map[string]bool{{}, {}}}
	for _, k := range keys {
		b.data[b.KeySlot(k)%2][k] = true
	}
	return b
}

func (b *twoNodes) KeySlot(k string) int { return int(k[len(k)-1]) }

var twoNodeNames = [2]string{"10.0.0.1:7000", "10.0.0.2:7000\x1b[31m"} // the second names itself with an escape

func (b *twoNodes) ScanShards(ctx context.Context, pattern string, h backends.ShardHandler) error {
	for i := range 2 {
		b.mu.Lock()
		var page []string
		for k := range b.data[i] {
			if glob.Match(pattern, k) {
				page = append(page, k)
			}
		}
		b.mu.Unlock()
		slices.Sort(page)
		if err := h.Page(twoNodeNames[i], page); err != nil {
			return err
		}
	}
	return nil
}

func (b *twoNodes) DeleteKeys(ctx context.Context, keys []string) (backends.DeleteResult, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var res backends.DeleteResult
	for i, k := range keys {
		node := b.data[b.KeySlot(k)%2]
		if !b.failed {
			if i == 0 {
				delete(node, k) // done, but its answer is lost
			}
			res.Unanswered = append(res.Unanswered, k)
			continue
		}
		if node[k] {
			delete(node, k)
			res.Deleted++
		}
	}
	if !b.failed {
		b.failed = true
		return res, &backends.ConnError{Address: "10.0.0.1:7000", Err: errors.New("EOF")}
	}
	return res, nil
}

func (b *twoNodes) Delete(ctx context.Context, keys ...string) (int64, error) {
	res, err := b.DeleteKeys(ctx, keys)
	return res.Deleted, err
}

func (b *twoNodes) Recover(context.Context, time.Duration) (bool, error) { return true, nil }
func (b *twoNodes) Close() error                                         { return nil }

func (b *twoNodes) left() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.data[0]) + len(b.data[1])
}

func nodesRun(t *testing.T, b backends.Backend, output outputFormat) (*invalidateOptions, *bytes.Buffer, *bytes.Buffer, error) {
	t.Helper()
	ios, _, out, errOut := iostreams.Test()
	opts := &invalidateOptions{
		IO:            ios,
		Backend:       func(context.Context) (backends.Backend, error) { return b, nil },
		CheckWritable: func(string) error { return nil },
		Resolve:       func() (*config.Resolved, error) { return nil, nil },
		Output:        output,
		Patterns:      []string{"inv:*"},
		Yes:           true,
		Batch:         3,
	}
	err := invalidateRun(context.Background(), opts)
	return opts, out, errOut, err
}

// TestInvalidateNodesJSON: a sharded run's document names each node (its
// name escaped as JSON escapes), and a ride-through adds "recovered",
// "verified" and the unconfirmed keys; the exit is 0.
func TestInvalidateNodesJSON(t *testing.T) {
	b := newTwoNodes("inv:a", "inv:b", "inv:c", "inv:d", "keep:a")
	_, out, _, err := nodesRun(t, b, "json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Matched, Deleted, Unconfirmed int64
		Recovered                     int
		Verified                      *int64
		Nodes                         []struct {
			Node                          string
			Matched, Deleted, Unconfirmed int64
		}
	}
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if b.left() != 1 || doc.Matched != 4 || doc.Deleted != 3 || doc.Unconfirmed != 1 || doc.Recovered != 1 || doc.Verified != nil {
		t.Fatalf("%d left; document %s", b.left(), out)
	}
	if len(doc.Nodes) != 2 || doc.Nodes[0].Node != twoNodeNames[0] || doc.Nodes[1].Node != twoNodeNames[1] ||
		doc.Nodes[0].Matched+doc.Nodes[1].Matched != 4 || doc.Nodes[0].Unconfirmed+doc.Nodes[1].Unconfirmed != 1 {
		t.Fatalf("nodes %+v", doc.Nodes)
	}
	if strings.Contains(out.String(), "\x1b") {
		t.Fatalf("a raw escape in the document: %q", out)
	}
	for _, field := range []string{`"nodes"`, `"recovered"`, `"unconfirmed"`} {
		if !strings.Contains(out.String(), field) {
			t.Fatalf("no %s in %s", field, out)
		}
	}
}

// TestInvalidateSingleNodeJSONUnchanged: without nodes or a ride-through,
// the document has exactly the fields it always had.
func TestInvalidateSingleNodeJSONUnchanged(t *testing.T) {
	ios, _, out, _ := iostreams.Test()
	opts := &invalidateOptions{IO: ios, Output: "json", Patterns: []string{"a:*"}}
	if err := writeInvalidate(opts, invalidate.Summary{Matched: 2, Deleted: 2, Elapsed: 5 * time.Millisecond}, nil); err != nil {
		t.Fatal(err)
	}
	const want = `{"patterns":["a:*"],"matched":2,"deleted":2,"dry_run":false,"elapsed_ms":5,"backup":null}` + "\n"
	if out.String() != want {
		t.Fatalf("got  %s want %s", out, want)
	}
}

// TestInvalidateRideThroughNotes: the human summary stays one line; the
// notes on stderr say what the failover did.
func TestInvalidateRideThroughNotes(t *testing.T) {
	b := newTwoNodes("inv:a", "inv:b", "inv:c", "inv:d", "keep:a")
	_, out, errOut, err := nodesRun(t, b, "")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "deleted 3 key(s) matching inv:* in ") || strings.Count(out.String(), "\n") != 1 {
		t.Fatalf("stdout %q", out)
	}
	for _, want := range []string{
		"note: rode through 1 failover(s)",
		"note: 1 key(s) unconfirmed: their answer was lost in a failover",
		"note: the verification listing found none left",
	} {
		if !strings.Contains(errOut.String(), want) {
			t.Fatalf("stderr %q\nwants %q", errOut, want)
		}
	}

	ios, _, _, errOut2 := iostreams.Test()
	opts := &invalidateOptions{IO: ios, Patterns: []string{"a:*"}}
	if err := writeInvalidate(opts, invalidate.Summary{Matched: 5, Deleted: 5, Rounds: 1, Verified: 2}, nil); err != nil {
		t.Fatal(err)
	}
	if errOut2.String() != "note: the verification listing found 2 matching key(s) this run had not deleted (missed by a listing the failover disturbed, or written meanwhile) and deleted them\n" {
		t.Fatalf("after a reshard: %q", errOut2)
	}

	// A failover that brought deletes back: the count stays the keys', the
	// notes say what was deleted again and what may count twice.
	ios, _, out3, errOut3 := iostreams.Test()
	opts = &invalidateOptions{IO: ios, Patterns: []string{"a:*"}}
	if err := writeInvalidate(opts, invalidate.Summary{Matched: 60000, Deleted: 60000, Recovered: 1, Restored: 10000, MaybeCountedTwice: 7}, nil); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out3.String(), "deleted 60000 key(s) matching a:* in ") {
		t.Fatalf("stdout %q", out3)
	}
	for _, want := range []string{
		"note: rode through 1 failover(s): the run went on once the deployment answered again\n",
		"note: 10000 key(s) this run had deleted came back",
		"note: up to 7 key(s) may be counted twice",
		"note: the verification listing found no other matching key left\n",
	} {
		if !strings.Contains(errOut3.String(), want) {
			t.Fatalf("stderr %q\nwants %q", errOut3, want)
		}
	}
	if strings.Contains(errOut3.String(), "connection was lost") {
		t.Fatalf("a failover need not lose the connection: %q", errOut3)
	}
}

// TestInvalidateRestoredJSON: the keys deleted again after a failover, and
// those that may count twice, have fields of their own.
func TestInvalidateRestoredJSON(t *testing.T) {
	ios, _, out, _ := iostreams.Test()
	opts := &invalidateOptions{IO: ios, Output: "json", Patterns: []string{"a:*"}}
	if err := writeInvalidate(opts, invalidate.Summary{Matched: 2, Deleted: 2, Recovered: 1, Restored: 3, MaybeCountedTwice: 4, Elapsed: 5 * time.Millisecond}, nil); err != nil {
		t.Fatal(err)
	}
	const want = `{"patterns":["a:*"],"matched":2,"deleted":2,"dry_run":false,"elapsed_ms":5,"backup":null,"recovered":1,"restored":3,"maybe_counted_twice":4}` + "\n"
	if out.String() != want {
		t.Fatalf("got  %s want %s", out, want)
	}
}

// TestInvalidateProgressNodes: on a terminal, a sharded run draws one line
// per node under the total, redraws them in place, keeps each within the
// width, escapes node names, and clears everything at the end.
func TestInvalidateProgressNodes(t *testing.T) {
	var out bytes.Buffer
	p := &progressLine{out: &out, on: true, width: 50}
	nodes := []invalidate.NodeProgress{
		{Node: "10.0.0.1:7000", Matched: 300, Deleted: 120},
		{Node: "evil\x1b]0;x\a.a-very-long-host-name.internal.example.com:7000", Matched: 20, Deleted: 20},
	}
	p.update(invalidate.Progress{Matched: 320, Deleted: 140, Elapsed: time.Second, Nodes: nodes})
	first := out.String()
	want := "\r\x1b[Kdeleted 140 of 320 matched so far (140 keys/s)\n\r\x1b[K  10.0.0.1:7000: deleted 120 of 300\n\r\x1b[K  evil\\x1b]0;x\\x07.a-very-lon…: deleted 20 of 20"
	if first != want {
		t.Fatalf("first draw\n got %q\nwant %q", first, want)
	}
	out.Reset()
	p.last = time.Time{} // past the redraw interval
	p.update(invalidate.Progress{Matched: 320, Deleted: 200, Elapsed: time.Second})
	if got := out.String(); got != "\x1b[2A\r\x1b[Kdeleted 200 of 320 matched so far (200 keys/s)\x1b[J" {
		t.Fatalf("redraw with one line left: %q", got)
	}
	out.Reset()
	p.last = time.Time{}
	p.update(invalidate.Progress{Matched: 320, Deleted: 300, Elapsed: time.Second, Nodes: nodes})
	p.done()
	if got := out.String(); !strings.HasSuffix(got, "\x1b[2A\r\x1b[J") {
		t.Fatalf("the end does not clear all three lines: %q", got)
	}

	// A single node draws exactly the line it always did.
	out.Reset()
	p = &progressLine{out: &out, on: true, width: 80}
	p.update(invalidate.Progress{Matched: 5, Deleted: 5, Elapsed: time.Second, Nodes: nodes[:1]})
	p.done()
	if got := out.String(); got != "\r\x1b[Kdeleted 5 of 5 matched so far (5 keys/s)\r\x1b[K" {
		t.Fatalf("single node: %q", got)
	}

	// Many nodes: the last line sums those past the limit.
	out.Reset()
	p = &progressLine{out: &out, on: true, width: 80, dryRun: true}
	var many []invalidate.NodeProgress
	for i := range 12 {
		many = append(many, invalidate.NodeProgress{Node: string(rune('a' + i)), Matched: 10})
	}
	p.update(invalidate.Progress{Matched: 120, Elapsed: time.Second, Nodes: many})
	lines := strings.Split(out.String(), "\n")
	if len(lines) != 1+maxNodeLines || !strings.HasSuffix(lines[len(lines)-1], "  5 more nodes: 50 matched") {
		t.Fatalf("%d lines: %q", len(lines), out.String())
	}
}
