package drivers

import (
	"context"
	"errors"
	"strings"
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
	want := `invalid cache URL mongodb://u:***@h: unknown scheme "mongodb" (want redis://, rediss://, unix://, redis+sentinel://, redis+cluster://, memcached://, http://, https://)`
	if err == nil || err.Error() != want {
		t.Fatalf("got  %v\nwant %s", err, want)
	}
}

func TestSentinelAndClusterAreNotSupportedYet(t *testing.T) {
	for _, raw := range []string{"redis+sentinel://h:26379/m", "rediss+sentinel://h:26379/m", "redis+cluster://a:1,b:2", "rediss+cluster://a:1,b:2"} {
		_, err := All().Open(context.Background(), raw, backends.Options{})
		var ue *backends.UnsupportedError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), "not supported yet") {
			t.Errorf("%s: %v", raw, err)
		}
	}
}
