package memserver

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

var errBadEscape = errors.New("bad percent-escape")

// queryParam returns the value of the first parameter called name in a raw
// query. It decodes percent-escapes to bytes and, unlike url.ParseQuery,
// keeps '+' as '+' (the protocol's keys are RFC 3986, not forms) and allocates
// nothing when the value has no escapes.
func queryParam(raw, name string) (value string, found bool, err error) {
	for raw != "" {
		var part string
		part, raw, _ = strings.Cut(raw, "&")
		k, v, _ := strings.Cut(part, "=")
		if k != name {
			// A name may be escaped too; one that does not decode is
			// not ours, and parameters we do not know are ignored.
			if strings.IndexByte(k, '%') < 0 {
				continue
			}
			if dk, err := unescape(k); err != nil || dk != name {
				continue
			}
		}
		v, err = unescape(v)
		return v, true, err
	}
	return "", false, nil
}

func unescape(s string) (string, error) {
	n := strings.Count(s, "%")
	if n == 0 {
		return s, nil
	}
	b := make([]byte, 0, len(s)) // not len(s)-2n: "%" alone would make that negative
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b = append(b, s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", errBadEscape
		}
		hi, ok1 := unhex(s[i+1])
		lo, ok2 := unhex(s[i+2])
		if !ok1 || !ok2 {
			return "", errBadEscape
		}
		b = append(b, hi<<4|lo)
		i += 2
	}
	return string(b), nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// parseSeconds reads a request TTL: a non-negative decimal number of seconds
// ("300", "12.5", ".5"), "" meaning 0. No sign, exponent, NaN or Inf. A TTL
// above MaxTTL is cut to it; a positive one below a nanosecond is rounded up
// so that it does not turn into "no expiry".
func parseSeconds(s string) (time.Duration, bool) {
	intPart, frac, hasDot := strings.Cut(s, ".")
	if intPart == "" && frac == "" {
		return 0, !hasDot
	}
	maxSecs := int64(MaxTTL / time.Second)
	var secs int64
	for i := 0; i < len(intPart); i++ {
		c := intPart[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		if secs <= maxSecs { // saturate instead of overflowing
			secs = secs*10 + int64(c-'0')
		}
	}
	var nanos int64
	nonzero := secs > 0
	for i := 0; i < len(frac); i++ {
		c := frac[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		if i < 9 {
			nanos = nanos*10 + int64(c-'0')
		}
		nonzero = nonzero || c != '0'
	}
	for i := len(frac); i < 9; i++ {
		nanos *= 10
	}
	if secs > maxSecs {
		return MaxTTL, true
	}
	d := min(time.Duration(secs)*time.Second+time.Duration(nanos), MaxTTL)
	if d == 0 && nonzero {
		d = 1
	}
	return d, true
}

// parseCount reads a page size: 1 to MaxCount, digits only.
func parseCount(s string) (int, bool) {
	if len(s) > 6 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, n >= 1 && n <= MaxCount
}

// appendSeconds writes a remaining TTL as decimal seconds with at most three
// decimals ("59.5"), rounded up so that a live key never shows 0.
func appendSeconds(b []byte, d time.Duration) []byte {
	ms := int64((d + time.Millisecond - 1) / time.Millisecond)
	b = strconv.AppendInt(b, ms/1000, 10)
	if f := ms % 1000; f != 0 {
		b = append(b, '.', byte('0'+f/100), byte('0'+f/10%10), byte('0'+f%10))
		for b[len(b)-1] == '0' {
			b = b[:len(b)-1]
		}
	}
	return b
}

// appendJSONString writes s, which must be valid UTF-8, as a JSON string.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// appendJSONKey writes a key as the protocol maps keys to JSON: a string when
// it is valid UTF-8, else {"$bytes": standard base64}.
func appendJSONKey(b []byte, key string) []byte {
	if utf8.ValidString(key) {
		return appendJSONString(b, key)
	}
	b = append(b, `{"$bytes":"`...)
	b = base64.StdEncoding.AppendEncode(b, []byte(key))
	return append(b, `"}`...)
}

// jsonBytes reads a key or pattern from JSON: a string, or {"$bytes": base64}
// for bytes that are not UTF-8.
type jsonBytes string

func (j *jsonBytes) UnmarshalJSON(b []byte) error {
	switch {
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*j = jsonBytes(s)
		return nil
	case len(b) > 0 && b[0] == '{':
		var o struct {
			Bytes *string `json:"$bytes"`
		}
		if err := json.Unmarshal(b, &o); err != nil {
			return err
		}
		if o.Bytes == nil {
			return errors.New(`want {"$bytes": base64}`)
		}
		raw, err := base64.StdEncoding.DecodeString(*o.Bytes)
		if err != nil {
			return err
		}
		*j = jsonBytes(raw)
		return nil
	}
	return errors.New(`want a string or {"$bytes": base64}`)
}
