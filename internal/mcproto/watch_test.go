package mcproto

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

func TestParseLogLine(t *testing.T) {
	tests := []struct {
		name string
		line string
		want LogEntry
		err  bool
	}{
		{name: "store", line: "ts=1796312899.531625 gid=3 type=item_store key=foo status=stored cmd=set ttl=0 clsid=1 cfd=25 size=3",
			want: LogEntry{Time: time.Unix(1796312899, 531625000), Type: "item_store", Key: "foo", Status: "stored", Cmd: "set"}},
		// memcached prints the microseconds unpadded: .33220 is 33220 µs.
		{name: "unpadded microseconds", line: "ts=1796312900.33220 gid=17 type=item_get key=foo status=found clsid=1 cfd=25 size=3",
			want: LogEntry{Time: time.Unix(1796312900, 33220000), Type: "item_get", Key: "foo", Status: "found"}},
		{name: "binary key percent-encoded", line: "ts=1.5 gid=9 type=item_store key=a%01b%20%FF status=stored cmd=append ttl=0",
			want: LogEntry{Time: time.Unix(1, 5000), Type: "item_store", Key: "a\x01b \xff", Status: "stored", Cmd: "append"}},
		{name: "eviction", line: "ts=2.0 gid=4 type=eviction key=k0 fetch=no ttl=100 la=0 clsid=29 size=50000",
			want: LogEntry{Time: time.Unix(2, 0), Type: "eviction", Key: "k0"}},
		{name: "deletion", line: "ts=3.1 gid=5 type=deleted key=vfoo cmd=md clsid=1 size=4",
			want: LogEntry{Time: time.Unix(3, 1000), Type: "deleted", Key: "vfoo", Cmd: "md"}},
		{name: "skipped note", line: "[skipped: 42]", want: LogEntry{Type: "skipped", Skipped: 42}},
		{name: "skipped without figure", line: "skipped", want: LogEntry{Type: "skipped", Skipped: 1}},
		{name: "no ts", line: "gid=1 type=item_store key=x", err: true},
		{name: "bad ts", line: "ts=soon type=item_store key=x", err: true},
		{name: "microseconds out of range", line: "ts=1.1000000 type=item_store key=x", err: true},
		{name: "no type", line: "ts=1.1 key=x", err: true},
		{name: "bad escape", line: "ts=1.1 type=item_store key=a%zz", err: true},
		{name: "garbage", line: "VALUE x 0 1", err: true},
	}
	for _, tt := range tests {
		got, err := ParseLogLine([]byte(tt.line))
		if (err != nil) != tt.err {
			t.Fatalf("%s: error %v, want error %v", tt.name, err, tt.err)
		}
		if err == nil && (got.Key != tt.want.Key || got.Type != tt.want.Type || got.Status != tt.want.Status ||
			got.Cmd != tt.want.Cmd || got.Skipped != tt.want.Skipped || !got.Time.Equal(tt.want.Time)) {
			t.Fatalf("%s: %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

// FuzzParseLogLine: whatever a server (or something posing as one) sends,
// the parser never panics, and an entry it accepts has a type, a time
// unless it is a skipped note, and a key no longer than the line.
func FuzzParseLogLine(f *testing.F) {
	for _, s := range []string{
		"ts=1796312899.531625 gid=3 type=item_store key=foo status=stored cmd=set ttl=0 clsid=1 cfd=25 size=3",
		"ts=1796312900.33220 gid=17 type=item_get key=a%01b status=expired clsid=0 cfd=25 size=0",
		"ts=2.0 gid=4 type=eviction key=k0 fetch=no ttl=100 la=0 clsid=29 size=50000",
		"ts=3.1 gid=5 type=deleted key=vfoo cmd=md clsid=1 size=4",
		"[skipped: 42]", "ts=", "ts=.", "ts=-1.-1 type=x", "key=%", "ts=1 type=a key=%4",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		e, err := ParseLogLine(line)
		if err != nil {
			return
		}
		if e.Type == "" || e.Skipped == 0 && e.Time.IsZero() || len(e.Key) > len(line) || e.Skipped < 0 {
			t.Fatalf("%q parsed as %+v", line, e)
		}
	})
}

// FuzzWatchStream: whatever a server sends after the watch command (an
// answer other than OK, lines of any length and bytes, a stream cut
// anywhere), Watch never panics, calls started at most once and only after
// OK, hands over only entries with a type, and ends with an error once the
// stream does.
func FuzzWatchStream(f *testing.F) {
	for _, s := range []string{
		"OK\r\nts=1.1 gid=1 type=item_store key=a status=stored cmd=set\r\n[skipped: 3]\r\n",
		"OK\r\n\r\ngarbage\r\nts=1.1 type=deleted key=%zz\r\n",
		"ERROR\r\n", "CLIENT_ERROR bad flag\r\n", "VALUE x 0 1\r\n", "OK", "OK\r\nts=1.1 type=x key=" + strings.Repeat("k", 9<<10),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, stream []byte) {
		client, server := net.Pipe()
		go func() {
			buf := make([]byte, 256)
			_, _ = server.Read(buf) // the watch command
			_, _ = server.Write(stream)
			server.Close()
		}()
		c := NewConn(client, time.Second)
		defer c.Close()
		started := 0
		ended := make(chan error, 1)
		go func() {
			ended <- c.Watch(context.Background(), []string{"mutations"}, func() { started++ }, func(e LogEntry) error {
				if started != 1 || e.Type == "" || e.Type == "unreadable" && e.Unreadable == nil {
					return fmt.Errorf("entry %+v (started %d)", e, started)
				}
				return nil
			})
		}()
		var err error
		select {
		case err = <-ended:
		case <-time.After(5 * time.Second):
			t.Fatalf("Watch of %q did not end with the stream", stream)
		}
		if err == nil || started > 1 || strings.HasPrefix(err.Error(), "entry ") {
			t.Fatalf("Watch of %q: %v, started %d times", stream, err, started)
		}
	})
}
