package compress

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zlib"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"

	"github.com/cachectl/cachectl/internal/serial/internal/serialtest"
)

// TestCompressVectors: what Python's gzip, zlib, zstandard, lz4.frame and
// python-snappy wrote inflates to the original bytes, recognised by its magic
// (raw snappy blocks only when forced).
func TestCompressVectors(t *testing.T) {
	vecs := serialtest.ReadJSONL[serialtest.CompressVector](t, "compress.jsonl")
	if len(vecs) < 50 {
		t.Fatalf("only %d compress vectors", len(vecs))
	}
	for _, vec := range vecs {
		b, want := serialtest.Unhex(t, vec.Hex), serialtest.Unhex(t, vec.InnerHex)
		auto := vec.Auto == nil || *vec.Auto
		inner, codec, ok, err := Decompress(b, 0)
		switch {
		case !auto && ok:
			t.Errorf("%s: Decompress recognised %s", vec.Name, codec)
		case auto && (!ok || err != nil || codec != vec.Codec || !bytes.Equal(inner, want)):
			t.Errorf("%s: Decompress = %d bytes, %q, %v, %v", vec.Name, len(inner), codec, ok, err)
		}
		inner, err = DecompressAs(b, vec.Codec, 0)
		if err != nil || !bytes.Equal(inner, want) {
			t.Errorf("%s: DecompressAs(%s) = %d bytes, %v", vec.Name, vec.Codec, len(inner), err)
		}
		// The cap: exactly the inner size passes, one byte less fails.
		if len(want) > 0 {
			if _, err := DecompressAs(b, vec.Codec, int64(len(want))); err != nil {
				t.Errorf("%s: cap at the inner size: %v", vec.Name, err)
			}
			_, err := DecompressAs(b, vec.Codec, int64(len(want)-1))
			if !errors.Is(err, ErrInflateLimit) {
				t.Errorf("%s: cap one below the inner size: %v", vec.Name, err)
			}
		}
		// Cut anywhere (the vector's first 300 offsets): an error, never a panic
		// or a silent short result. Snappy framed streams may legitimately end
		// after any whole chunk, and lz4 frames without an end mark are refused.
		for i := 1; i < len(b) && i < 300; i++ {
			out, err := DecompressAs(b[:i], vec.Codec, 0)
			if err == nil && bytes.Equal(out, want) {
				t.Errorf("%s cut at %d still gave the whole output", vec.Name, i)
			}
			if err == nil && vec.Codec != CodecSnappy {
				t.Errorf("%s cut at %d: no error (%d bytes)", vec.Name, i, len(out))
			}
		}
	}
}

func TestDecompressNotCompressed(t *testing.T) {
	for _, in := range []string{
		"", "x", "x^", "x^2 + y^2", "xyz", "hello", `{"a": 1}`, "[1,2]", "123", "\x80\x04\x95", "\x84\xa1a\x01",
		"x\x9c", // header alone, as text? not UTF-8: see below
	} {
		inner, codec, ok, err := Decompress([]byte(in), 0)
		if in == "x\x9c" {
			if !ok || codec != CodecZlib || err == nil {
				t.Errorf("Decompress(%q) = %q, %v, %v: want a zlib error", in, codec, ok, err)
			}
			continue
		}
		if ok || err != nil || inner != nil || codec != "" {
			t.Errorf("Decompress(%q) = %q, %q, %v, %v", in, inner, codec, ok, err)
		}
	}
	zl := serialtest.Unhex(t, "789c4b4c4a0600024d0127") // zlib.compress(b"abc")
	if inner, codec, ok, err := Decompress(zl, 0); !ok || codec != CodecZlib || err != nil || string(inner) != "abc" {
		t.Errorf("zlib abc: %q %q %v %v", inner, codec, ok, err)
	}
	// A zlib stream followed by more bytes: not recognised when the whole is
	// text-like, an error when binary; forced, the extra bytes are ignored as
	// Python's zlib.decompress ignores them.
	withTail := append(append([]byte{}, zl...), 0xff)
	if _, _, ok, err := Decompress(withTail, 0); !ok || err == nil || !strings.Contains(err.Error(), "1 trailing byte after the stream") {
		t.Errorf("zlib with a trailing byte: %v %v", ok, err)
	}
	if inner, err := DecompressAs(withTail, CodecZlib, 0); err != nil || string(inner) != "abc" {
		t.Errorf("forced zlib with a trailing byte: %q %v", inner, err)
	}
	// A preset dictionary (FLG 0xbb... FDICT set) is not auto-detected.
	if _, _, ok, _ := Decompress([]byte{0x78, 0xbb, 0, 0, 0, 0}, 0); ok {
		t.Error("zlib with FDICT recognised")
	}
	if _, err := DecompressAs([]byte("abc"), "brotli", 0); err == nil || !strings.Contains(err.Error(), "unknown codec") {
		t.Errorf("unknown codec: %v", err)
	}
}

func TestDecompressErrors(t *testing.T) {
	tests := []struct {
		codec, hex, want string
	}{
		{CodecGzip, "1f8b", "corrupt or truncated gzip stream: unexpected end of data"},
		{CodecGzip, "1f8b0800000000000003", "corrupt or truncated gzip stream: unexpected end of data"},
		{CodecZstd, "28b52ffd", "corrupt or truncated zstd stream"},
		{CodecLZ4, "04224d18", "corrupt or truncated lz4 stream"},
		{CodecSnappy, "ff060000734e61507059ff", "corrupt or truncated snappy stream"},
		{CodecZlib, "789cffff", "corrupt or truncated zlib stream"},
		{CodecSnappy, "ffffffff0f", "corrupt or truncated snappy stream: declared length 4294967295 is more than"}, // raw block declaring 4 GiB
		{CodecSnappy, "80801000", "corrupt or truncated snappy stream: declared length 262144 is more than"},       // 256 KiB from 4 bytes
		{CodecSnappy, hex.EncodeToString(snappy.Encode(nil, make([]byte, 2<<20))), "snappy: inflated size exceeds 1 MiB (raise --max-inflate)"},
	}
	for _, tt := range tests {
		_, err := DecompressAs(serialtest.Unhex(t, tt.hex), tt.codec, 1<<20)
		var ce *Error
		if err == nil || !errors.As(err, &ce) || ce.Codec != tt.codec || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("DecompressAs(%s, %s) = %v; want %q", tt.hex, tt.codec, err, tt.want)
		}
	}
	if got := (&Error{Codec: "gzip", Limit: 64 << 20}).Error(); got != "gzip: inflated size exceeds 64 MiB (raise --max-inflate)" {
		t.Errorf("limit message %q", got)
	}
	if got := sizeText(1000); got != "1000 bytes" {
		t.Errorf("sizeText(1000) = %q", got)
	}
}

// ---- bombs: 1 GiB of zeros, built without holding it ----

const gib = 1 << 30

var zeroMiB = make([]byte, 1<<20)

// writeZeros writes n MiB of zeros to w and closes it.
func writeZeros(t testing.TB, w io.WriteCloser, mib int) {
	for range mib {
		if _, err := w.Write(zeroMiB); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

var (
	bombsOnce sync.Once
	bombs     map[string][]byte
)

// zipBombs returns streams that inflate to 1 GiB of zeros (snappy, whose
// ratio is only ~20, to 256 MiB). To stay fast under -race, the slow encoders
// write a 16 MiB unit that is then repeated, which each format allows:
// gzip members, zstd and lz4 frames, snappy chunks follow one another; for
// zlib, a deflate stream flushed at 1 MiB boundaries repeats the same bytes
// (the window holds only zeros), so the middle is repeated and the Adler-32
// of the whole is computed.
func zipBombs(t testing.TB) map[string][]byte {
	bombsOnce.Do(func() {
		bombs = map[string][]byte{}
		var b bytes.Buffer

		gz, _ := gzip.NewWriterLevel(&b, gzip.BestSpeed)
		writeZeros(t, gz, 16)
		bombs[CodecGzip] = bytes.Repeat(b.Bytes(), gib/(16<<20))

		b = bytes.Buffer{}
		zw, _ := zstd.NewWriter(&b, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
		writeZeros(t, zw, 1024)
		bombs[CodecZstd] = bytes.Clone(b.Bytes())

		b = bytes.Buffer{}
		writeZeros(t, lz4.NewWriter(&b), 16)
		bombs[CodecLZ4] = bytes.Repeat(b.Bytes(), gib/(16<<20))

		b = bytes.Buffer{}
		writeZeros(t, snappy.NewBufferedWriter(&b), 1)
		head, chunk := b.Bytes()[:10], b.Bytes()[10:] // stream identifier, then 16 chunks of 64 KiB
		bombs[CodecSnappy] = append(bytes.Clone(head), bytes.Repeat(chunk, 256)...)

		bombs[CodecZlib] = zlibZeros(t, gib)
	})
	return bombs
}

// zlibZeros builds a zlib stream of n zeros (n a multiple of 1 MiB, >= 3 MiB).
func zlibZeros(t testing.TB, n int) []byte {
	var b bytes.Buffer
	fw, _ := flate.NewWriter(&b, flate.BestSpeed)
	var segs [][]byte
	for range 3 {
		fw.Write(zeroMiB)
		fw.Flush()
		segs = append(segs, bytes.Clone(b.Bytes()))
		b.Reset()
	}
	fw.Close()
	tail := b.Bytes()
	if !bytes.Equal(segs[1], segs[2]) {
		t.Fatal("flushed deflate segments of zeros differ; cannot build the zlib bomb")
	}
	out := []byte{0x78, 0x01}
	out = append(out, segs[0]...)
	out = append(out, bytes.Repeat(segs[1], n/(1<<20)-1)...)
	out = append(out, tail...)
	// Adler-32 of n zeros: A = 1, B = n (mod 65521).
	return binary.BigEndian.AppendUint32(out, uint32(n%65521)<<16|1)
}

// TestDecompressBombs: 1 GiB bombs stop at the cap, quickly, holding no more
// than the cap.
func TestDecompressBombs(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	limit := int64(DefaultMaxInflate)
	if serialtest.RaceEnabled { // inflating is ~10 times slower under the race detector
		limit = 8 << 20
	}
	for codec, bomb := range zipBombs(t) {
		var err error
		var ok bool
		var got string
		d, alloc := serialtest.TimeAndAlloc(func() { _, got, ok, err = Decompress(bomb, limit) })
		t.Logf("%s: %d-byte bomb stopped after %v, %d MiB allocated: %v", codec, len(bomb), d, alloc>>20, err)
		if !ok || got != codec || !errors.Is(err, ErrInflateLimit) ||
			err.Error() != codec+": inflated size exceeds "+sizeText(limit)+" (raise --max-inflate)" {
			t.Errorf("%s bomb: %q, %v, %v", codec, got, ok, err)
		}
		if d > time.Second {
			t.Errorf("%s bomb took %v", codec, d)
		}
		if alloc > uint64(limit)+16<<20 {
			t.Errorf("%s bomb allocated %d MiB", codec, alloc>>20)
		}
	}
}

// TestZipBombsAreValid checks the bombs are what they claim: complete
// streams of 1 GiB of zeros (streamed, not held). It takes ~10 s, so it runs
// only with CACHECTL_SLOW_TESTS=1.
func TestZipBombsAreValid(t *testing.T) {
	if os.Getenv("CACHECTL_SLOW_TESTS") == "" || serialtest.RaceEnabled {
		t.Skip("slow: set CACHECTL_SLOW_TESTS=1")
	}
	for codec, bomb := range zipBombs(t) {
		want := int64(gib)
		if codec == CodecSnappy {
			want = 256 << 20
		}
		var r io.Reader
		switch codec {
		case CodecGzip:
			r, _ = gzip.NewReader(bytes.NewReader(bomb))
		case CodecZlib:
			r, _ = zlib.NewReader(bytes.NewReader(bomb))
		case CodecZstd:
			zr, _ := zstd.NewReader(bytes.NewReader(bomb))
			defer zr.Close()
			r = zr
		case CodecLZ4:
			r = lz4.NewReader(bytes.NewReader(bomb))
		case CodecSnappy:
			r = snappy.NewReader(bytes.NewReader(bomb))
		}
		n, err := io.Copy(zeroCheck{t, codec}, r)
		if err != nil || n != want {
			t.Errorf("%s bomb: %d bytes, %v", codec, n, err)
		}
	}
}

type zeroCheck struct {
	t     *testing.T
	codec string
}

func (z zeroCheck) Write(p []byte) (int, error) {
	if bytes.IndexFunc(p, func(r rune) bool { return r != 0 }) >= 0 {
		z.t.Fatalf("%s bomb inflates to something other than zeros", z.codec)
	}
	return len(p), nil
}

// TestZlibBombChecksum: the computed Adler-32 is right (on a 4 MiB stream
// built the same way).
func TestZlibBombChecksum(t *testing.T) {
	small := zlibZeros(t, 4<<20)
	out, err := DecompressAs(small, CodecZlib, 8<<20)
	if err != nil || len(out) != 4<<20 {
		t.Fatalf("zlib bomb of 4 MiB: %d bytes, %v", len(out), err)
	}
}
