package profiles

import (
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/cachectl/cachectl/internal/serial"
)

// pymemcache's serde flags, which Django's memcached backends use.
const (
	flagBytes   = 0
	flagPickle  = 1
	flagInteger = 2
	flagText    = 16
)

// Write is a value encoded the way the profile's app reads it back.
type Write struct {
	Value      []byte
	Serializer string // what was used, for messages and the HTTP protocol's format
	Flags      uint32 // memcached client flags
	HasFlags   bool   // Flags must be written (Django on memcached)
}

// DefaultSerializer is what set uses when --serializer is not given: the
// library's own default, so a plain `set` writes what the app reads.
func (p *Profile) DefaultSerializer() string {
	switch p.name {
	case "aiocache", "asgi-caches":
		return "json"
	case "django":
		return "django"
	}
	return "raw"
}

// Encode turns set's input into stored bytes. serializer "" means the
// profile's default. Django gets its own rules: its Redis serializer stores
// exact ints as ASCII digits and pickles everything else (protocol 5), and on
// Memcached pymemcache writes text as UTF-8 with flag 16, ints with flag 2,
// bytes with 0 and pickles with 1.
func (p *Profile) Encode(input []byte, serializer string, protocol int) (Write, error) {
	w, err := p.encode(input, serializer, protocol)
	if !w.HasFlags {
		w.Flags = 0
	}
	return w, err
}

func (p *Profile) encode(input []byte, serializer string, protocol int) (Write, error) {
	if serializer == "" {
		serializer = p.DefaultSerializer()
	}
	if p.name != "django" {
		if serializer == "django" {
			return Write{}, fmt.Errorf("the django serializer needs --profile django")
		}
		v, err := serial.EncodeWith(input, serial.EncodeOptions{Serializer: serializer, PickleProtocol: protocol})
		w := Write{Value: v, Serializer: serializer}
		if (p.name == "aiocache" || p.name == "starlite") && p.opts.Backend == "memcached" {
			w.HasFlags = true // flags 0: aiomcache never sets any
		}
		return w, err
	}
	mc := p.opts.Backend == "memcached"
	var v *serial.Value
	switch serializer {
	case "django":
		// The input as the app would have passed it: an int when it is one,
		// else text (bytes when it is not UTF-8).
		switch {
		case isPyIntRepr(input):
			n, _ := strconv.ParseInt(string(input), 10, 64)
			v = serial.NewInt(n)
		case utf8.Valid(input):
			v = serial.NewStr(string(input))
		default:
			v = serial.NewBytes(input)
		}
	case "json":
		parsed, err := serial.ParseJSON(input)
		if err != nil {
			return Write{}, err
		}
		v = parsed
	case "pickle":
		b, err := serial.EncodeWith(input, serial.EncodeOptions{Serializer: "pickle", PickleProtocol: protocol})
		return Write{Value: b, Serializer: "pickle", Flags: flagPickle, HasFlags: mc}, err
	case "raw":
		return Write{Value: input, Serializer: "raw", Flags: flagBytes, HasFlags: mc}, nil
	case "string":
		if !utf8.Valid(input) {
			return Write{}, fmt.Errorf("value is not valid UTF-8; use --serializer raw")
		}
		if mc {
			return Write{Value: input, Serializer: "string", Flags: flagText, HasFlags: true}, nil
		}
		v = serial.NewStr(string(input))
	default:
		return Write{}, fmt.Errorf("django reads ints, text and pickles; --serializer %s would not read back (use django, json, pickle, string or raw)", serializer)
	}
	switch {
	case v.Kind == serial.KindInt && v.Big == nil:
		return Write{Value: []byte(strconv.FormatInt(v.Int, 10)), Serializer: "int", Flags: flagInteger, HasFlags: mc}, nil
	case mc && v.Kind == serial.KindStr:
		return Write{Value: []byte(v.Str), Serializer: "string", Flags: flagText, HasFlags: true}, nil
	case mc && v.Kind == serial.KindBytes:
		return Write{Value: v.Bytes, Serializer: "raw", Flags: flagBytes, HasFlags: true}, nil
	}
	// Django's RedisSerializer and pymemcache both pickle with HIGHEST_PROTOCOL.
	if serializer == "django" || serializer == "json" || serializer == "string" {
		protocol = 5
	}
	b, err := serial.EncodePickle(v, protocol)
	return Write{Value: b, Serializer: "pickle", Flags: flagPickle, HasFlags: mc}, err
}

// isPyIntRepr: the bytes repr(int) writes — what Django stores for an int.
func isPyIntRepr(b []byte) bool {
	s := string(b)
	if len(s) > 0 && s[0] == '-' {
		s = s[1:]
	}
	if s == "" || len(s) > 18 || (len(s) > 1 && s[0] == '0') || s == "0" && len(b) > 1 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
