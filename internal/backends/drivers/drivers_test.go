package drivers

import (
	"context"
	"slices"
	"testing"

	"github.com/cachectl/cachectl/internal/backends"
)

func TestKinds(t *testing.T) {
	all := All()
	for raw, want := range map[string]string{
		"redis://h": "redis", "REDISS://h": "redis", "unix:///tmp/r.sock": "redis",
		"redis+sentinel://h/m": "redis", "rediss+cluster://a,b": "redis",
		"memcached://a:1,b:2": "memcached", "http://h": "http", "https://h": "http",
		"mongodb://h": "mongodb", "redis://u:p/w@h": "",
	} {
		if got := all.Kind(raw); got != want {
			t.Errorf("Kind(%q) = %q, want %q", raw, got, want)
		}
	}
}

func TestEachSchemeHasOneDriver(t *testing.T) {
	seen := map[string]string{}
	for _, d := range All() {
		for _, s := range append(append([]string{}, d.Schemes...), d.Unlisted...) {
			if k, ok := seen[s]; ok {
				t.Errorf("scheme %s is served by %s and %s", s, k, d.Kind)
			}
			seen[s] = d.Kind
		}
	}
}

func TestUnknownSchemeListsTheTable(t *testing.T) {
	_, err := All().Open(context.Background(), "mongodb://u:pw@h", backends.Options{})
	want := `invalid cache URL mongodb://u:***@h: unknown scheme "mongodb" (want redis://, rediss://, unix://, redis+sentinel://, redis+cluster://, memcached://, http://, https://, http+unix://)`
	if err == nil || err.Error() != want {
		t.Fatalf("got  %v\nwant %s", err, want)
	}
}

func TestSentinelAndClusterOpenWithoutDialling(t *testing.T) {
	// Opening is lazy: nothing listens on these ports, and Open still succeeds.
	for raw, capability := range map[string]string{
		"redis+sentinel://127.0.0.1:1/m":           "sentinel",
		"rediss+sentinel://127.0.0.1:1/m":          "sentinel",
		"redis+cluster://127.0.0.1:1,127.0.0.1:2":  "cluster",
		"rediss+cluster://127.0.0.1:1,127.0.0.1:2": "cluster",
	} {
		b, err := All().Open(context.Background(), raw, backends.Options{})
		if err != nil {
			t.Errorf("%s: %v", raw, err)
			continue
		}
		if info := b.Describe(); info.Kind != "redis" || !slices.Contains(info.Capabilities, capability) {
			t.Errorf("%s: %+v, want kind redis with %q", raw, info, capability)
		}
		b.Close()
	}
}
