package redis

import (
	"bytes"
	"strconv"
	"strings"
)

// A MONITOR line, as Redis 2.6 to 8 print it:
//
//	1700000000.123456 [0 127.0.0.1:50000] "set" "k\"ey" "v\x01"
//
// the time, the database and the client ("lua" for a script's own calls,
// "unix:/path" for a socket), then every argument quoted the way sdscatrepr
// does: \\ \" \n \r \t \a \b and \xHH for other bytes outside 0x20-0x7e.

// monitorLine is one parsed line.
type monitorLine struct {
	DB   int
	Args []string // Args[0] is the command name as sent
	// Cut: the line was longer than the reader keeps (a big value); Args
	// holds the arguments that were complete before the cut.
	Cut bool
}

// parseMonitorLine reads one line (without its "+" and CRLF); cut says the
// line was truncated. ok is false for a line that is not a command (the
// reply to MONITOR, garbage from a hostile server).
func parseMonitorLine(line []byte, cut bool) (m monitorLine, ok bool) {
	m.Cut = cut
	sp := bytes.IndexByte(line, ' ')
	if sp <= 0 || !isTimestamp(line[:sp]) {
		return m, false
	}
	rest := line[sp+1:]
	if len(rest) < 2 || rest[0] != '[' {
		return m, false
	}
	rest = rest[1:]
	i := 0
	for i < len(rest) && i < 10 && rest[i] >= '0' && rest[i] <= '9' {
		i++
	}
	if i == 0 || i >= len(rest) || rest[i] != ' ' {
		return m, false
	}
	db, err := strconv.Atoi(string(rest[:i]))
	if err != nil {
		return m, false
	}
	m.DB = db
	// The client's address holds no quote; the arguments start at the
	// first "] \"".
	end := bytes.Index(rest[i:], []byte(`] "`))
	if end < 0 {
		return m, false
	}
	rest = rest[i+end+2:]
	for len(rest) > 0 {
		if rest[0] != '"' {
			return m, false
		}
		arg, n, complete := unquoteRepr(rest)
		if !complete {
			if cut {
				break // the argument the cut went through is not known whole
			}
			return m, false
		}
		m.Args = append(m.Args, arg)
		rest = rest[n:]
		if len(rest) == 0 {
			break
		}
		if rest[0] != ' ' {
			return m, false
		}
		rest = rest[1:]
	}
	if len(m.Args) == 0 {
		return m, false
	}
	return m, true
}

// isTimestamp: digits, a dot, digits ("1700000000.123456").
func isTimestamp(b []byte) bool {
	dot := false
	for _, c := range b {
		switch {
		case c == '.' && !dot:
			dot = true
		case c < '0' || c > '9':
			return false
		}
	}
	return len(b) > 0
}

// unquoteRepr reads one quoted argument at the start of b: its bytes, how
// many bytes of b it took, and whether its closing quote was there. An
// escape Redis never writes is taken as the character escaped.
func unquoteRepr(b []byte) (string, int, bool) {
	var sb strings.Builder
	i := 1
	for i < len(b) {
		c := b[i]
		switch {
		case c == '"':
			return sb.String(), i + 1, true
		case c != '\\':
			sb.WriteByte(c)
			i++
			continue
		}
		if i+1 >= len(b) {
			return sb.String(), i, false
		}
		e := b[i+1]
		i += 2
		switch e {
		case 'n':
			sb.WriteByte('\n')
		case 'r':
			sb.WriteByte('\r')
		case 't':
			sb.WriteByte('\t')
		case 'a':
			sb.WriteByte('\a')
		case 'b':
			sb.WriteByte('\b')
		case 'x':
			if i+2 > len(b) {
				return sb.String(), i, false
			}
			v, err := strconv.ParseUint(string(b[i:i+2]), 16, 8)
			if err != nil {
				sb.WriteByte('x')
				continue
			}
			sb.WriteByte(byte(v))
			i += 2
		default:
			sb.WriteByte(e)
		}
	}
	return sb.String(), i, false
}

// keySpec is where a command's keys are: the arguments from First to Last
// (negative: counted from the end, -1 the last) every Step, as COMMAND's
// first-key, last-key and step report them (Args[0] being the command).
type keySpec struct {
	First, Last, Step int
}

// keys appends the keys of args to dst.
func (s keySpec) keys(dst []string, args []string) []string {
	if s.First <= 0 || s.Step <= 0 {
		return dst
	}
	last := s.Last
	if last < 0 {
		last = len(args) + last
	}
	for i := s.First; i <= last && i < len(args); i += s.Step {
		dst = append(dst, args[i])
	}
	return dst
}

// knownKeySpecs are the key positions of common commands, for a user who
// may not run COMMAND: the same figures COMMAND gives (Redis 7).
var knownKeySpecs = func() map[string]keySpec {
	m := map[string]keySpec{}
	one := keySpec{1, 1, 1}
	for _, c := range strings.Fields(`get set setex psetex setnx getset getdel getex incr incrby decr
		decrby incrbyfloat append strlen getrange setrange substr expire pexpire expireat pexpireat
		expiretime pexpiretime ttl pttl persist type dump restore hget hset hsetnx hmset hmget
		hgetall hdel hincrby hincrbyfloat hexists hlen hkeys hvals hscan hstrlen hrandfield lpush
		rpush lpushx rpushx lpop rpop lrange llen lindex lset lrem ltrim linsert lpos sadd srem
		smembers sismember smismember scard sscan spop srandmember zadd zrem zrange zrangebyscore
		zrangebylex zrevrange zrevrangebyscore zrevrangebylex zscore zmscore zincrby zcard zcount
		zlexcount zrank zrevrank zscan zpopmin zpopmax zremrangebyscore zremrangebyrank
		zremrangebylex zrandmember xadd xrange xrevrange xlen xtrim xdel xack xclaim xautoclaim
		xpending setbit getbit bitcount bitpos pfadd geoadd geopos geodist geohash
		georadius sort`) {
		m[c] = one
	}
	for _, c := range strings.Fields(`mget del unlink exists touch watch pfcount sunion sinter sdiff`) {
		m[c] = keySpec{1, -1, 1}
	}
	for _, c := range strings.Fields(`mset msetnx`) {
		m[c] = keySpec{1, -1, 2}
	}
	for _, c := range strings.Fields(`blpop brpop bzpopmin bzpopmax`) {
		m[c] = keySpec{1, -2, 1}
	}
	for _, c := range strings.Fields(`rename renamenx rpoplpush lmove smove copy`) {
		m[c] = keySpec{1, 2, 1}
	}
	m["brpoplpush"], m["blmove"] = keySpec{1, 2, 1}, keySpec{1, 2, 1}
	return m
}()
