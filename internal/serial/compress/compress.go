// Package compress inflates compressed cached values (gzip, zlib, zstd, lz4
// frames, snappy) within a cap on the output, and recognises them by their
// magic numbers.
package compress

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"unicode/utf8"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zlib"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// Codec names, as the format field shows them before the inner format
// ("zlib+pickle").
const (
	CodecGzip   = "gzip"
	CodecZlib   = "zlib"
	CodecZstd   = "zstd"
	CodecLZ4    = "lz4"    // the LZ4 frame format (python lz4.frame)
	CodecSnappy = "snappy" // framed stream (auto and forced) or raw block (forced only)
)

var codecs = []string{CodecGzip, CodecZlib, CodecZstd, CodecLZ4, CodecSnappy}

// Codecs lists the names DecompressAs accepts.
func Codecs() []string { return append([]string(nil), codecs...) }

// IsCodec reports whether name is one of Codecs.
func IsCodec(name string) bool {
	for _, c := range codecs {
		if name == c {
			return true
		}
	}
	return false
}

// DefaultMaxInflate is the default cap on a decompressed value (--max-inflate).
const DefaultMaxInflate int64 = 64 << 20

// ErrInflateLimit matches (errors.Is) a Error whose output went
// over the cap.
var ErrInflateLimit = errors.New("inflated size exceeds the limit")

// Error says why a compressed value could not be inflated.
type Error struct {
	Codec string
	Limit int64  // the cap, when the output went over it; 0 otherwise
	Msg   string // what is wrong with the stream, when Limit is 0
}

func (e *Error) Error() string {
	if e.Limit > 0 {
		return e.Codec + ": inflated size exceeds " + sizeText(e.Limit) + " (raise --max-inflate)"
	}
	return "corrupt or truncated " + e.Codec + " stream: " + e.Msg
}

// Is makes errors.Is(err, ErrInflateLimit) true for the cap error.
func (e *Error) Is(target error) bool { return target == ErrInflateLimit && e.Limit > 0 }

// sizeText writes a cap as "64 MiB", "512 KiB" or "1000 bytes".
func sizeText(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + " MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.FormatInt(n>>10, 10) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " " + plural(int(min(n, 2)), "byte")
}

// Magic numbers of the streams Decompress recognises.
var (
	magicGzip         = []byte{0x1f, 0x8b}
	magicZstd         = []byte{0x28, 0xb5, 0x2f, 0xfd}
	magicLZ4          = []byte{0x04, 0x22, 0x4d, 0x18}
	magicSnappyFramed = []byte{0xff, 0x06, 0x00, 0x00, 's', 'N', 'a', 'P', 'p', 'Y'}
)

// Decompress recognises a compressed value by its magic number and inflates
// it. ok is false when b does not look compressed (inner and err are then
// nil); when it does, codec names the codec and either inner holds the
// decompressed bytes or err (a *Error) says why they could not be
// had: a corrupt or truncated stream, or output over maxOut bytes (maxOut <= 0
// means DefaultMaxInflate). At most maxOut+1 bytes of output are ever held.
//
// Recognised, in this order:
//   - gzip: 1f 8b (several members are read as one stream, like Python's
//     gzip.decompress);
//   - zstd: 28 b5 2f fd (concatenated frames too);
//   - lz4 frame: 04 22 4d 18;
//   - snappy framed stream: ff 06 00 00 "sNaPpY";
//   - zlib: 78 then an FLG byte that makes the header check ((CMF*256+FLG)%31
//     == 0) with no preset dictionary: 78 01, 78 5e ("x^"), 78 9c, 78 da.
//     Since 'x' is ASCII, this only counts as zlib when the stream also inflates
//     completely and ends exactly at the end of b. When it does not and b is
//     valid UTF-8, b is text that starts with "x": ok is false. Binary input
//     with the header that fails to inflate is reported as corrupt zlib.
//
// Raw snappy blocks (what python-snappy's snappy.compress writes) have no
// magic number and are never recognised here: only DecompressAs(b, "snappy")
// reads them.
func Decompress(b []byte, maxOut int64) (inner []byte, codec string, ok bool, err error) {
	switch codec = magicCodec(b); {
	case codec != "":
	case zlibHeader(b):
		inner, err = inflateZlib(b, maxOut, true)
		if err != nil && !errors.Is(err, ErrInflateLimit) && utf8.Valid(b) {
			return nil, "", false, nil
		}
		return inner, CodecZlib, true, err
	default:
		return nil, "", false, nil
	}
	inner, err = DecompressAs(b, codec, maxOut)
	return inner, codec, true, err
}

// magicCodec names the codec whose magic number starts b, zlib aside
// (its header is not a magic number); "" when none.
func magicCodec(b []byte) string {
	switch {
	case bytes.HasPrefix(b, magicGzip):
		return CodecGzip
	case bytes.HasPrefix(b, magicZstd):
		return CodecZstd
	case bytes.HasPrefix(b, magicLZ4):
		return CodecLZ4
	case bytes.HasPrefix(b, magicSnappyFramed):
		return CodecSnappy
	}
	return ""
}

// Sniff guesses the codec of a value from its first bytes, for listings:
// a magic number, or a zlib header when prefix is not UTF-8 text (text may
// start with "x"; only Decompress, inflating it all, can tell). "" when the
// value does not look compressed.
func Sniff(prefix []byte) string {
	if c := magicCodec(prefix); c != "" {
		return c
	}
	if zlibHeader(prefix) && !utf8.Valid(prefix) {
		return CodecZlib
	}
	return ""
}

func plural(n int, unit string) string {
	if n == 1 {
		return unit
	}
	return unit + "s"
}

// zlibHeader reports whether b starts with a zlib header of deflate with a
// 32 KiB window and no preset dictionary.
func zlibHeader(b []byte) bool {
	return len(b) >= 2 && b[0] == 0x78 && (uint(b[0])<<8|uint(b[1]))%31 == 0 && b[1]&0x20 == 0
}

// DecompressAs inflates b as the named codec (one of Codecs()), whatever its
// first bytes, for `--as`. For "snappy", b is read as a framed stream when it
// starts with the stream identifier and as a raw snappy block otherwise. For
// "zlib", bytes after the end of the stream are ignored, as Python's
// zlib.decompress ignores them. Errors are *Error, except for an
// unknown codec name.
func DecompressAs(b []byte, codec string, maxOut int64) ([]byte, error) {
	if maxOut <= 0 {
		maxOut = DefaultMaxInflate
	}
	switch codec {
	case CodecGzip:
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, streamErr(codec, err)
		}
		hint := 0
		if len(b) >= 18 { // ISIZE of the (last) member: a hint only, it is mod 2^32
			n := len(b)
			hint = int(uint32(b[n-4]) | uint32(b[n-3])<<8 | uint32(b[n-2])<<16 | uint32(b[n-1])<<24)
		}
		return readCapped(zr, codec, maxOut, min(hint, 64*len(b)))
	case CodecZlib:
		return inflateZlib(b, maxOut, false)
	case CodecZstd:
		// The window is what the decoder holds besides the output: bound it by
		// the cap (but allow the 8 MiB any encoder level uses, for small caps).
		window := min(uint64(max(maxOut, 8<<20)), zstd.MaxWindowSize)
		zr, err := zstd.NewReader(bytes.NewReader(b), zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
			zstd.WithDecoderMaxWindow(window), zstd.WithDecoderMaxMemory(window))
		if err != nil {
			return nil, streamErr(codec, err)
		}
		defer zr.Close()
		hint := 0
		var h zstd.Header
		if h.Decode(b) == nil && h.HasFCS {
			if h.FrameContentSize > uint64(maxOut) {
				return nil, &Error{Codec: codec, Limit: maxOut}
			}
			hint = int(min(h.FrameContentSize, uint64(64*len(b))))
		}
		return readCapped(zr, codec, maxOut, hint)
	case CodecLZ4:
		zr := lz4.NewReader(bytes.NewReader(b))
		return readCapped(zr, codec, maxOut, 0)
	case CodecSnappy:
		if bytes.HasPrefix(b, magicSnappyFramed) {
			return readCapped(snappy.NewReader(bytes.NewReader(b)), codec, maxOut, 0)
		}
		n, err := snappy.DecodedLen(b)
		switch {
		case err != nil:
			return nil, streamErr(codec, err)
		case n > 22*len(b): // a snappy block inflates at most 64 bytes per 3-byte copy
			return nil, &Error{Codec: codec, Msg: "declared length " + strconv.Itoa(n) + " is more than the block can hold"}
		case int64(n) > maxOut:
			return nil, &Error{Codec: codec, Limit: maxOut}
		}
		out, err := snappy.DecodeStrict(nil, b)
		if err != nil {
			return nil, streamErr(codec, err)
		}
		return out, nil
	}
	return nil, errors.New("unknown codec " + strconv.Quote(codec) + " (valid: gzip, zlib, zstd, lz4, snappy)")
}

// inflateZlib inflates a zlib stream; strict also requires the stream to end
// exactly at the end of b.
func inflateZlib(b []byte, maxOut int64, strict bool) ([]byte, error) {
	if maxOut <= 0 {
		maxOut = DefaultMaxInflate
	}
	r := bytes.NewReader(b)
	zr, err := zlib.NewReader(r) // reads through r byte-wise (bytes.Reader is an io.ByteReader): no read-ahead
	if err != nil {
		return nil, streamErr(CodecZlib, err)
	}
	out, err := readCapped(zr, CodecZlib, maxOut, 0)
	if err != nil {
		return nil, err
	}
	if strict && r.Len() > 0 {
		return nil, &Error{Codec: CodecZlib, Msg: strconv.Itoa(r.Len()) + " trailing " + plural(r.Len(), "byte") + " after the stream"}
	}
	return out, nil
}

func streamErr(codec string, err error) *Error {
	msg := err.Error()
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		msg = "unexpected end of data"
	}
	return &Error{Codec: codec, Msg: msg}
}

// readCapped reads r to its end, holding at most maxOut+1 bytes: more is the
// cap error. hint is the expected size, if known (a hint only: a header can
// lie, so callers bound it by the input size, and it never passes the cap).
//
// Output goes into chunks of growing size (up to 4 MiB) that are joined at
// the end, so a stream that goes over the cap has allocated about the cap,
// not twice it as a doubling buffer would; when the hint is right, the first
// chunk holds everything and nothing is copied.
func readCapped(r io.Reader, codec string, maxOut int64, hint int) ([]byte, error) {
	limit := maxOut + 1
	var chunks [][]byte
	var total int64
	size := int64(max(hint+1, 4096))
	for {
		size = min(size, limit-total)
		buf := make([]byte, size)
		n, err := fill(r, buf)
		total += int64(n)
		chunks = append(chunks, buf[:n])
		switch {
		case total > maxOut:
			return nil, &Error{Codec: codec, Limit: maxOut}
		case err == io.EOF:
			return join(chunks, total), nil
		case err != nil:
			if errors.Is(err, zstd.ErrDecoderSizeExceeded) || errors.Is(err, zstd.ErrWindowSizeExceeded) {
				return nil, &Error{Codec: codec, Limit: maxOut}
			}
			return nil, streamErr(codec, err)
		}
		size = min(max(2*size, 64<<10), 4<<20)
	}
}

// fill reads into buf until it is full or r fails; unlike io.ReadFull it
// keeps io.EOF (the stream ended) apart from io.ErrUnexpectedEOF (the
// decompressor found it cut short).
func fill(r io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// join concatenates chunks of total bytes, without copying a single chunk.
func join(chunks [][]byte, total int64) []byte {
	if len(chunks) == 1 {
		return chunks[0]
	}
	out := make([]byte, 0, total)
	for _, c := range chunks {
		out = append(out, c...)
	}
	return out
}
