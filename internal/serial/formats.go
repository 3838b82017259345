package serial

import (
	"github.com/cachectl/cachectl/internal/serial/compress"
	"github.com/cachectl/cachectl/internal/serial/msgpack"
	"github.com/cachectl/cachectl/internal/serial/pickle"
	"github.com/cachectl/cachectl/internal/serial/pyjson"
)

// Each format has its own package (pickle, msgpack, pyjson, compress);
// these are the names the code above serial knows them by.

// EncodePickle writes v as pickle.dumps(obj, protocol) does (protocol 2-5).
func EncodePickle(v *Value, protocol int) ([]byte, error) { return pickle.Encode(v, protocol) }

// DecodePickle decodes a complete pickle within lim (see pickle.Decode).
func DecodePickle(b []byte, lim pickle.Limits) (*Value, error) { return pickle.Decode(b, lim) }

// EncodeMsgpack writes v as msgpack.packb(obj, use_bin_type=True) does.
func EncodeMsgpack(v *Value) ([]byte, error) { return msgpack.Encode(v) }

// DecodeMsgpack decodes exactly one MessagePack object (see msgpack.Decode).
func DecodeMsgpack(b []byte, lim msgpack.Limits) (*Value, error) { return msgpack.Decode(b, lim) }

// ParseJSON decodes JSON text the way Python's json.loads does (see
// pyjson.Parse): exact integers, key order kept, NaN and Infinity accepted.
func ParseJSON(b []byte) (*Value, error) { return pyjson.Parse(b) }

// Codec names, as the format field shows them before the inner format
// ("zlib+pickle").
const (
	CodecGzip   = compress.CodecGzip
	CodecZlib   = compress.CodecZlib
	CodecZstd   = compress.CodecZstd
	CodecLZ4    = compress.CodecLZ4
	CodecSnappy = compress.CodecSnappy
)

// DefaultMaxInflate is the default cap on a decompressed value (--max-inflate).
const DefaultMaxInflate = compress.DefaultMaxInflate

// ErrInflateLimit matches (errors.Is) a CompressionError whose output went
// over the cap.
var ErrInflateLimit = compress.ErrInflateLimit

// CompressionError says why a compressed value could not be inflated.
type CompressionError = compress.Error

// Codecs lists the names DecompressAs accepts.
func Codecs() []string { return compress.Codecs() }

// DecompressAs inflates b as the named codec (see compress.DecompressAs).
func DecompressAs(b []byte, codec string, maxOut int64) ([]byte, error) {
	return compress.DecompressAs(b, codec, maxOut)
}
