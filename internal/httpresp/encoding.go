package httpresp

import (
	"bytes"
	"errors"
	"io"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/flate"

	"github.com/cachectl/cachectl/internal/serial"
)

// decodeContent undoes the content codings (listed in the order they were
// applied) of body, holding at most limit bytes of output at each step: a
// decompression bomb stops at the cap with an error.
func decodeContent(body []byte, codings []string, limit int64) ([]byte, error) {
	for i := len(codings) - 1; i >= 0; i-- {
		var err error
		switch c := codings[i]; c {
		case "gzip", "x-gzip":
			body, err = serial.DecompressAs(body, serial.CodecGzip, limit)
		case "zstd":
			body, err = serial.DecompressAs(body, serial.CodecZstd, limit)
		case "deflate":
			body, err = inflateDeflate(body, limit)
		case "br":
			body, err = readCapped(brotli.NewReader(bytes.NewReader(body)), "br", limit)
		default:
			err = errors.New("unsupported coding " + c)
		}
		if err != nil {
			return nil, err
		}
	}
	return body, nil
}

// inflateDeflate reads HTTP's "deflate": a zlib stream as RFC 9110 says, or
// the raw deflate stream some servers send instead.
func inflateDeflate(b []byte, limit int64) ([]byte, error) {
	out, err := serial.DecompressAs(b, serial.CodecZlib, limit)
	if err == nil || errors.Is(err, serial.ErrInflateLimit) {
		return out, err
	}
	if raw, rawErr := readCapped(flate.NewReader(bytes.NewReader(b)), "deflate", limit); rawErr == nil || errors.Is(rawErr, serial.ErrInflateLimit) {
		return raw, rawErr
	}
	return nil, err
}

// readCapped reads r to its end, holding at most limit+1 bytes; more is a
// serial.CompressionError with Limit set (errors.Is serial.ErrInflateLimit).
// Output grows in chunks of up to 4 MiB, so going over the cap costs about
// the cap, not twice it.
func readCapped(r io.Reader, codec string, limit int64) ([]byte, error) {
	var chunks [][]byte
	var total int64
	size := int64(32 << 10)
	for {
		buf := make([]byte, min(size, limit+1-total))
		n, err := fill(r, buf)
		total += int64(n)
		chunks = append(chunks, buf[:n])
		switch {
		case total > limit:
			return nil, &serial.CompressionError{Codec: codec, Limit: limit}
		case err == io.EOF:
			if len(chunks) == 1 {
				return chunks[0], nil
			}
			return joinChunks(chunks, total), nil
		case err != nil:
			msg := err.Error()
			if errors.Is(err, io.ErrUnexpectedEOF) {
				msg = "unexpected end of data"
			}
			return nil, &serial.CompressionError{Codec: codec, Msg: msg}
		}
		size = min(2*size, 4<<20)
	}
}

// fill reads into buf until it is full or r fails; unlike io.ReadFull it
// keeps io.EOF (the stream ended) apart from io.ErrUnexpectedEOF (the
// decompressor found it cut short).
func fill(r io.Reader, buf []byte) (int, error) {
	n, empty := 0, 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
		if m > 0 {
			empty = 0
		} else if empty++; empty == 100 { // as bufio: a reader stuck returning nothing
			return n, io.ErrNoProgress
		}
	}
	return n, nil
}
