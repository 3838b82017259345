package analyze

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestAnalyzerTotalsAndBuckets(t *testing.T) {
	a := New(Options{})
	items := []Item{
		{Key: "user:1:profile", Bytes: 100, Format: "json"},
		{Key: "user:2:profile", Bytes: 50, HasTTL: true, Remaining: 30 * time.Second, Format: "json"},
		{Key: "user:2:avatar", Bytes: 4000, HasTTL: true, Remaining: 59 * time.Minute, Format: "bytes"},
		{Key: "page:/home", Bytes: 7, HasTTL: true, Remaining: 23 * time.Hour, Format: "pickle"},
		{Key: "flag", Bytes: -1, HasTTL: true, Remaining: 48 * time.Hour},
		{Key: "mc", Bytes: 3, TTLUnknown: true, Format: "text"},
	}
	for _, it := range items {
		a.Add(it)
	}
	r := a.Result()
	if r.Keys != 6 || r.Bytes != 4160 || r.UnknownBytes != 1 || r.NoTTL != 1 {
		t.Fatalf("totals %+v", r.Totals)
	}
	want := TTLBuckets{None: 1, Lt1m: 1, Lt1h: 1, Lt1d: 1, Longer: 1, Unknown: 1}
	if r.TTL != want {
		t.Fatalf("ttl %+v, want %+v", r.TTL, want)
	}
	if r.Formats["json"] != 2 || r.Formats["pickle"] != 1 || r.Formats["bytes"] != 1 || len(r.Formats) != 4 {
		t.Fatalf("formats %v", r.Formats)
	}
	got := map[string]Prefix{}
	for _, p := range r.Prefixes {
		got[p.Prefix] = p
	}
	if len(got) != 4 {
		t.Fatalf("prefixes %+v", r.Prefixes)
	}
	if p := got["user:"]; p.Keys != 3 || p.Bytes != 4150 || p.NoTTL != 1 || p.Depth != 1 || p.Approximate {
		t.Fatalf("user: %+v", p)
	}
	if p := got["user:2:"]; p.Keys != 2 || p.Bytes != 4050 || p.Depth != 2 {
		t.Fatalf("user:2: %+v", p)
	}
	if p := got["page:"]; p.Keys != 1 {
		t.Fatalf("page: %+v", p)
	}
	if r.Prefixes[0].Prefix != "user:" || r.Prefixes[1].Prefix != "user:2:" {
		t.Fatalf("not biggest first: %+v", r.Prefixes)
	}
	if r.Biggest[0].Key != "user:2:avatar" || r.Biggest[0].TTL == nil || len(r.Biggest) != 5 {
		t.Fatalf("biggest %+v", r.Biggest)
	}
}

func TestAnalyzerBiggestIsTheTopOfASort(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for round := 0; round < 50; round++ {
		top := 1 + rng.IntN(15)
		a := New(Options{Top: top})
		var all []Big
		for i := range rng.IntN(400) {
			b := int64(rng.IntN(200))
			k := strings.Repeat("k", 1+rng.IntN(3)) + string(rune('a'+i%26)) + string(rune('0'+i%10)) + strings.Repeat("x", i)
			a.Add(Item{Key: k, Bytes: b})
			all = append(all, Big{Key: k, Bytes: b})
		}
		slices.SortFunc(all, func(x, y Big) int {
			if x.Bytes != y.Bytes {
				return cmpDesc(x.Bytes, y.Bytes)
			}
			return strings.Compare(x.Key, y.Key)
		})
		got := a.Result().Biggest
		if len(got) != min(top, len(all)) {
			t.Fatalf("round %d: %d biggest, want %d", round, len(got), min(top, len(all)))
		}
		for i := range got {
			if got[i].Bytes != all[i].Bytes {
				t.Fatalf("round %d: #%d has %d bytes, want %d", round, i, got[i].Bytes, all[i].Bytes)
			}
		}
	}
}

func TestAnalyzerPrefixesAreBounded(t *testing.T) {
	a := New(Options{Depth: 3, Delimiter: "::", Capacity: 50})
	huge := strings.Repeat("\x1b[31m", 100000) + "::tail"
	a.Add(Item{Key: huge, Bytes: 1})
	for i := range 1000 {
		a.Add(Item{Key: "a::" + strings.Repeat("b", i%97) + "::c::d", Bytes: 1})
	}
	r := a.Result()
	if !r.PrefixesApproximate {
		t.Fatal("1000 distinct prefixes in 50 rows is not approximate")
	}
	if len(r.Prefixes) > 50 {
		t.Fatalf("%d rows in capacity 50", len(r.Prefixes))
	}
	for _, p := range r.Prefixes {
		if len(p.Prefix) > maxPrefix {
			t.Fatalf("a %d-byte prefix was kept", len(p.Prefix))
		}
		if p.Prefix == "a::" && (p.Keys != 1000 || p.Approximate) {
			t.Fatalf("the dominant prefix lost its exact count: %+v", p)
		}
	}
	if r.Keys != 1001 {
		t.Fatalf("keys %d", r.Keys)
	}
}

func TestAnalyzerTargets(t *testing.T) {
	a := New(Options{})
	a.Add(Item{Key: "app.svcget_user(1,)[]", Bytes: 10, Target: TargetKey{"aiocache", "cached result", "app.svc.get_user"}})
	a.Add(Item{Key: "app.svcget_user(2,)[]", Bytes: 30, Target: TargetKey{"aiocache", "cached result", "app.svc.get_user"}, HasTTL: true, Remaining: time.Minute})
	a.Add(Item{Key: "app.svclist()[]", Bytes: 5, Target: TargetKey{"aiocache", "cached result", "app.svc.list"}})
	r := a.Result()
	if len(r.Targets) != 2 || r.Targets[0].Name != "app.svc.get_user" || r.Targets[0].Framework != "aiocache" || r.Targets[0].What != "cached result" || r.Targets[0].Keys != 2 || r.Targets[0].Bytes != 40 || r.Targets[0].NoTTL != 1 {
		t.Fatalf("targets %+v", r.Targets)
	}
}

func TestAnalyzerNodesSumToTheTotal(t *testing.T) {
	a := New(Options{})
	nodes := []string{"10.0.0.1:7000", "10.0.0.2:7000", "10.0.0.3:7000"}
	for i := range 300 {
		a.Add(Item{Key: "k:" + strings.Repeat("x", i), Bytes: int64(i), Node: nodes[i%3], Format: "json", LengthSized: i%2 == 0, HasTTL: i%5 == 0, Remaining: time.Hour})
	}
	r := a.Result()
	if len(r.Nodes) != 3 {
		t.Fatalf("%d nodes", len(r.Nodes))
	}
	var keys, bytes, noTTL, fk, ls int64
	for _, n := range r.Nodes {
		keys, bytes, noTTL, fk, ls = keys+n.Keys, bytes+n.Bytes, noTTL+n.NoTTL, fk+n.FormatKeys, ls+n.LengthSized
	}
	if keys != r.Keys || bytes != r.Bytes || noTTL != r.NoTTL || fk != r.FormatKeys || ls != r.LengthSized {
		t.Fatalf("nodes sum to %d keys %d bytes %d no_ttl %d format %d length-sized; totals %+v", keys, bytes, noTTL, fk, ls, r.Totals)
	}
	if r.FormatKeys != 300 || r.LengthSized != 150 {
		t.Fatalf("totals %+v", r.Totals)
	}
}

func TestAnalyzerNodesAreBounded(t *testing.T) {
	a := New(Options{})
	for i := range maxNodes + 50 {
		a.Add(Item{Key: "k", Bytes: 1, Node: strings.Repeat("n", 1+i%300) + string(rune('a'+i%26)) + strings.Repeat("z", i/300)})
	}
	r := a.Result()
	if len(r.Nodes) > maxNodes+1 {
		t.Fatalf("%d nodes kept", len(r.Nodes))
	}
	var keys int64
	for _, n := range r.Nodes {
		keys += n.Keys
		if len(n.Address) > maxPrefix {
			t.Fatalf("a %d-byte node name kept", len(n.Address))
		}
	}
	if keys != r.Keys {
		t.Fatalf("nodes hold %d of %d keys", keys, r.Keys)
	}
}

func TestAnalyzerUntargeted(t *testing.T) {
	a := New(Options{Targets: true})
	a.Add(Item{Key: "app.svcget_user(1,)[]", Bytes: 10, Target: TargetKey{"aiocache", "cached result", "app.svc.get_user"}})
	a.Add(Item{Key: "user:1", Bytes: 7})
	a.Add(Item{Key: "user:2", Bytes: -1})
	if u := a.Result().Untargeted; u == nil || *u != (Untargeted{Keys: 2, Bytes: 7}) {
		t.Fatalf("untargeted %+v, want 2 keys, 7 bytes", u)
	}
	b := New(Options{})
	b.Add(Item{Key: "user:1", Bytes: 7})
	if u := b.Result().Untargeted; u != nil {
		t.Fatalf("untargeted %+v without targets, want none", u)
	}
}
