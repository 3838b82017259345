package memcached

// Client flags as Python clients set them. pymemcache (Django's
// PyMemcacheCache): 0 bytes, 1 pickle, 2 int, 4 long, 16 text. pylibmc
// (Django's PyLibMCCache) uses the same values and adds 8 for zlib.
// aiocache/aiomcache always store 0, so 0 says nothing.
const (
	flagPickle  = 1
	flagInteger = 2
	flagLong    = 4
	flagZlib    = 8
	flagText    = 16
)

// FormatHint returns the format the flags suggest, in serial's --as syntax,
// or "" when they say nothing. A hint is only tried first: a value that does
// not decode as hinted is detected as usual.
func FormatHint(flags uint32) string {
	codec := ""
	if flags&flagZlib != 0 {
		codec = "zlib"
		flags &^= flagZlib
	}
	var format string
	switch flags {
	case 0:
	case flagPickle:
		format = "pickle"
	case flagInteger, flagLong:
		format = "int"
	case flagText:
		format = "string"
	default:
		return "" // another client's convention
	}
	switch {
	case codec != "" && format != "":
		return codec + "+" + format
	case codec != "":
		return codec
	}
	return format
}
