package mcproto

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"strings"
	"time"
)

// LogEntry is one line of memcached's log stream ("watch"), as 1.6 writes:
//
//	ts=1700000000.12345 gid=3 type=item_store key=foo status=stored cmd=set ttl=0 clsid=1 cfd=25 size=3
//	ts=… gid=… type=item_get key=foo status=found clsid=1 cfd=25 size=3
//	ts=… gid=… type=eviction key=k0 fetch=no ttl=100 la=0 clsid=29 size=50000
//	ts=… gid=… type=deleted key=foo cmd=delete clsid=1 size=3
//
// Keys are percent-encoded, binary ones (meta "b" keys) included.
type LogEntry struct {
	Time   time.Time
	Type   string // item_store, item_get, eviction, deleted, …
	Key    string // decoded; "" for entries without one
	Status string // item_store, item_get: stored, found, not_found, expired, …
	Cmd    string // item_store, deleted: set, add, append, cas, delete, md, …
	// Skipped is how many entries the server dropped because this watcher
	// fell behind (a line naming them instead of an entry); 0 otherwise.
	Skipped int64
	// Unreadable is, for a line the parser refused (Type "unreadable"),
	// why: the stream goes on (its lines are still framed), the entry is
	// lost.
	Unreadable error
}

// maxLogLine bounds what ParseLogLine looks at; memcached's own entries
// are at most 2 KiB.
const maxLogLine = 8 << 10

// ParseLogLine reads one line of the log stream. A line it cannot read is
// an error, never a guessed event; fields it does not know are ignored.
func ParseLogLine(line []byte) (LogEntry, error) {
	var e LogEntry
	if len(line) > maxLogLine {
		return e, &ProtocolError{What: "a log line longer than 8 KiB"}
	}
	if !bytes.HasPrefix(line, []byte("ts=")) {
		// The server's note that entries were dropped: "[skipped: N]" and
		// variants; the figure is taken where there is one.
		if i := bytes.Index(line, []byte("skipped")); i >= 0 {
			e.Type = "skipped"
			e.Skipped = 1
			digits := strings.TrimLeft(string(line[i+len("skipped"):]), ":= ")
			if end := strings.IndexFunc(digits, func(r rune) bool { return r < '0' || r > '9' }); end >= 0 {
				digits = digits[:end]
			}
			if n, err := strconv.ParseInt(digits, 10, 64); err == nil && n > 0 {
				e.Skipped = n
			}
			return e, nil
		}
		return e, &ProtocolError{What: "a log line without ts=: " + strconv.Quote(truncate(line))}
	}
	haveTime := false
	for _, tok := range bytes.Fields(line) {
		name, value, ok := bytes.Cut(tok, []byte("="))
		if !ok {
			continue
		}
		var err error
		switch string(name) {
		case "ts":
			e.Time, err = parseLogTime(value)
			haveTime = err == nil
		case "type":
			e.Type = string(value)
		case "key":
			var k []byte
			k, err = percentDecode(value)
			e.Key = string(k)
		case "status":
			e.Status = string(value)
		case "cmd":
			e.Cmd = string(value)
		}
		if err != nil {
			return e, &ProtocolError{What: "bad log field " + strconv.Quote(truncate(tok))}
		}
	}
	if !haveTime || e.Type == "" {
		return e, &ProtocolError{What: "a log line without a time or type: " + strconv.Quote(truncate(line))}
	}
	return e, nil
}

// parseLogTime reads "SECONDS.MICROSECONDS". memcached prints the
// microseconds as a plain number, not zero-padded (".33220" is 33220 µs,
// i.e. .033220), so the digits are a count, not a fraction.
func parseLogTime(b []byte) (time.Time, error) {
	secs, usecs, ok := bytes.Cut(b, []byte("."))
	s, err := atoi(secs)
	if err != nil || s < 0 {
		return time.Time{}, strconv.ErrSyntax
	}
	var us int64
	if ok {
		if us, err = atoi(usecs); err != nil || us < 0 || us > 999999 {
			return time.Time{}, strconv.ErrSyntax
		}
	}
	return time.Unix(s, us*1000), nil
}

func truncate(b []byte) string {
	if len(b) > 80 {
		return string(b[:80]) + "…"
	}
	return string(b)
}

// ErrWatchRefused: the server answered ERROR to a watch command: it
// predates watch or one of the flags asked for.
var ErrWatchRefused = errors.New("the server refused the watch command")

// Watch turns the connection into a log stream ("watch FLAGS…") and hands
// each entry to fn until ctx ends, the stream fails or fn returns an error;
// a line that does not parse is handed over as an "unreadable" entry.
// started is called once the server has accepted the flags. The connection
// is unusable for anything else afterwards.
func (c *Conn) Watch(ctx context.Context, flags []string, started func(), fn func(LogEntry) error) error {
	if err := c.arm(ctx); err != nil {
		return err
	}
	defer c.watch(ctx)()
	if _, err := c.w.WriteString("watch " + strings.Join(flags, " ") + "\r\n"); err != nil {
		return c.fail(ctx, err)
	}
	if err := c.w.Flush(); err != nil {
		return c.fail(ctx, err)
	}
	line, err := c.readLine()
	if err != nil {
		return c.fail(ctx, err)
	}
	switch s := string(line); {
	case s == "OK":
	case s == "ERROR" || strings.HasPrefix(s, "CLIENT_ERROR"):
		return ErrWatchRefused
	default:
		return c.fail(ctx, unexpected(line))
	}
	c.broken = errors.New("the connection streams a watch")
	// A quiet cache sends nothing for as long as it likes: no deadline;
	// ctx (through c.watch) ends a blocked read.
	if err := c.nc.SetDeadline(time.Time{}); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err // cancelled before the deadline was lifted: c.watch's was undone
	}
	started()
	for {
		line, err := c.readLine()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
		if len(line) == 0 {
			continue
		}
		e, err := ParseLogLine(line)
		if err != nil {
			// One bad line (an older server's unencoded key, a lying one)
			// loses that entry only: the next line is read as usual.
			e = LogEntry{Type: "unreadable", Unreadable: err}
		}
		if err := fn(e); err != nil {
			return err
		}
	}
}
