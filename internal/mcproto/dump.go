package mcproto

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"strings"
	"time"
)

// DumpEntry is one key of a server's listing.
type DumpEntry struct {
	Key string
	// Exp is when the item expires, as a Unix time; 0 means never.
	Exp int64
	// LastAccess is the Unix time of the last access; 0 when unknown.
	LastAccess int64
	// Size is the item's size: metadump counts the whole item (key, value
	// and overhead), cachedump the value alone.
	Size int64
	// Class is the slab class; 0 when unknown.
	Class int
}

var (
	// ErrDumpDisabled: the server was started with -X (--disable-dumping);
	// it lists no keys at all.
	ErrDumpDisabled = errors.New("the server refuses to list keys (started with -X / --disable-dumping)")
	// ErrNoCrawler: lru_crawler metadump is unavailable (crawler disabled, or
	// memcached older than 1.4.31); stats cachedump may still work.
	ErrNoCrawler = errors.New("lru_crawler metadump is unavailable")
)

// busyRetries bounds how long MetaDump waits for another crawl to finish.
const busyRetries = 100

// MetaDump streams every key of the server from "lru_crawler metadump all",
// calling fn for each. It retries while the crawler is busy with another
// request. An error from fn stops the dump; the connection is then unusable
// (the rest of the dump is unread), as it is after any error.
func (c *Conn) MetaDump(ctx context.Context, fn func(DumpEntry) error) error {
	defer c.watch(ctx)()
	for try := 0; ; try++ {
		if err := c.arm(ctx); err != nil {
			return err
		}
		c.w.WriteString("lru_crawler metadump all\r\n")
		if err := c.w.Flush(); err != nil {
			return c.fail(ctx, err)
		}
		err := c.readDump(ctx, fn)
		var busy busyError
		if !errors.As(err, &busy) || try >= busyRetries {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

type busyError string

func (e busyError) Error() string { return "the LRU crawler stayed busy: " + string(e) }

func (c *Conn) readDump(ctx context.Context, fn func(DumpEntry) error) error {
	for n := 0; ; n++ {
		if n%1024 == 1023 { // keep the deadline moving while the dump flows
			if err := c.arm(ctx); err != nil {
				return c.fail(ctx, err)
			}
		}
		line, err := c.readLine()
		if err != nil {
			return c.fail(ctx, err)
		}
		if bytes.HasPrefix(line, []byte("key=")) {
			e, err := parseMetaDumpLine(line)
			if err != nil {
				return c.fail(ctx, err)
			}
			if err := fn(e); err != nil {
				c.broken = errors.New("a key listing was abandoned mid-way")
				return err
			}
			continue
		}
		s := string(line)
		switch {
		case s == "END":
			return nil
		case s == "OK" || s == "":
			// 1.6.x prints OK before or after the dump depending on the version.
			continue
		case strings.HasPrefix(s, "BUSY"):
			return busyError(s)
		case s == "ERROR metadump not allowed":
			return ErrDumpDisabled
		case s == "ERROR" || strings.HasPrefix(s, "CLIENT_ERROR"):
			// "CLIENT_ERROR lru crawler disabled", or an unknown command on
			// servers that predate metadump.
			return ErrNoCrawler
		}
		return c.fail(ctx, unexpected(line))
	}
}

// parseMetaDumpLine reads "key=<percent-encoded> exp=N la=N cas=N fetch=yes
// cls=N size=N" (fields may be added or missing; unknown ones are ignored).
func parseMetaDumpLine(line []byte) (DumpEntry, error) {
	var e DumpEntry
	haveKey := false
	for rest := line; len(rest) > 0; {
		// Fields by hand: bytes.Fields would allocate for every one of a
		// million lines.
		var tok []byte
		if i := bytes.IndexByte(rest, ' '); i >= 0 {
			tok, rest = rest[:i], rest[i+1:]
		} else {
			tok, rest = rest, nil
		}
		if len(tok) == 0 {
			continue
		}
		name, value, ok := bytes.Cut(tok, []byte("="))
		if !ok {
			continue // e.g. the bare "b" flag of a binary key on some versions
		}
		var err error
		switch string(name) {
		case "key":
			var k []byte
			k, err = percentDecode(value)
			e.Key, haveKey = string(k), true
		case "exp":
			e.Exp, err = atoi(value)
			if e.Exp < 0 {
				e.Exp = 0
			}
		case "la":
			e.LastAccess, err = atoi(value)
		case "size":
			e.Size, err = atoi(value)
		case "cls":
			var n int64
			n, err = atoi(value)
			e.Class = int(n)
		}
		if err != nil {
			return e, &ProtocolError{What: "bad metadump field " + strconv.Quote(string(tok))}
		}
	}
	if !haveKey || e.Key == "" {
		return e, &ProtocolError{What: "a metadump line without a key"}
	}
	return e, nil
}

// atoi parses a decimal integer (with an optional minus sign) without the
// string conversion strconv needs.
func atoi(b []byte) (int64, error) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 18 {
		return 0, strconv.ErrSyntax
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, strconv.ErrSyntax
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	return n, nil
}

// percentDecode undoes memcached's URI encoding of keys: %XX for every byte
// outside [A-Za-z0-9-._~]. It is strict: a malformed escape is an error, as
// guessing would list a key that does not exist.
func percentDecode(s []byte) ([]byte, error) {
	if bytes.IndexByte(s, '%') < 0 {
		return s, nil
	}
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			out = append(out, s[i])
			continue
		}
		if i+2 >= len(s) {
			return nil, &ProtocolError{What: "a truncated %-escape in a key"}
		}
		h, ok1 := unhex(s[i+1])
		l, ok2 := unhex(s[i+2])
		if !ok1 || !ok2 {
			return nil, &ProtocolError{What: "a bad %-escape in a key"}
		}
		out = append(out, h<<4|l)
		i += 2
	}
	return out, nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// CacheDump lists keys with "stats cachedump", class by class. The listing is
// partial: the server caps each class's answer (about 2 MB), walks only the
// COLD segment of each LRU (items written in the last second or so are not
// there yet) and skips keys stored in binary form. Use it only where metadump
// is unavailable, and say so.
func (c *Conn) CacheDump(ctx context.Context, fn func(DumpEntry) error) error {
	items, err := c.Stats(ctx, "items")
	if err != nil {
		return err
	}
	var classes []int
	for _, kv := range items {
		// items:<class>:number <count>
		rest, ok := strings.CutPrefix(kv[0], "items:")
		if !ok {
			continue
		}
		cls, field, ok := strings.Cut(rest, ":")
		if !ok || field != "number" {
			continue
		}
		if n, err := strconv.Atoi(cls); err == nil {
			classes = append(classes, n)
		}
	}
	if len(classes) == 0 {
		classes = []int{1} // an empty server: still learn whether dumping is allowed
	}
	defer c.watch(ctx)()
	for _, cls := range classes {
		if err := c.arm(ctx); err != nil {
			return err
		}
		c.w.WriteString("stats cachedump " + strconv.Itoa(cls) + " 0\r\n")
		if err := c.w.Flush(); err != nil {
			return c.fail(ctx, err)
		}
		for {
			line, err := c.readLine()
			if err != nil {
				return c.fail(ctx, err)
			}
			if string(line) == "END" {
				break
			}
			if bytes.HasPrefix(line, []byte("CLIENT_ERROR")) && bytes.Contains(line, []byte("not allowed")) {
				return ErrDumpDisabled
			}
			e, ok := parseCacheDumpLine(line)
			if !ok {
				return c.fail(ctx, unexpected(line))
			}
			e.Class = cls
			if err := fn(e); err != nil {
				c.broken = errors.New("a key listing was abandoned mid-way")
				return err
			}
		}
	}
	return nil
}

// parseCacheDumpLine reads "ITEM <key> [<size> b; <exptime> s]". The key is
// raw, so it is taken up to the last " [".
func parseCacheDumpLine(line []byte) (DumpEntry, bool) {
	rest, ok := bytes.CutPrefix(line, []byte("ITEM "))
	if !ok {
		return DumpEntry{}, false
	}
	i := bytes.LastIndex(rest, []byte(" ["))
	if i <= 0 || !bytes.HasSuffix(rest, []byte(" s]")) {
		return DumpEntry{}, false
	}
	key, meta := rest[:i], rest[i+2:len(rest)-3]
	sizeStr, expStr, ok := bytes.Cut(meta, []byte(" b; "))
	if !ok {
		return DumpEntry{}, false
	}
	size, err1 := strconv.ParseInt(string(sizeStr), 10, 64)
	exp, err2 := strconv.ParseInt(string(expStr), 10, 64)
	if err1 != nil || err2 != nil {
		return DumpEntry{}, false
	}
	if exp < 0 {
		exp = 0
	}
	return DumpEntry{Key: string(key), Size: size, Exp: exp}, true
}
