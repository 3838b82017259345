package serial

import (
	"os"
	"testing"

	"github.com/cachectl/cachectl/internal/serial/msgpack"
	"github.com/cachectl/cachectl/internal/serial/pickle"
)

// benchFile reads the value bench/decode.sh prepared (CACHECTL_BENCH_FILE).
func benchFile(b *testing.B) []byte {
	path := os.Getenv("CACHECTL_BENCH_FILE")
	if path == "" {
		b.Skip("CACHECTL_BENCH_FILE is not set (bench/decode.sh sets it)")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	return data
}

func BenchmarkDecodeFilePickle(b *testing.B) {
	data := benchFile(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodePickle(data, pickle.DefaultLimits); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeFileMsgpack(b *testing.B) {
	data := benchFile(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeMsgpack(data, msgpack.Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}
