package serial

import (
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/cachectl/cachectl/internal/serial/msgpack"
	"github.com/cachectl/cachectl/internal/serial/pickle"
	"github.com/cachectl/cachectl/internal/serial/pyjson"
)

// serializers are the names `set --serializer` takes. json, pickle and msgpack
// parse the input as JSON into a Value tree and encode the tree; string and
// raw store the input bytes.
var serializers = []string{"raw", "string", "json", "pickle", "msgpack"}

// DefaultPickleProtocol is what `set --serializer pickle` writes unless told:
// Python 3.8-3.13's pickle.DEFAULT_PROTOCOL, readable by every Python 3.4+.
const DefaultPickleProtocol = 4

// EncodeOptions tune EncodeWith.
type EncodeOptions struct {
	Serializer     string
	PickleProtocol int // 2 to 5; 0 means DefaultPickleProtocol
}

// Serializers lists the serializers Encode accepts.
func Serializers() []string { return append([]string(nil), serializers...) }

// Encode turns the input of `set` into the bytes to store:
//   - raw: the input unchanged;
//   - string: the input unchanged, which must be valid UTF-8;
//   - json: the input must be JSON text; it is parsed and written again as
//     Python's json.dumps(obj) writes it by default (", " and ": " separators,
//     ensure_ascii, NaN/Infinity literals, floats as repr, big integers exact).
func Encode(input []byte, serializer string) ([]byte, error) {
	return EncodeWith(input, EncodeOptions{Serializer: serializer})
}

// EncodeWith is Encode with options: pickle and msgpack parse the input as
// JSON like json does, then write the tree as pickle.dumps(obj, protocol) and
// msgpack.packb(obj, use_bin_type=True) write it.
func EncodeWith(input []byte, o EncodeOptions) ([]byte, error) {
	serializer := o.Serializer
	switch serializer {
	case "raw":
		return input, nil
	case "string":
		if !utf8.Valid(input) {
			return nil, errors.New("value is not valid UTF-8; use --serializer raw")
		}
		return input, nil
	}
	if !isSerializer(serializer) {
		return nil, unknownSerializer(serializer)
	}
	v, err := pyjson.Parse(input)
	if err != nil {
		return nil, errors.New("value is " + err.Error() + "; write text as a JSON string or use --serializer string")
	}
	if serializer == "pickle" {
		return pickle.Encode(v, o.pickleProtocol())
	}
	return EncodeValue(v, serializer)
}

func (o EncodeOptions) pickleProtocol() int {
	if o.PickleProtocol == 0 {
		return DefaultPickleProtocol
	}
	return o.PickleProtocol
}

// EncodeValue encodes a Value tree with a structured serializer (json, pickle,
// msgpack). For json the tree must hold only what json.dumps
// accepts: None, bool, int, float, str, list, tuple, and dicts whose keys are
// str, int, float, bool or None (converted to strings as Python does).
func EncodeValue(v *Value, serializer string) ([]byte, error) {
	switch serializer {
	case "json":
		return pyjson.Dumps(v)
	case "pickle":
		return pickle.Encode(v, DefaultPickleProtocol)
	case "msgpack":
		return msgpack.Encode(v)
	case "string", "raw":
		return nil, errors.New("serializer " + serializer + " stores bytes, not a value")
	}
	return nil, unknownSerializer(serializer)
}

func isSerializer(s string) bool {
	for _, x := range serializers {
		if x == s {
			return true
		}
	}
	return false
}

func unknownSerializer(s string) error {
	return errors.New("unknown serializer " + strconv.Quote(s) + " (valid: " + strings.Join(serializers, ", ") + ")")
}
