package backends

import (
	"fmt"
	"testing"
	"time"
)

func TestHotCounterExactThenApproximate(t *testing.T) {
	c := NewHotCounter(10, []string{"k:*"})
	c.Node("idle")
	for i := range 5 {
		for range 10 * (i + 1) {
			c.Command("n1", fmt.Sprintf("k:%d", i), "other")
		}
	}
	c.Command("n1") // a command without keys
	r := c.Report(HotMonitor, 0, 3)
	if r.Approximate || len(r.Keys) != 3 || r.Keys[0] != (HotKey{Key: "k:4", Node: "n1", Count: 50}) || r.Keys[2].Count != 30 {
		t.Fatalf("exact: %+v", r)
	}
	if r.Commands != 151 || r.Accesses != 150 || len(r.Nodes) != 2 || r.Nodes[0].Node != "idle" || r.Nodes[0].Commands != 0 {
		t.Fatalf("totals: %+v", r)
	}
	// Past its capacity the table over-counts newcomers, by at most Error,
	// and the heavy keys stay on top.
	for i := range 100 {
		c.Command("n2", fmt.Sprintf("k:cold:%d", i))
	}
	r = c.Report(HotMonitor, 0, 0)
	if !r.Approximate || len(r.Keys) != 10 || r.Keys[0].Key != "k:4" || r.Keys[0].Error != 0 {
		t.Fatalf("approximate: %+v", r.Keys)
	}
	for _, k := range r.Keys {
		if k.Count-k.Error > 50 || k.Count < k.Error {
			t.Errorf("bounds of %+v", k)
		}
	}
}

func TestTopFreqKeepsTheBestOnce(t *testing.T) {
	f := NewTopFreq(3)
	for i := range 1000 {
		f.Add("n", fmt.Sprintf("k:%d", i), int64(i%200))
	}
	f.Add("n", "k:199", 199) // SCAN returned it again
	r := f.Report()
	if len(r.Keys) != 3 || r.Keys[0].Freq != 199 || r.Keys[1].Freq != 199 || r.Keys[2].Freq != 199 || r.Commands != 1001 {
		t.Fatalf("%+v", r)
	}
	seen := map[string]bool{}
	for _, k := range r.Keys {
		if seen[k.Key] {
			t.Fatalf("%s twice: %+v", k.Key, r.Keys)
		}
		seen[k.Key] = true
	}
	if len(f.keys) > 2*3+64 {
		t.Fatalf("holds %d keys", len(f.keys))
	}
}

func TestReadFilterDropsWritesOwnLookups(t *testing.T) {
	c := NewHotCounter(0, nil)
	rf := &readFilter{counter: c, window: lookupWindow}
	now := time.Now()
	rf.read("a", "k", now)
	rf.write("a", "k", now) // the set's lookup
	rf.read("a", "k", now)
	rf.read("b", "k", now)
	rf.write("a", "j", now) // another key: both reads stand
	rf.flush(now.Add(lookupWindow))
	r := c.Report(HotFetchers, 0, 0)
	if r.Accesses != 2 || len(r.Keys) != 2 {
		t.Fatalf("%+v", r.Keys)
	}
	rf.read("a", "late", now)
	rf.write("a", "late", now.Add(2*lookupWindow)) // too late to be its lookup
	rf.flush(now.Add(3 * lookupWindow))
	if r := c.Report(HotFetchers, 0, 0); r.Accesses != 3 {
		t.Fatalf("late write: %+v", r.Keys)
	}
}

func TestHotCounterBoundsKeyLength(t *testing.T) {
	c := NewHotCounter(0, nil)
	long := string(make([]byte, 3*MaxHotKeyLen))
	c.Command("n", long+"a")
	c.Command("n", long+"b")
	r := c.Report(HotMonitor, 0, 0)
	if r.LongKeys != 2 || len(r.Keys) != 1 || len(r.Keys[0].Key) != MaxHotKeyLen || r.Keys[0].Count != 2 {
		t.Fatalf("%d long, keys %d", r.LongKeys, len(r.Keys))
	}
}
