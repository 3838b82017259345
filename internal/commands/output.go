package commands

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/human"
	"github.com/cachectl/cachectl/internal/textesc"
)

// outputFormat is what -o asked for: text, json or jsonl.
type outputFormat string

// JSON reports whether -o json (or jsonl) was asked for.
func (o outputFormat) JSON() bool { return o == "json" || o == "jsonl" }

// writeJSON writes one JSON document: indented on a terminal, compact in
// pipes (one line, easy for jq and line-based tools). HTML escaping is off
// so "<" and "&" in values stay readable; DEL, C1 and bidi controls (which
// encoding/json leaves raw) are written as \u escapes, so server text in a
// document cannot drive the terminal it is printed on.
func writeJSON(w io.Writer, tty bool, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if tty {
		enc.SetIndent("", "  ")
	}
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("encode JSON output: %w", err)
	}
	_, err := w.Write(textesc.JSON(buf.Bytes()))
	return err
}

// jsonKey is how a key appears in JSON: a string when it is valid UTF-8,
// else {"$bytes": base64}, the same mapping values use, so nothing is lost.
func jsonKey(k string) any {
	if utf8.ValidString(k) {
		return k
	}
	return map[string]string{"$bytes": base64.StdEncoding.EncodeToString([]byte(k))}
}

// jsonBytes maps a byte string the same way.
func jsonBytes(b []byte) any { return jsonKey(string(b)) }

// ttlJSON is the "ttl" field: seconds as a number, null for no expiry.
func ttlJSON(t backends.TTL) *float64 {
	s := t.Seconds()
	if s == nil {
		return nil
	}
	v := math.Round(*s*1000) / 1000
	return &v
}

// scriptTTL renders a TTL for scripts: whole seconds (rounded as Redis' TTL
// does), "none", or "unknown".
func scriptTTL(t backends.TTL) string {
	if t.Unknown {
		return "unknown"
	}
	if !t.Expires {
		return "none"
	}
	return strconv.FormatInt(int64((t.Remaining+500*time.Millisecond)/time.Second), 10)
}

// joinNames lists choices for help texts: "a, b or c".
func joinNames(names []string) string {
	switch len(names) {
	case 0:
		return ""
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// byteSize is a flag value in bytes that accepts units: 1048576, 64KiB, 64MiB,
// 1GiB (also KB/MB/GB as powers of 1000).
type byteSize struct{ p *int64 }

func newByteSize(p *int64, def int64) *byteSize {
	*p = def
	return &byteSize{p}
}

func (b *byteSize) String() string {
	if b.p == nil {
		return ""
	}
	return human.Bytes(*b.p)
}

func (b *byteSize) Type() string { return "size" }

func (b *byteSize) Set(s string) error {
	n, err := parseByteSize(s)
	if err != nil {
		return err
	}
	*b.p = n
	return nil
}

func parseByteSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	units := []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1000}, {"MB", 1000 * 1000}, {"GB", 1000 * 1000 * 1000}, {"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"B", 1}}
	mult := int64(1)
	for _, u := range units {
		if strings.HasSuffix(strings.ToUpper(t), strings.ToUpper(u.suffix)) {
			t, mult = strings.TrimSpace(t[:len(t)-len(u.suffix)]), u.mult
			break
		}
	}
	n, err := strconv.ParseFloat(t, 64)
	if err != nil || n <= 0 || n*float64(mult) > float64(math.MaxInt64/2) {
		return 0, fmt.Errorf("invalid size %q (want e.g. 64MiB, 1GiB, 1048576)", s)
	}
	return int64(n * float64(mult)), nil
}
