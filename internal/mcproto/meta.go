package mcproto

import (
	"context"
	"encoding/base64"
	"errors"
	"strconv"
	"time"
)

// KeyError is a key memcached cannot store.
type KeyError struct {
	Reason string
}

func (e *KeyError) Error() string { return e.Reason }

// wireKey returns the key as sent on a meta command line: as is when it is a
// plain token, base64 (with the b flag) when it holds spaces or control
// bytes. The server decodes base64 keys, so both store the same key bytes.
func wireKey(key string) (string, bool, error) {
	if key == "" {
		return "", false, &KeyError{Reason: "memcached keys cannot be empty"}
	}
	if len(key) > MaxKeyLen {
		return "", false, &KeyError{Reason: "key is " + strconv.Itoa(len(key)) + " bytes; memcached allows at most 250"}
	}
	if !NeedsBase64(key) {
		return key, false, nil
	}
	enc := base64.StdEncoding.EncodeToString([]byte(key))
	if len(enc) > MaxKeyLen {
		// memcached checks the length of the encoded token too.
		return "", false, &KeyError{Reason: "a key with spaces or control bytes can be at most 186 bytes on memcached (it travels base64-encoded)"}
	}
	return enc, true, nil
}

// NeedsBase64 reports whether key cannot travel as a plain protocol token.
func NeedsBase64(key string) bool {
	for i := 0; i < len(key); i++ {
		if c := key[i]; c <= ' ' || c == 0x7f {
			return true
		}
	}
	return false
}

// CheckKey returns an error when memcached cannot store key.
func CheckKey(key string) error {
	_, _, err := wireKey(key)
	return err
}

// Item is what mg returns for one key.
type Item struct {
	Key   string
	Found bool
	Value []byte // nil unless the value was asked for
	Size  int64
	Flags uint32
	// TTL is the remaining lifetime in seconds, -1 for none.
	TTL int64
}

// GetMany looks keys up in one pipeline (quiet mg, then mn) and returns one
// Item per key, in order. withValue also fetches the values.
func (c *Conn) GetMany(ctx context.Context, keys []string, withValue bool) ([]Item, error) {
	items := make([]Item, len(keys))
	for i, k := range keys {
		items[i].Key = k
	}
	if len(keys) == 0 {
		return items, nil
	}
	if err := c.arm(ctx); err != nil {
		return nil, err
	}
	defer c.watch(ctx)()
	for i, k := range keys {
		wk, b, err := wireKey(k)
		if err != nil {
			return nil, err
		}
		c.w.WriteString("mg ")
		c.w.WriteString(wk)
		if b {
			c.w.WriteString(" b")
		}
		c.w.WriteString(" s t f q O")
		c.w.WriteString(strconv.Itoa(i))
		if withValue {
			c.w.WriteString(" v")
		}
		c.w.WriteString("\r\n")
	}
	c.w.WriteString("mn\r\n")
	if err := c.w.Flush(); err != nil {
		return nil, c.fail(ctx, err)
	}
	for {
		line, err := c.readLine()
		if err != nil {
			return nil, c.fail(ctx, err)
		}
		if string(line) == "MN" {
			return items, nil
		}
		code, flags := splitMeta(line)
		var size int64 = -1
		switch code {
		case "VA":
			if len(flags) == 0 {
				return nil, c.fail(ctx, unexpected(line))
			}
			n, err := strconv.ParseInt(flags[0], 10, 64)
			if err != nil || n < 0 || n > maxValueLen {
				return nil, c.fail(ctx, unexpected(line))
			}
			size, flags = n, flags[1:]
		case "HD":
		case "EN":
			continue
		default:
			return nil, c.fail(ctx, unexpected(line))
		}
		it, idx, err := parseItemFlags(flags, len(items))
		if err != nil {
			return nil, c.fail(ctx, err)
		}
		if size >= 0 {
			it.Value = make([]byte, size)
			if err := c.readValue(it.Value); err != nil {
				return nil, c.fail(ctx, err)
			}
		}
		it.Key, it.Found = items[idx].Key, true
		items[idx] = it
	}
}

// readValue reads a data block and its trailing \r\n.
func (c *Conn) readValue(dst []byte) error {
	if _, err := readFull(c, dst); err != nil {
		return err
	}
	var crlf [2]byte
	if _, err := readFull(c, crlf[:]); err != nil {
		return err
	}
	if crlf != [2]byte{'\r', '\n'} {
		return &ProtocolError{What: "a value not followed by \\r\\n"}
	}
	return nil
}

func readFull(c *Conn, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := c.r.Read(b[n:])
		n += m
		if err != nil {
			if n == len(b) {
				return n, nil
			}
			return n, err
		}
	}
	return n, nil
}

// splitMeta splits a meta response line into its code and flag tokens.
func splitMeta(line []byte) (string, []string) {
	var toks []string
	start := -1
	for i := 0; i <= len(line); i++ {
		if i == len(line) || line[i] == ' ' {
			if start >= 0 {
				toks = append(toks, string(line[start:i]))
				start = -1
			}
			continue
		}
		if start < 0 {
			start = i
		}
	}
	if len(toks) == 0 {
		return "", nil
	}
	return toks[0], toks[1:]
}

// parseItemFlags reads the s, t, f and O tokens of an mg hit.
func parseItemFlags(flags []string, n int) (Item, int, error) {
	it := Item{TTL: -1}
	idx := -1
	for _, f := range flags {
		if f == "" {
			continue
		}
		v := f[1:]
		var err error
		switch f[0] {
		case 's':
			it.Size, err = strconv.ParseInt(v, 10, 64)
		case 't':
			it.TTL, err = strconv.ParseInt(v, 10, 64)
		case 'f':
			var u uint64
			u, err = strconv.ParseUint(v, 10, 32)
			it.Flags = uint32(u)
		case 'O':
			idx, err = strconv.Atoi(v)
		}
		if err != nil {
			return it, 0, &ProtocolError{What: "bad meta flag " + strconv.Quote(f)}
		}
	}
	if idx < 0 || idx >= n {
		return it, 0, &ProtocolError{What: "a meta reply without a known opaque"}
	}
	return it, idx, nil
}

// ErrNotStored is ms's NS: the server declined to store the item.
var ErrNotStored = errors.New("not stored")

// Set stores value under key with ms, replacing any value.
func (c *Conn) Set(ctx context.Context, key string, value []byte, flags uint32, ttl time.Duration) error {
	wk, b, err := wireKey(key)
	if err != nil {
		return err
	}
	if err := c.arm(ctx); err != nil {
		return err
	}
	defer c.watch(ctx)()
	c.w.WriteString("ms ")
	c.w.WriteString(wk)
	c.w.WriteString(" ")
	c.w.WriteString(strconv.Itoa(len(value)))
	if b {
		c.w.WriteString(" b")
	}
	c.w.WriteString(" T")
	c.w.WriteString(strconv.FormatInt(ttlArg(ttl, time.Now()), 10))
	c.w.WriteString(" F")
	c.w.WriteString(strconv.FormatUint(uint64(flags), 10))
	c.w.WriteString("\r\n")
	c.w.Write(value)
	c.w.WriteString("\r\n")
	if err := c.w.Flush(); err != nil {
		return c.fail(ctx, err)
	}
	line, err := c.readLine()
	if err != nil {
		return c.fail(ctx, err)
	}
	code, _ := splitMeta(line)
	switch code {
	case "HD":
		return nil
	case "NS":
		return ErrNotStored
	}
	if string(line) == "SERVER_ERROR object too large for cache" {
		// The server swallows the data block, so the stream stays in sync.
		return &ServerError{Line: string(line)}
	}
	return c.fail(ctx, unexpected(line))
}

// Touch sets the remaining lifetime of key (0: never expires) and reports
// whether the key exists.
func (c *Conn) Touch(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	wk, b, err := wireKey(key)
	if err != nil {
		return false, err
	}
	if err := c.arm(ctx); err != nil {
		return false, err
	}
	defer c.watch(ctx)()
	c.w.WriteString("mg ")
	c.w.WriteString(wk)
	if b {
		c.w.WriteString(" b")
	}
	c.w.WriteString(" T")
	c.w.WriteString(strconv.FormatInt(ttlArg(ttl, time.Now()), 10))
	c.w.WriteString("\r\n")
	if err := c.w.Flush(); err != nil {
		return false, c.fail(ctx, err)
	}
	line, err := c.readLine()
	if err != nil {
		return false, c.fail(ctx, err)
	}
	switch code, _ := splitMeta(line); code {
	case "HD":
		return true, nil
	case "EN":
		return false, nil
	}
	return false, c.fail(ctx, unexpected(line))
}

// DeleteBatch is how many quiet md commands go out before each mn: enough to
// keep the pipe full, few enough that a failure is reported promptly.
const DeleteBatch = 1000

// DeleteMany deletes keys with pipelined quiet md, a batch at a time, each
// batch closed by mn. It returns how many keys existed. On an error the count
// covers the batches the server fully answered.
func (c *Conn) DeleteMany(ctx context.Context, keys []string) (int64, error) {
	for _, k := range keys {
		if _, _, err := wireKey(k); err != nil {
			return 0, err
		}
	}
	if err := c.arm(ctx); err != nil {
		return 0, err
	}
	defer c.watch(ctx)()
	var deleted int64
	for start := 0; start < len(keys); start += DeleteBatch {
		batch := keys[start:min(start+DeleteBatch, len(keys))]
		if err := c.arm(ctx); err != nil {
			return deleted, err
		}
		for _, k := range batch {
			wk, b, _ := wireKey(k)
			c.w.WriteString("md ")
			c.w.WriteString(wk)
			if b {
				c.w.WriteString(" b")
			}
			c.w.WriteString(" q\r\n")
		}
		c.w.WriteString("mn\r\n")
		if err := c.w.Flush(); err != nil {
			return deleted, c.fail(ctx, err)
		}
		missing := 0
		for {
			line, err := c.readLine()
			if err != nil {
				return deleted, c.fail(ctx, err)
			}
			s := string(line)
			if s == "MN" {
				break
			}
			if s == "NF" {
				missing++
				continue
			}
			// A quiet md answers only NF or an error; an error cannot be tied
			// to its key, so the batch's count is unknown.
			return deleted, c.fail(ctx, unexpected(line))
		}
		deleted += int64(len(batch) - missing)
	}
	return deleted, nil
}

// NoOp sends mn and waits for MN.
func (c *Conn) NoOp(ctx context.Context) error {
	if err := c.arm(ctx); err != nil {
		return err
	}
	defer c.watch(ctx)()
	c.w.WriteString("mn\r\n")
	if err := c.w.Flush(); err != nil {
		return c.fail(ctx, err)
	}
	line, err := c.readLine()
	if err != nil {
		return c.fail(ctx, err)
	}
	if string(line) != "MN" {
		return c.fail(ctx, unexpected(line))
	}
	return nil
}
