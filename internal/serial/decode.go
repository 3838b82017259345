package serial

import (
	"fmt"
	"strings"

	"github.com/cachectl/cachectl/internal/serial/compress"
	"github.com/cachectl/cachectl/internal/serial/msgpack"
	"github.com/cachectl/cachectl/internal/serial/pickle"
)

// DecodeOptions tune Decode.
type DecodeOptions struct {
	// As forces a format: "" or "auto" detects; otherwise one of DecodeModes,
	// a codec (Codecs) to inflate before detecting, or "codec+format".
	As string
	// Hint is a format the value's metadata suggests (memcached client flags),
	// in As syntax. With As auto it is tried first; when the value does not
	// decode as hinted, detection takes over as if there were no hint.
	Hint string
	// MaxInflate caps the size of a decompressed value (default DefaultMaxInflate).
	MaxInflate int64
	// Pickle bounds the pickle decoder (zero fields: pickle.DefaultLimits).
	Pickle pickle.Limits
}

func (o DecodeOptions) pickleLimits() pickle.Limits {
	l := o.Pickle
	if l.MaxDepth == 0 {
		l.MaxDepth = pickle.DefaultLimits.MaxDepth
	}
	if l.MaxMemo == 0 {
		l.MaxMemo = pickle.DefaultLimits.MaxMemo
	}
	if l.MaxBytes == 0 {
		l.MaxBytes = pickle.DefaultLimits.MaxBytes
	}
	return l
}

// Detect decodes b in the order README "Values: what get decodes" documents: a compression wrapper
// (then the inner bytes), pickle, JSON, msgpack, ASCII integer, UTF-8 text,
// and bytes. It never fails: a value that fails its apparent format comes
// back as bytes with Err saying why.
func Detect(b []byte) Decoded {
	d, _ := Decode(b, DecodeOptions{})
	return d
}

// Decode decodes b as opts say. The error return is only for an unknown
// format or codec name in opts.As; bad data gives bytes with Err set.
func Decode(b []byte, opts DecodeOptions) (Decoded, error) {
	codec, format, err := parseAs(opts.As)
	if err != nil {
		return Decoded{}, err
	}
	if opts.Hint != "" && codec == "" && (format == "" || format == "auto") {
		hinted := opts
		hinted.As, hinted.Hint = opts.Hint, ""
		if d, err := Decode(b, hinted); err == nil && d.Err == nil {
			return d, nil
		}
	}
	inner := b
	switch {
	case codec != "":
		out, err := compress.DecompressAs(b, codec, opts.MaxInflate)
		if err != nil {
			return Decoded{Format: FormatBytes, Value: NewBytes(b), Err: err}, nil
		}
		inner = out
	case format == "" || format == "auto":
		out, c, ok, err := compress.Decompress(b, opts.MaxInflate)
		if ok && err != nil {
			return Decoded{Format: FormatBytes, Value: NewBytes(b), Err: err}, nil
		}
		if ok {
			inner, codec = out, c
		}
	}
	d, err := decodeForced(inner, format, opts)
	if err != nil {
		return Decoded{}, err
	}
	if codec != "" {
		if d.Format == FormatBytes && d.Err != nil && format != "" && format != "auto" {
			// The forced inner format failed: show the stored bytes, not the inflated ones.
			d.Value = NewBytes(b)
			d.Err = fmt.Errorf("inflated %s: %w", codec, d.Err)
		}
		d.Format = Format(codec + "+" + string(d.Format))
	}
	return d, nil
}

// parseAs splits "zlib+pickle", "zlib" or "pickle" and checks the names.
func parseAs(as string) (codec, format string, err error) {
	as = strings.ToLower(strings.TrimSpace(as))
	if c, f, ok := strings.Cut(as, "+"); ok {
		codec, format = c, f
	} else if compress.IsCodec(as) {
		codec = as
	} else {
		format = as
	}
	if codec != "" && !compress.IsCodec(codec) {
		return "", "", fmt.Errorf("unknown codec %q (valid: %s)", codec, strings.Join(compress.Codecs(), ", "))
	}
	for _, m := range decodeModes {
		if format == m || format == "" {
			return codec, format, nil
		}
	}
	_, err = decodeForced(nil, format, DecodeOptions{})
	return "", "", err
}

// detect is auto-detection of uncompressed bytes.
func detectAuto(b []byte, o DecodeOptions) Decoded {
	if len(b) == 0 {
		return detectText(b)
	}
	var reason error
	if isPickleHeader(b) {
		v, err := pickle.Decode(b, o.pickleLimits())
		if err == nil {
			return Decoded{Format: FormatPickle, Value: v}
		}
		reason = err
	} else if mayBePickle01(b) {
		// Protocols 0 and 1 have no header: only a complete parse counts.
		if v, err := pickle.Decode(b, o.pickleLimits()); err == nil {
			return Decoded{Format: FormatPickle, Value: v}
		}
	}
	if reason == nil && mayBeJSON(b) {
		if d := detectText(b); d.Format == FormatJSON {
			return d
		}
	}
	if reason == nil {
		if v, err := msgpack.Decode(b, msgpack.Limits{}); err == nil && msgpack.Plausible(b, v) {
			return Decoded{Format: FormatMsgpack, Value: v}
		}
	}
	d := detectText(b)
	if reason != nil && d.Format == FormatBytes {
		d.Err = reason
	}
	return d
}

// isPickleHeader reports the PROTO opcode of protocols 2 to 5.
func isPickleHeader(b []byte) bool {
	return len(b) >= 2 && b[0] == 0x80 && b[1] >= 2 && b[1] <= 5
}

// mayBePickle01 is a cheap shape test for protocol 0 and 1 pickles: they end
// with STOP and start with an opcode that begins a value.
func mayBePickle01(b []byte) bool {
	if len(b) < 2 || b[len(b)-1] != '.' {
		return false
	}
	return strings.IndexByte("(}])NIJKLMFGSTUVXcgh", b[0]) >= 0
}
