package commands

import (
	"path/filepath"
	"strings"
	"testing"
)

// workerPool is three in-process caches as the workers of one app, and the
// URL naming them all (the server-list form).
func workerPool(t *testing.T) ([]*memCache, string) {
	t.Helper()
	var cs []*memCache
	var hosts []string
	for range 3 {
		c := startMemCache(t)
		cs = append(cs, c)
		hosts = append(hosts, strings.TrimPrefix(c.URL, "http://"))
	}
	return cs, "http://" + strings.Join(hosts, ",")
}

func host(c *memCache) string { return strings.TrimPrefix(c.URL, "http://") }

func TestInprocWorkersPrint(t *testing.T) {
	cs, url := workerPool(t)
	for i, c := range cs {
		c.seed(t, "shared", "same", "own:"+string(rune('a'+i)), "x")
	}
	run := func(s streams, args ...string) *memRun {
		return cs[0].runIn(t, s, nil, "", append([]string{"-u", url}, args...)...)
	}
	run(pipe, "keys").expectLines(t, "shared", "own:a", "own:b", "own:c")

	// -l: every worker's copy, naming its worker.
	var want []string
	for i, c := range cs {
		want = append(want, "string\t-\t4\tstring\t"+host(c)+"\tshared", "string\t-\t1\tstring\t"+host(c)+"\town:"+string(rune('a'+i)))
	}
	run(pipe, "keys", "-l").expectLines(t, want...)
	if out := run(tty, "keys", "-l").out(); !strings.Contains(strings.SplitN(out, "\n", 2)[0], "WORKER") {
		t.Fatalf("the -l header names no worker column:\n%s", out)
	}
	if out := run(pipe, "keys", "own:b", "-l", "-o", "jsonl").out(); !strings.Contains(out, `"server":"`+host(cs[1])+`"`) {
		t.Fatalf("jsonl: %s", out)
	}

	// get names the worker that answered, and says when copies differ.
	cs[2].seed(t, "shared", "stale")
	g := run(pipe, "get", "shared", "-l")
	if g.code != 0 || !strings.Contains(g.out(), "worker: "+host(cs[0])) || !strings.Contains(g.err(), "different copies of shared") || !strings.Contains(g.err(), host(cs[2])+" (5 bytes)") {
		t.Fatalf("get -l: exit %d\n%s\n%s", g.code, g.out(), g.err())
	}
	if out := run(pipe, "get", "own:c", "-o", "json").out(); !strings.Contains(out, `"server":"`+host(cs[2])+`"`) {
		t.Fatalf("get -o json: %s", out)
	}

	// Writes reach every worker and say so.
	s := run(pipe, "set", "k", "v")
	if s.code != 0 || s.err() != "stored k on 3 of 3 workers\n" {
		t.Fatalf("set: exit %d %q", s.code, s.err())
	}
	for i, c := range cs {
		c.wantKeys(t, "k", "shared", "own:"+string(rune('a'+i)))
	}
	if out := run(pipe, "set", "k2", "v", "-o", "json").out(); !strings.Contains(out, `"workers":{"of":3,"done":3,"missing":0}`) {
		t.Fatalf("set -o json: %s", out)
	}
	e := run(pipe, "expire", "own:a", "60")
	if e.code != 0 || e.err() != "own:a now has 1m on 1 of 3 workers (2 did not hold it)\n" {
		t.Fatalf("expire: exit %d %q", e.code, e.err())
	}
	d := run(pipe, "del", "k", "own:b", "nope")
	if d.code != 0 || d.out() != "2\n" || d.err() != "deleted 4 copies on 3 of 3 workers\n" {
		t.Fatalf("del: exit %d %q %q", d.code, d.out(), d.err())
	}

	// stats: a row per worker, the count in the topology line.
	st := run(pipe, "stats")
	if st.code != 0 || !strings.Contains(st.out(), "3 workers (3 up)") || !strings.Contains(st.out(), "WORKER") || !strings.Contains(st.out(), host(cs[1])) {
		t.Fatalf("stats: exit %d\n%s\n%s", st.code, st.out(), st.err())
	}
	if out := run(pipe, "stats", "-o", "json").out(); !strings.Contains(out, `"workers":3`) || !strings.Contains(out, `"workers_up":3`) || strings.Count(out, `"address":"127.0.0.1:`) != 3 {
		t.Fatalf("stats -o json: %s", out)
	}
}

func TestInprocWorkersInvalidate(t *testing.T) {
	cs, url := workerPool(t)
	for i, c := range cs {
		c.seed(t, "user:1", "x", "keep", "x")
		if i > 0 {
			c.seed(t, "user:2", "x")
		}
	}
	run := func(s streams, args ...string) *memRun {
		return cs[0].runIn(t, s, nil, "", append([]string{"-u", url}, args...)...)
	}
	dry := run(pipe, "invalidate", "user:*", "--dry-run")
	want := "5 key(s) match user:* (dry run: nothing deleted)\n"
	if dry.code != 0 || !strings.HasPrefix(dry.out(), want) || !strings.Contains(dry.out(), "  worker "+host(cs[1])+": 2 match\n") {
		t.Fatalf("dry run: exit %d\n%s", dry.code, dry.out())
	}
	r := run(pipe, "invalidate", "user:*", "--yes")
	if r.code != 0 || !strings.Contains(r.out(), "deleted 5 key(s) matching user:*") ||
		!strings.Contains(r.out(), "  worker "+host(cs[0])+": deleted 1\n  worker "+host(cs[1])+": deleted 2\n  worker "+host(cs[2])+": deleted 2\n") {
		t.Fatalf("invalidate: exit %d\n%s\n%s", r.code, r.out(), r.err())
	}
	for _, c := range cs {
		c.wantKeys(t, "keep")
	}

	// A dead worker: the others are done, the JSON says which one was not.
	dead := deadURL(t)
	for _, c := range cs {
		c.seed(t, "user:1", "x")
	}
	url += "," + strings.TrimPrefix(dead, "http://")
	j := run(pipe, "invalidate", "user:*", "--yes", "-o", "json")
	if j.code != 1 || !strings.Contains(j.out(), `"deleted":3`) || !strings.Contains(j.out(), `"workers":true`) ||
		!strings.Contains(j.out(), `"node":"`+strings.TrimPrefix(dead, "http://")+`"`) || !strings.Contains(j.out(), `"error":"cannot reach`) ||
		!strings.Contains(j.err(), "invalidated on 3 of 4 workers") {
		t.Fatalf("invalidate with a dead worker: exit %d\n%s\n%s", j.code, j.out(), j.err())
	}
	for _, c := range cs {
		c.wantKeys(t, "keep")
	}
	k := run(pipe, "keys")
	if k.code != 1 || k.out() != "keep\n" || !strings.Contains(k.err(), "listed on 3 of 4 workers; "+strings.TrimPrefix(dead, "http://")+": cannot reach") {
		t.Fatalf("keys with a dead worker: exit %d %q %q", k.code, k.out(), k.err())
	}
}

// TestInprocWorkersRestore: an invalidate --backup of every worker, then a
// worker that filled its cache again: restore writes the key back to the
// workers that lost it, leaves the copy of the one that holds it, and counts
// the key once.
func TestInprocWorkersRestore(t *testing.T) {
	cs, url := workerPool(t)
	for _, c := range cs {
		c.seed(t, "page:/", "old")
	}
	run := func(args ...string) *memRun {
		return cs[0].runIn(t, pipe, nil, "", append([]string{"-u", url}, args...)...)
	}
	file := filepath.Join(t.TempDir(), "b.jsonl")
	if r := run("invalidate", "page:*", "--yes", "--backup", file); r.code != 0 {
		t.Fatalf("invalidate: exit %d\n%s", r.code, r.err())
	}
	cs[1].seed(t, "page:/", "fresh")
	r := run("restore", file, "-o", "json")
	if r.code != 0 || !strings.Contains(r.out(), `"restored":1,"kept":2`) {
		t.Fatalf("restore: exit %d\n%s\n%s", r.code, r.out(), r.err())
	}
	for i, want := range []string{"old", "fresh", "old"} {
		if e, ok := cs[i].entry(t, "page:/"); !ok || string(e.Value) != want {
			t.Fatalf("worker %d holds %q (%v), want %q", i, e.Value, ok, want)
		}
	}
}
