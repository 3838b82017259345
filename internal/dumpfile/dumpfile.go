// Package dumpfile reads and writes cache entries as JSON lines, the format
// of `cachectl dump`, `restore` and `invalidate --backup`:
//
//	{"key":"user:1","type":"string","ttl":299.5,"value":"{\"id\": 1}"}
//	{"key":{"$bytes":"AP8="},"type":"string","ttl":null,"value":{"$bytes":"gASVAAAA"},"flags":1}
//	{"key":"h","type":"hash","ttl":60,"value":{"field":"value"}}
//	{"key":"h2","type":"hash","ttl":null,"value":[[{"$bytes":"/w=="},"v"]]}
//	{"key":"l","type":"list","ttl":null,"part":0,"more":true,"value":["a","b"]}
//	{"key":"l","type":"list","ttl":null,"part":1,"value":["c"]}
//	{"key":"s","type":"set","ttl":null,"value":["x","y"]}
//	{"key":"z","type":"zset","ttl":null,"value":[["m",1.5],["top","inf"]]}
//	{"key":"x","type":"stream","ttl":null,"last_id":"5-0","value":[{"id":"5-0","fields":[["f","v"]]}]}
//	{"key":"k","type":"hash","ttl":null,"encoding":"redis-dump","value":{"$bytes":"DQ…"}}
//
// Keys, values, fields and members are strings when they are valid UTF-8,
// else {"$bytes": base64}. ttl is the remaining lifetime in seconds when the
// line was written (null: no expiry); flags are memcached client flags, when
// the source had them. A hash is an object, or a list of [field, value]
// pairs when a field is not UTF-8; a zset holds [member, score] pairs
// (score "inf"/"-inf" for infinities); a stream holds its entries in ID
// order plus its last generated ID. A collection larger than one part is
// written as several lines, part 0, 1, …, each but the last with "more":
// true, so every line stays bounded; "aborted": true ends a collection whose
// reading failed midway (the run that wrote it did not delete that key).
// encoding "redis-dump" holds a Redis DUMP payload, only Redis restores it.
// One entry per line, so a file is streamed both ways; control, bidi and
// other invisible characters are \u-escaped, so showing a file is safe.
package dumpfile

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/jsonbytes"
	"github.com/cachectl/cachectl/internal/textesc"
)

// maxLine bounds one line: a value of up to 512 MiB, base64-encoded.
const maxLine = 700 << 20

// A collection part holds at most partItems elements and, past its first
// element, about partBytes bytes of them, so lines stay bounded.
const (
	partItems = 1000
	partBytes = 1 << 20
)

// MaxTTL is the longest TTL restored as such: 100 years. Longer ones (up to
// 1e300 s in a hand-edited file) overflow durations and some servers'
// expiry fields, and mean "far future": they are read as no expiry, with
// Entry.FarFuture set so restore can say so.
const MaxTTL = 100 * 365 * 24 * time.Hour

// EncodingRedisDump marks a value held as a Redis DUMP payload.
const EncodingRedisDump = "redis-dump"

// Kinds are the value types a file may hold natively.
var Kinds = []string{"string", "hash", "list", "set", "zset", "stream"}

// Entry is one line.
type Entry struct {
	Key   string
	Type  string // "string" or a collection kind; any Redis type with Encoding
	Value []byte // a string value, or the DUMP payload with Encoding
	TTL   backends.TTL
	Flags *uint32
	// FarFuture: the line's TTL was above MaxTTL and is read as no expiry.
	FarFuture bool
	// Encoding is "" or EncodingRedisDump.
	Encoding string
	// A collection's elements in this line; Part counts its lines from 0,
	// More says another part follows, Aborted that the writer gave up.
	Items   []backends.Item
	Part    int
	More    bool
	Aborted bool
	Stream  backends.StreamMeta // a stream's IDs and counter
	// Line is where the entry was read.
	Line int
}

// IsCollection reports a native (not DUMP-encoded) collection line.
func (e *Entry) IsCollection() bool { return e.Encoding == "" && e.Type != "string" }

type line struct {
	Key      jsonbytes.Bytes `json:"key"`
	Type     string          `json:"type"`
	TTL      *float64        `json:"ttl"`
	Encoding string          `json:"encoding,omitempty"`
	Part     *int            `json:"part,omitempty"`
	More     bool            `json:"more,omitempty"`
	Aborted  bool            `json:"aborted,omitempty"`
	LastID   string          `json:"last_id,omitempty"`
	MaxDel   string          `json:"max_deleted_id,omitempty"`
	Added    *int64          `json:"entries_added,omitempty"`
	Value    any             `json:"value"`
	Flags    *uint32         `json:"flags,omitempty"`
}

// Writer writes entries, one JSON line each.
type Writer struct {
	w *bufio.Writer
	n int64
	// limits of one collection part; tests lower them
	partItems, partBytes int
}

// NewWriter writes to w; call Flush to push out what is buffered.
func NewWriter(w io.Writer) *Writer {
	return &Writer{w: bufio.NewWriterSize(w, 256<<10), partItems: partItems, partBytes: partBytes}
}

func ttlField(t backends.TTL) *float64 {
	if !t.Expires {
		return nil
	}
	s := max(t.Remaining.Seconds(), 0)
	return &s
}

// Write adds one string entry, or a DUMP payload when e.Encoding says so.
func (w *Writer) Write(e Entry) error {
	l := line{Key: jsonbytes.Bytes(e.Key), Type: "string", TTL: ttlField(e.TTL), Value: jsonbytes.Bytes(e.Value), Flags: e.Flags}
	if e.Encoding != "" {
		l.Type, l.Encoding = e.Type, e.Encoding
	}
	if e.Value == nil {
		l.Value = jsonbytes.Bytes{}
	}
	if err := w.line(l); err != nil {
		return err
	}
	w.n++
	return nil
}

func (w *Writer) line(l line) error {
	b, err := json.Marshal(l)
	if err != nil {
		return err
	}
	b = append(textesc.JSON(b), '\n')
	_, err = w.w.Write(b)
	return err
}

// Count is how many entries (keys) were written completely.
func (w *Writer) Count() int64 { return w.n }

// Flush writes out the buffer.
func (w *Writer) Flush() error { return w.w.Flush() }

// Collection starts writing a collection value: Add its elements in order,
// then End (or Abort when reading it failed).
func (w *Writer) Collection(key, kind string, ttl backends.TTL, stream backends.StreamMeta) *CollectionWriter {
	return &CollectionWriter{w: w, key: key, kind: kind, ttl: ttl, stream: stream}
}

// CollectionWriter writes one collection, in parts when it is large.
type CollectionWriter struct {
	w         *Writer
	key, kind string
	ttl       backends.TTL
	stream    backends.StreamMeta
	buf       []backends.Item
	bufBytes  int
	part      int
	done      bool
}

// Add buffers elements, writing a part whenever one is full.
func (c *CollectionWriter) Add(items ...backends.Item) error {
	for _, it := range items {
		size := len(it.Field) + len(it.Value) + len(it.ID) + 8
		for _, fv := range it.Fields {
			size += len(fv.Field) + len(fv.Value)
		}
		// A full part goes out only once another element arrives, so the
		// last part is never empty.
		if len(c.buf) >= c.w.partItems || (len(c.buf) > 0 && c.bufBytes+size > c.w.partBytes) {
			if err := c.flush(true, false); err != nil {
				return err
			}
		}
		c.buf = append(c.buf, it)
		c.bufBytes += size
	}
	return nil
}

func (c *CollectionWriter) flush(more, aborted bool) error {
	l := line{Key: jsonbytes.Bytes(c.key), Type: c.kind, TTL: ttlField(c.ttl), More: more, Aborted: aborted, Value: encodeItems(c.kind, c.buf)}
	if c.kind == "stream" {
		l.LastID, l.MaxDel = c.stream.LastID, c.stream.MaxDeletedID
		if n := c.stream.EntriesAdded; n >= 0 && c.stream.MaxDeletedID != "" {
			l.Added = &n
		}
	}
	if more || c.part > 0 || aborted {
		p := c.part
		l.Part = &p
	}
	if err := c.w.line(l); err != nil {
		return err
	}
	c.part++
	c.buf, c.bufBytes = c.buf[:0], 0
	return nil
}

// End writes the last part. A hash, list, set or zset with no elements
// (the key vanished while it was read) writes nothing and reports false.
func (c *CollectionWriter) End() (bool, error) {
	if c.done {
		return false, errors.New("collection already ended")
	}
	c.done = true
	if c.part == 0 && len(c.buf) == 0 && c.kind != "stream" {
		return false, nil
	}
	if err := c.flush(false, false); err != nil {
		return false, err
	}
	c.w.n++
	return true, nil
}

// Abort ends a collection whose reading failed: when parts were written, a
// final line says the value is incomplete, so restore drops those parts.
func (c *CollectionWriter) Abort() error {
	if c.done {
		return nil
	}
	c.done = true
	if c.part == 0 {
		return nil // nothing written yet
	}
	c.buf = c.buf[:0]
	return c.flush(false, true)
}

type pair [2]any

// object writes a hash as a JSON object in the order read.
type object []backends.Item

func (o object) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, it := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(string(it.Field))
		if err != nil {
			return nil, err
		}
		v, err := json.Marshal(jsonbytes.Bytes(it.Value))
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

type streamEntry struct {
	ID     string `json:"id"`
	Fields []pair `json:"fields"`
}

func encodeItems(kind string, items []backends.Item) any {
	switch kind {
	case "hash":
		for _, it := range items {
			if !utf8.Valid(it.Field) {
				out := make([]pair, len(items))
				for i, it := range items {
					out[i] = pair{jsonbytes.Bytes(it.Field), jsonbytes.Bytes(it.Value)}
				}
				return out
			}
		}
		return object(items)
	case "zset":
		out := make([]pair, len(items))
		for i, it := range items {
			var score any = it.Score
			switch {
			case math.IsInf(it.Score, 1):
				score = "inf"
			case math.IsInf(it.Score, -1):
				score = "-inf"
			}
			out[i] = pair{jsonbytes.Bytes(it.Value), score}
		}
		return out
	case "stream":
		out := make([]streamEntry, len(items))
		for i, it := range items {
			out[i] = streamEntry{ID: it.ID, Fields: make([]pair, len(it.Fields))}
			for j, fv := range it.Fields {
				out[i].Fields[j] = pair{jsonbytes.Bytes(fv.Field), jsonbytes.Bytes(fv.Value)}
			}
		}
		return out
	}
	out := make([]jsonbytes.Bytes, len(items)) // list, set
	for i, it := range items {
		out[i] = it.Value
	}
	return out
}

// Reader reads entries.
type Reader struct {
	s    *bufio.Scanner
	line int
	// the collection whose next part must come next
	pending *pending
}

type pending struct {
	key, kind string
	next      int
	line      int
	lastID    string // of a stream's last entry so far
}

// NewReader reads from r.
func NewReader(r io.Reader) *Reader {
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 0, 64<<10), maxLine)
	return &Reader{s: s}
}

// Line is the number of the last line read.
func (r *Reader) Line() int { return r.line }

// Next returns the next entry, or io.EOF at the end. Blank lines are
// skipped; any malformed line is an error naming its number, never skipped.
func (r *Reader) Next() (Entry, error) {
	for r.s.Scan() {
		r.line++
		raw := r.s.Bytes()
		if len(bytes.TrimSpace(raw)) == 0 {
			continue
		}
		e, err := r.parse(raw)
		if err != nil {
			return Entry{}, fmt.Errorf("line %d: %w", r.line, err)
		}
		e.Line = r.line
		return e, nil
	}
	if err := r.s.Err(); err != nil {
		return Entry{}, fmt.Errorf("line %d: %w", r.line+1, err)
	}
	if p := r.pending; p != nil {
		return Entry{}, &cutError{line: r.line, p: *p}
	}
	return Entry{}, io.EOF
}

// inLine is a line as read; pointers and raw messages tell absent from null.
type inLine struct {
	Key      *jsonbytes.Bytes `json:"key"`
	Type     string           `json:"type"`
	TTL      json.RawMessage  `json:"ttl"`
	Encoding string           `json:"encoding"`
	Part     *int             `json:"part"`
	More     bool             `json:"more"`
	Aborted  bool             `json:"aborted"`
	LastID   string           `json:"last_id"`
	MaxDel   string           `json:"max_deleted_id"`
	Added    *int64           `json:"entries_added"`
	Value    json.RawMessage  `json:"value"`
	Flags    *uint32          `json:"flags"`
}

func (r *Reader) parse(raw []byte) (Entry, error) {
	var l inLine
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if err := d.Decode(&l); err != nil {
		return Entry{}, fmt.Errorf("not a dump line: %v", jsonError(err))
	}
	if d.More() {
		return Entry{}, errors.New("not a dump line: more than one JSON value")
	}
	if l.Key == nil || len(*l.Key) == 0 {
		return Entry{}, errors.New("no key")
	}
	e := Entry{Key: string(*l.Key), Type: l.Type, Flags: l.Flags, Encoding: l.Encoding, More: l.More, Aborted: l.Aborted, TTL: backends.NoExpiry}
	if e.Type == "" {
		e.Type = "string"
	}
	var err error
	if e.TTL, e.FarFuture, err = parseTTL(l.TTL); err != nil {
		return Entry{}, fmt.Errorf("%s: %w", textesc.Key(e.Key), err)
	}
	if l.Part != nil {
		if *l.Part < 0 {
			return Entry{}, fmt.Errorf("%s: negative part %d", textesc.Key(e.Key), *l.Part)
		}
		e.Part = *l.Part
	}
	null := len(l.Value) == 0 || string(l.Value) == "null"
	switch {
	case l.Encoding == EncodingRedisDump || (l.Encoding == "" && e.Type == "string"):
		if l.Part != nil || l.More || l.Aborted {
			return Entry{}, fmt.Errorf("%s: a %s value has no parts", textesc.Key(e.Key), e.Type)
		}
		if null {
			return Entry{}, fmt.Errorf("%s: no value (a missing or null value is not an empty one)", textesc.Key(e.Key))
		}
		var v jsonbytes.Bytes
		if err := json.Unmarshal(l.Value, &v); err != nil {
			return Entry{}, fmt.Errorf("%s: value: %v", textesc.Key(e.Key), err)
		}
		e.Value = []byte(v)
		if e.Value == nil {
			e.Value = []byte{}
		}
		if l.Encoding != "" && len(e.Value) == 0 {
			return Entry{}, fmt.Errorf("%s: an empty %s payload", textesc.Key(e.Key), l.Encoding)
		}
		if r.pending != nil {
			return Entry{}, r.notContinued(e)
		}
		return e, nil
	case l.Encoding != "":
		return Entry{}, fmt.Errorf("%s: unknown encoding %q (cachectl writes %q)", textesc.Key(e.Key), l.Encoding, EncodingRedisDump)
	}
	if !isKind(e.Type) {
		return Entry{}, fmt.Errorf("%s: type %q is not one cachectl writes (%s)", textesc.Key(e.Key), e.Type, strings.Join(Kinds, ", "))
	}
	if l.Flags != nil {
		return Entry{}, fmt.Errorf("%s: flags on a %s", textesc.Key(e.Key), e.Type)
	}
	if (l.LastID != "" || l.MaxDel != "" || l.Added != nil) && e.Type != "stream" {
		return Entry{}, fmt.Errorf("%s: stream IDs on a %s", textesc.Key(e.Key), e.Type)
	}
	e.Stream = backends.StreamMeta{LastID: l.LastID, MaxDeletedID: l.MaxDel, EntriesAdded: -1}
	for name, id := range map[string]string{"last_id": l.LastID, "max_deleted_id": l.MaxDel} {
		if id != "" {
			if err := checkStreamID(id); err != nil {
				return Entry{}, fmt.Errorf("%s: %s: %w", textesc.Key(e.Key), name, err)
			}
		}
	}
	if l.Added != nil {
		if *l.Added < 0 {
			return Entry{}, fmt.Errorf("%s: negative entries_added", textesc.Key(e.Key))
		}
		e.Stream.EntriesAdded = *l.Added
	}
	if e.More && e.Aborted {
		return Entry{}, fmt.Errorf("%s: both more and aborted", textesc.Key(e.Key))
	}
	// Parts in sequence: part 0 starts a value, each next one continues it.
	p := r.pending
	switch {
	case p != nil && (p.key != e.Key || p.kind != e.Type || e.Part != p.next):
		return Entry{}, r.notContinued(e)
	case p == nil && e.Part != 0:
		return Entry{}, fmt.Errorf("%s: part %d without part 0 before it", textesc.Key(e.Key), e.Part)
	}
	if e.Aborted {
		if p == nil {
			return Entry{}, fmt.Errorf("%s: aborted without the parts before it", textesc.Key(e.Key))
		}
		r.pending = nil
		return e, nil
	}
	if null {
		return Entry{}, fmt.Errorf("%s: no value (a missing or null value is not an empty one)", textesc.Key(e.Key))
	}
	prevID := ""
	if p != nil {
		prevID = p.lastID
	}
	if e.Items, err = decodeItems(e.Type, l.Value, prevID); err != nil {
		return Entry{}, fmt.Errorf("%s: %s value: %w", textesc.Key(e.Key), e.Type, err)
	}
	if len(e.Items) == 0 && e.Part == 0 && !e.More && e.Type != "stream" {
		return Entry{}, fmt.Errorf("%s: an empty %s (Redis keeps no empty collections)", textesc.Key(e.Key), e.Type)
	}
	if e.More {
		if p == nil {
			p = &pending{key: e.Key, kind: e.Type, line: r.line}
			r.pending = p
		}
		p.next, p.line = e.Part+1, r.line
		if n := len(e.Items); n > 0 && e.Type == "stream" {
			p.lastID = e.Items[n-1].ID
		}
	} else {
		r.pending = nil
	}
	return e, nil
}

// cutError is a file that ends inside a value's parts.
type cutError struct {
	line int
	p    pending
}

func (e *cutError) Error() string {
	return fmt.Sprintf("line %d: the file ends before the last part of %s (line %d said more follow): it was cut while being written", e.line, textesc.Key(e.p.key), e.p.line)
}

func (r *Reader) notContinued(e Entry) error {
	p := r.pending
	return fmt.Errorf("expected part %d of %s (line %d said more follow), found %s %s: parts of a value must follow each other", p.next, textesc.Key(p.key), p.line, e.Type, textesc.Key(e.Key))
}

func isKind(k string) bool {
	for _, s := range Kinds {
		if k == s {
			return true
		}
	}
	return false
}

// parseTTL reads the ttl field: null or absent is no expiry, 0 expired
// while being dumped, above MaxTTL far future; negative is an error.
func parseTTL(n json.RawMessage) (backends.TTL, bool, error) {
	if len(n) == 0 || string(n) == "null" {
		return backends.NoExpiry, false, nil
	}
	if c := n[0]; c != '-' && (c < '0' || c > '9') {
		return backends.TTL{}, false, fmt.Errorf("bad ttl %.40s (want seconds as a number, or null)", n)
	}
	s, err := strconv.ParseFloat(string(n), 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return backends.TTL{}, false, fmt.Errorf("bad ttl %.40s", n)
	}
	switch {
	case math.IsNaN(s) || s < 0:
		return backends.TTL{}, false, fmt.Errorf("negative ttl %s (seconds left; null is no expiry)", n)
	case s > MaxTTL.Seconds(): // includes overflow to +Inf
		return backends.NoExpiry, true, nil
	}
	return backends.ExpiresIn(time.Duration(s * float64(time.Second))), false, nil
}

// strict is a byte string that may not be null.
type strict []byte

func (b *strict) UnmarshalJSON(data []byte) error {
	if string(data) == "null" {
		return errors.New("null where a string or {\"$bytes\"} was expected")
	}
	var v jsonbytes.Bytes
	if err := v.UnmarshalJSON(data); err != nil {
		return err
	}
	*b = strict(v)
	if *b == nil {
		*b = strict{}
	}
	return nil
}

func decodeItems(kind string, raw json.RawMessage, prevID string) ([]backends.Item, error) {
	switch kind {
	case "hash":
		if len(raw) > 0 && raw[0] == '{' {
			return decodeObject(raw)
		}
		var pairs [][]strict
		if err := json.Unmarshal(raw, &pairs); err != nil {
			return nil, fmt.Errorf("want an object or [field, value] pairs: %v", jsonError(err))
		}
		out := make([]backends.Item, len(pairs))
		for i, p := range pairs {
			if len(p) != 2 {
				return nil, fmt.Errorf("element %d: want [field, value]", i)
			}
			out[i] = backends.Item{Field: p[0], Value: p[1]}
		}
		return out, nil
	case "list", "set":
		var vals []strict
		if err := json.Unmarshal(raw, &vals); err != nil {
			return nil, fmt.Errorf("want a list of strings: %v", jsonError(err))
		}
		out := make([]backends.Item, len(vals))
		for i, v := range vals {
			out[i].Value = v
		}
		return out, nil
	case "zset":
		var pairs [][]json.RawMessage
		if err := json.Unmarshal(raw, &pairs); err != nil {
			return nil, fmt.Errorf("want [member, score] pairs: %v", jsonError(err))
		}
		out := make([]backends.Item, len(pairs))
		for i, p := range pairs {
			if len(p) != 2 {
				return nil, fmt.Errorf("element %d: want [member, score]", i)
			}
			var m strict
			if err := json.Unmarshal(p[0], &m); err != nil {
				return nil, fmt.Errorf("element %d: member: %v", i, err)
			}
			s, err := parseScore(p[1])
			if err != nil {
				return nil, fmt.Errorf("element %d: %w", i, err)
			}
			out[i] = backends.Item{Value: m, Score: s}
		}
		return out, nil
	}
	// stream
	var entries []struct {
		ID     *string    `json:"id"`
		Fields [][]strict `json:"fields"`
	}
	if err := json.Unmarshal(raw, &entries); err != nil {
		return nil, fmt.Errorf("want a list of {\"id\", \"fields\"}: %v", jsonError(err))
	}
	out := make([]backends.Item, len(entries))
	for i, se := range entries {
		if se.ID == nil {
			return nil, fmt.Errorf("entry %d: no id", i)
		}
		if err := checkStreamID(*se.ID); err != nil {
			return nil, fmt.Errorf("entry %d: %w", i, err)
		}
		if prevID != "" && !backends.StreamIDLess(prevID, *se.ID) {
			return nil, fmt.Errorf("entry %d: id %s is not above %s", i, *se.ID, prevID)
		}
		if len(se.Fields) == 0 {
			return nil, fmt.Errorf("entry %s: no fields", *se.ID)
		}
		it := backends.Item{ID: *se.ID, Fields: make([]backends.FieldValue, len(se.Fields))}
		for j, fv := range se.Fields {
			if len(fv) != 2 {
				return nil, fmt.Errorf("entry %s: field %d: want [field, value]", *se.ID, j)
			}
			it.Fields[j] = backends.FieldValue{Field: fv[0], Value: fv[1]}
		}
		out[i] = it
		prevID = *se.ID
	}
	return out, nil
}

// decodeObject reads a hash object keeping the file's field order.
func decodeObject(raw json.RawMessage) ([]backends.Item, error) {
	d := json.NewDecoder(bytes.NewReader(raw))
	if _, err := d.Token(); err != nil {
		return nil, jsonError(err)
	}
	var out []backends.Item
	for d.More() {
		t, err := d.Token()
		if err != nil {
			return nil, jsonError(err)
		}
		field, _ := t.(string)
		var v strict
		if err := d.Decode(&v); err != nil {
			return nil, fmt.Errorf("field %q: %v", field, jsonError(err))
		}
		out = append(out, backends.Item{Field: []byte(field), Value: v})
	}
	return out, nil
}

func parseScore(raw json.RawMessage) (float64, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		switch strings.ToLower(s) {
		case "inf", "+inf":
			return math.Inf(1), nil
		case "-inf":
			return math.Inf(-1), nil
		}
		return 0, fmt.Errorf("score %q: want a number, \"inf\" or \"-inf\"", s)
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err != nil {
		return 0, fmt.Errorf("score %s: want a number", raw)
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil {
		return 0, fmt.Errorf("score %s: out of range", n)
	}
	return f, nil
}

// checkStreamID refuses an id that is not a stream entry ID.
func checkStreamID(id string) error {
	if _, _, ok := backends.SplitStreamID(id); !ok {
		return fmt.Errorf("bad stream id %q (want ms-seq)", id)
	}
	return nil
}

// jsonError drops encoding/json's Go type names from its messages.
func jsonError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field != "" {
			return fmt.Errorf("%s: unexpected %s", te.Field, te.Value)
		}
		return fmt.Errorf("unexpected %s", te.Value)
	}
	return err
}
