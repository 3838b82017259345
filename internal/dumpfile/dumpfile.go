// Package dumpfile reads and writes cache entries as JSON lines, the format
// of `cachectl dump`, `restore` and `invalidate --backup`:
//
//	{"key":"user:1","type":"string","ttl":299.5,"value":"{\"id\": 1}"}
//	{"key":{"$bytes":"AP8="},"type":"string","ttl":null,"value":{"$bytes":"gASVAAAA"},"flags":1}
//
// key and value are strings when they are valid UTF-8, else {"$bytes":
// base64}; ttl is the remaining lifetime in seconds when the line was
// written (null: no expiry); flags are memcached client flags, when the
// source had them. One entry per line, so a file is streamed both ways.
package dumpfile

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/jsonbytes"
)

// maxLine bounds one line: a value of up to 512 MiB, base64-encoded.
const maxLine = 700 << 20

// Entry is one line.
type Entry struct {
	Key   string
	Value []byte
	TTL   backends.TTL
	Flags *uint32
}

type line struct {
	Key   jsonbytes.Bytes `json:"key"`
	Type  string          `json:"type"`
	TTL   *float64        `json:"ttl"`
	Value jsonbytes.Bytes `json:"value"`
	Flags *uint32         `json:"flags,omitempty"`
}

// Writer writes entries, one JSON line each.
type Writer struct {
	w *bufio.Writer
	n int64
}

// NewWriter writes to w; call Flush to push out what is buffered.
func NewWriter(w io.Writer) *Writer { return &Writer{w: bufio.NewWriterSize(w, 256<<10)} }

// Write adds one entry.
func (w *Writer) Write(e Entry) error {
	l := line{Key: jsonbytes.Bytes(e.Key), Type: "string", Value: e.Value, Flags: e.Flags}
	if e.TTL.Expires {
		s := e.TTL.Remaining.Seconds()
		l.TTL = &s
	}
	b, err := json.Marshal(l)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if _, err := w.w.Write(b); err != nil {
		return err
	}
	w.n++
	return nil
}

// Count is how many entries were written.
func (w *Writer) Count() int64 { return w.n }

// Flush writes out the buffer.
func (w *Writer) Flush() error { return w.w.Flush() }

// Reader reads entries.
type Reader struct {
	s    *bufio.Scanner
	line int
}

// NewReader reads from r.
func NewReader(r io.Reader) *Reader {
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 0, 64<<10), maxLine)
	return &Reader{s: s}
}

// Next returns the next entry, or io.EOF at the end. Blank lines are skipped.
func (r *Reader) Next() (Entry, error) {
	for r.s.Scan() {
		r.line++
		raw := r.s.Bytes()
		if len(trimSpace(raw)) == 0 {
			continue
		}
		var l line
		if err := json.Unmarshal(raw, &l); err != nil {
			return Entry{}, fmt.Errorf("line %d: %w", r.line, err)
		}
		if len(l.Key) == 0 {
			return Entry{}, fmt.Errorf("line %d: no key", r.line)
		}
		if l.Type != "" && l.Type != "string" {
			return Entry{}, fmt.Errorf("line %d: type %q cannot be restored (only string values)", r.line, l.Type)
		}
		e := Entry{Key: string(l.Key), Value: l.Value, Flags: l.Flags, TTL: backends.NoExpiry}
		if l.TTL != nil {
			if *l.TTL <= 0 {
				e.TTL = backends.ExpiresIn(0) // expired while being dumped
			} else {
				e.TTL = backends.ExpiresIn(time.Duration(*l.TTL * float64(time.Second)))
			}
		}
		return e, nil
	}
	if err := r.s.Err(); err != nil {
		return Entry{}, fmt.Errorf("line %d: %w", r.line+1, err)
	}
	return Entry{}, io.EOF
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\r') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}
