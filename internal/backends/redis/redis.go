// Package redis is the Redis backend, built on go-redis' UniversalClient so
// standalone servers, Sentinel and Cluster can share one code path.
package redis

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/cachectl/cachectl/internal/backends"
)

// deleteBatch is how many UNLINKs go out in one pipeline: large enough to
// amortise the round trip, small enough to keep replies and memory bounded.
const deleteBatch = 1000

// prefixLen is how much of each string value a listing reads to guess its format.
const prefixLen = 64

var silenceOnce sync.Once

// quietLogger drops go-redis' own log lines, which would otherwise corrupt CLI
// output and the dashboard; every error reaches us as a returned value anyway.
type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}

// Backend talks to one Redis deployment.
type Backend struct {
	client goredis.UniversalClient
	target *target
	opts   backends.Options
	mu     sync.Mutex
	useDel bool // server predates UNLINK (Redis < 4)
	// failover: behind Sentinel, where READONLY means the master moved.
	failover bool
	version  string
}

// kind is the backend kind this package serves.
const kind = "redis"

// Driver declares the Redis backend for the table in internal/backends/drivers:
// standalone servers, Sentinel and Cluster.
var Driver = backends.Driver{
	Kind:     kind,
	Schemes:  []string{"redis", "rediss", "unix", "redis+sentinel", "redis+cluster"},
	Unlisted: []string{"rediss+sentinel", "rediss+cluster"},
	Open:     Open,
}

// Open connects lazily: no command is sent until the first operation, so
// `--help` and bad flags never wait on the network.
func Open(_ context.Context, u *url.URL, opts backends.Options) (backends.Backend, error) {
	t, err := parseURL(u, opts.Password)
	if err != nil {
		return nil, err
	}
	silenceOnce.Do(func() { goredis.SetLogger(quietLogger{}) })
	opts = opts.WithDefaults()
	uo := &goredis.UniversalOptions{
		Addrs:      t.Addrs,
		DB:         t.DB,
		Username:   t.Username,
		Password:   t.Password,
		TLSConfig:  t.TLS,
		MasterName: t.MasterName,
		// RESP2 works with every server and proxy back to Redis 2.x.
		Protocol:              2,
		DialTimeout:           opts.Timeout,
		ReadTimeout:           opts.Timeout,
		WriteTimeout:          opts.Timeout,
		ContextTimeoutEnabled: true,
		// One attempt, no retry (-1; 0 would mean go-redis' default of 3): an
		// operator wants "connection refused" now, and a write whose reply was
		// lost must never be sent again blindly: a re-sent UNLINK answers 0
		// for the keys the first attempt deleted, under-counting them, and a
		// re-sent SET or RESTORE may overwrite a newer value. Reads fail just
		// as honestly; go-redis already drops pooled connections the server
		// closed before reusing them. A failed dial is retried once: nothing
		// was sent.
		MaxRetries:      -1,
		DialerRetries:   1,
		PoolSize:        4,
		DisableIdentity: true,
		MaintNotificationsConfig: &maintnotifications.Config{
			Mode: maintnotifications.ModeDisabled,
		},
	}
	unixPath := ""
	if t.Network == "unix" {
		unixPath = t.Addrs[0]
	}
	if t.ClientName != "" {
		uo.OnConnect = t.nameConns(opts.Warn)
	}
	// Every connection of the deployment (each node, sentinel, master
	// learned from them) dials through opts.Dialer: an SSH tunnel when set.
	uo.Dialer = dialer(opts.Dialer(opts.Timeout), t.TLS, unixPath, opts.Timeout)
	switch t.Kind {
	case "cluster":
		uo.IsClusterMode = true
		// The cluster client follows MOVED and ASK for keyed commands
		// (reads, SET, EXPIRE); deletes, whose counts must be exact, go
		// through Cluster.DeleteKeys instead.
		uo.MaxRedirects = maxRedirects
		client := goredis.NewUniversalClient(uo)
		client.AddHook(cancelHook{})
		b := &Backend{client: client, target: t, opts: opts}
		return newCluster(b, uo), nil
	case "sentinel":
		uo.SentinelPassword = opts.SentinelPassword
		b := &Backend{target: t, opts: opts, failover: true}
		s := newSentinel(b, uo)
		// The failover client's own copy: only its dials name the master.
		fo := *uo
		fo.Dialer = s.dialer(uo.Dialer)
		b.client = goredis.NewUniversalClient(&fo)
		b.client.AddHook(cancelHook{})
		return s, nil
	}
	client := goredis.NewUniversalClient(uo)
	client.AddHook(cancelHook{})
	return &Backend{client: client, target: t, opts: opts}, nil
}

// cancelHook makes a command that fails after its caller's context was
// cancelled (Ctrl-C) fail with that cancellation, so the exit is 130: go-redis
// only notices the cancellation at the read deadline, as a timeout.
type cancelHook struct{}

func (cancelHook) DialHook(next goredis.DialHook) goredis.DialHook { return next }

func (cancelHook) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		return cancelled(ctx, next(ctx, cmd), cmd)
	}
}

func (cancelHook) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		return cancelled(ctx, next(ctx, cmds), cmds...)
	}
}

// cancelled replaces err, and the error of each failed command, by ctx's
// cancellation when there is one. A reply error (WRONGTYPE…) is an answer
// and stays.
func cancelled(ctx context.Context, err error, cmds ...goredis.Cmder) error {
	cerr := ctx.Err()
	if err == nil || !errors.Is(cerr, context.Canceled) || isReplyError(err) {
		return err
	}
	for _, c := range cmds {
		if c.Err() != nil && !isReplyError(c.Err()) {
			c.SetErr(cerr)
		}
	}
	return cerr
}

func (b *Backend) op(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, b.opts.Timeout)
}

// Describe reports the backend without network I/O.
func (b *Backend) Describe() backends.Info {
	return backends.Info{
		Kind:         kind,
		Address:      b.target.Display,
		Capabilities: []string{"ttl", "expire-persist", "types", "scan-match"},
	}
}

// Close releases the connection pool.
func (b *Backend) Close() error { return b.client.Close() }

// Get reads the value and metadata of one key in one round trip for strings.
func (b *Backend) Get(ctx context.Context, key string) (*backends.Entry, error) {
	ctx, cancel := b.op(ctx)
	defer cancel()
	var typ *goredis.StatusCmd
	var pttl *goredis.DurationCmd
	var get *goredis.StringCmd
	_, err := b.client.Pipelined(ctx, func(p goredis.Pipeliner) error {
		typ = p.Type(ctx, key)
		pttl = p.PTTL(ctx, key)
		get = p.Get(ctx, key)
		return nil
	})
	if err := typ.Err(); err != nil {
		return nil, b.wrap(err)
	}
	if noReply(err, typ) {
		return nil, b.wrap(err)
	}
	kind := typ.Val()
	if kind == "none" {
		return nil, backends.NotFound(key)
	}
	if err != nil && !isReplyError(err) {
		return nil, b.wrap(err)
	}
	e := &backends.Entry{Key: key, Type: kind}
	ttl, err := convertTTL(pttl.Val(), pttl.Err())
	if errors.Is(err, backends.ErrNotFound) {
		return nil, backends.NotFound(key) // expired between the commands
	} else if err != nil {
		return nil, b.wrap(err)
	}
	e.TTL = ttl
	if kind == "string" {
		v, err := get.Bytes()
		if errors.Is(err, goredis.Nil) {
			return nil, backends.NotFound(key)
		} else if err != nil {
			return nil, b.wrap(err)
		}
		e.Value = v
		e.Size = int64(len(v))
		return e, nil
	}
	coll, err := b.readCollection(ctx, key, kind)
	if err != nil {
		return nil, err
	}
	e.Collection = coll
	return e, nil
}

// readCollection reads at most MaxItems elements of a non-string value.
func (b *Backend) readCollection(ctx context.Context, key, kind string) (*backends.Collection, error) {
	limit := int64(b.opts.MaxItems)
	c := &backends.Collection{Kind: kind}
	var err error
	switch kind {
	case "hash":
		if c.Length, err = b.client.HLen(ctx, key).Result(); err != nil {
			return nil, b.wrap(err)
		}
		err = scanPairs(ctx, limit, func(cur uint64) ([]string, uint64, error) {
			return b.client.HScan(ctx, key, cur, "", limit).Result()
		}, func(f, v string) { c.Items = append(c.Items, backends.Item{Field: []byte(f), Value: []byte(v)}) })
	case "list":
		if c.Length, err = b.client.LLen(ctx, key).Result(); err != nil {
			return nil, b.wrap(err)
		}
		var vals []string
		vals, err = b.client.LRange(ctx, key, 0, limit-1).Result()
		for _, v := range vals {
			c.Items = append(c.Items, backends.Item{Value: []byte(v)})
		}
	case "set":
		if c.Length, err = b.client.SCard(ctx, key).Result(); err != nil {
			return nil, b.wrap(err)
		}
		var cur uint64
		for int64(len(c.Items)) < limit {
			var vals []string
			vals, cur, err = b.client.SScan(ctx, key, cur, "", limit).Result()
			if err != nil {
				break
			}
			for _, v := range vals {
				if int64(len(c.Items)) < limit {
					c.Items = append(c.Items, backends.Item{Value: []byte(v)})
				}
			}
			if cur == 0 {
				break
			}
		}
	case "zset":
		if c.Length, err = b.client.ZCard(ctx, key).Result(); err != nil {
			return nil, b.wrap(err)
		}
		var zs []goredis.Z
		zs, err = b.client.ZRangeWithScores(ctx, key, 0, limit-1).Result()
		for _, z := range zs {
			c.Items = append(c.Items, backends.Item{Value: []byte(fmt.Sprint(z.Member)), Score: z.Score})
		}
	case "stream":
		if c.Length, err = b.client.XLen(ctx, key).Result(); err != nil {
			return nil, b.wrap(err)
		}
		// Raw XRANGE keeps each entry's field order, which go-redis' map loses.
		var reply any
		reply, err = b.client.Do(ctx, "XRANGE", key, "-", "+", "COUNT", limit).Result()
		if err == nil {
			c.Items = parseXRange(reply)
		}
	default:
		// Module types (ReJSON-RL, TSDB-TYPE, ...) have no generic read.
		return c, nil
	}
	if err != nil {
		return nil, b.wrap(err)
	}
	c.Truncated = int64(len(c.Items)) < c.Length
	return c, nil
}

func scanPairs(ctx context.Context, limit int64, page func(uint64) ([]string, uint64, error), add func(f, v string)) error {
	var cur uint64
	n := int64(0)
	for n < limit {
		kv, next, err := page(cur)
		if err != nil {
			return err
		}
		for i := 0; i+1 < len(kv) && n < limit; i += 2 {
			add(kv[i], kv[i+1])
			n++
		}
		if next == 0 {
			return nil
		}
		cur = next
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	return nil
}

// Set stores a string value; a zero ttl means no expiry (and clears any old one).
func (b *Backend) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	ctx, cancel := b.op(ctx)
	defer cancel()
	if ttl < 0 {
		return fmt.Errorf("negative TTL %v", ttl)
	}
	return b.wrap(b.client.Set(ctx, key, value, ttl).Err())
}

// Delete unlinks keys in pipelined batches; Redis < 4 gets DEL instead.
func (b *Backend) Delete(ctx context.Context, keys ...string) (int64, error) {
	return inBatches(keys, func(batch []string) (int64, error) { return b.deleteBatch(ctx, batch) })
}

// inBatches deletes keys deleteBatch at a time, stopping at the first error
// with the count of what was deleted.
func inBatches(keys []string, del func(batch []string) (int64, error)) (int64, error) {
	var total int64
	for start := 0; start < len(keys); start += deleteBatch {
		n, err := del(keys[start:min(start+deleteBatch, len(keys))])
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

func (b *Backend) deleteBatch(ctx context.Context, keys []string) (int64, error) {
	ctx, cancel := b.op(ctx)
	defer cancel()
	b.mu.Lock()
	useDel := b.useDel
	b.mu.Unlock()
	cmds, err := b.client.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for _, k := range keys {
			if useDel {
				p.Del(ctx, k)
			} else {
				p.Unlink(ctx, k)
			}
		}
		return nil
	})
	if err != nil && !useDel && isUnknownCommand(err) {
		b.mu.Lock()
		b.useDel = true
		b.mu.Unlock()
		return b.deleteBatch(ctx, keys)
	}
	var n int64
	for _, c := range cmds {
		if ic, ok := c.(*goredis.IntCmd); ok && ic.Err() == nil {
			n += ic.Val()
		}
		if c.Err() != nil && !isReplyError(c.Err()) && isReplyError(err) {
			// A refusal (NOPERM) is an answer, but a command that got
			// none leaves the batch's fate unknown: that is the error.
			err = c.Err()
		}
	}
	if err != nil {
		return n, b.wrap(err)
	}
	return n, nil
}

// Scan pages through SCAN MATCH with the configured COUNT and hands each
// non-empty page to fn, so memory stays flat whatever the keyspace size.
// Like SCAN itself it may report a key twice when the server rehashes.
func (b *Backend) Scan(ctx context.Context, pattern string, fn func(keys []string) error) error {
	return b.scanWith(ctx, b.client, pattern, fn)
}

// scanWith is Scan on the given client (a replica's, on Sentinel).
func (b *Backend) scanWith(ctx context.Context, client goredis.Cmdable, pattern string, fn func(keys []string) error) error {
	match := pattern
	if match == "*" {
		match = "" // cheaper for the server: no per-key glob match
	}
	var cursor uint64
	for {
		opCtx, cancel := b.op(ctx)
		keys, next, err := client.Scan(opCtx, cursor, match, int64(b.opts.ScanCount)).Result()
		cancel()
		if err != nil {
			return b.wrap(err)
		}
		if len(keys) > 0 {
			if err := fn(keys); err != nil {
				return err
			}
		}
		if next == 0 {
			return nil
		}
		cursor = next
	}
}

// Inspect reads type, TTL, size and the first bytes of each key in one
// pipeline, plus one more for the lengths of collections. A command the
// user's ACL refuses (or a key outside its key patterns) leaves those fields
// unknown and is named in KeyInfo.Denied; the key is still listed, since
// SCAN showed it.
func (b *Backend) Inspect(ctx context.Context, keys []string) ([]backends.KeyInfo, error) {
	ctx, cancel := b.op(ctx)
	defer cancel()
	type row struct {
		typ    *goredis.StatusCmd
		pttl   *goredis.DurationCmd
		strlen *goredis.IntCmd
		prefix *goredis.StringCmd
	}
	rows := make([]row, len(keys))
	_, err := b.client.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, k := range keys {
			rows[i] = row{p.Type(ctx, k), p.PTTL(ctx, k), p.StrLen(ctx, k), p.GetRange(ctx, k, 0, prefixLen-1)}
		}
		return nil
	})
	if err != nil && (!isReplyError(err) || (len(rows) > 0 && noReply(err, rows[0].typ))) {
		return nil, b.wrap(err)
	}
	out := make([]backends.KeyInfo, len(keys))
	lenCmds := map[int]*goredis.IntCmd{}
	for i, k := range keys {
		r := rows[i]
		ki := backends.KeyInfo{Key: k, Type: r.typ.Val(), Size: -1}
		if keyDenied(r.typ.Err()) {
			// Every command on the key is refused alike.
			ki.Type, ki.TTL, ki.Length, ki.Partial = "", backends.UnknownTTL, -1, true
			ki.Denied = []string{backends.DeniedKey}
			out[i] = ki
			continue
		}
		deny := func(name string, err error) bool {
			if !commandDenied(err) {
				return false
			}
			ki.Denied = append(ki.Denied, name)
			return true
		}
		typeDenied := deny("TYPE", r.typ.Err())
		switch ttl, err := convertTTL(r.pttl.Val(), r.pttl.Err()); {
		case deny("PTTL", r.pttl.Err()):
			ki.TTL = backends.UnknownTTL
		case err != nil:
			ki.Missing = true // expired or deleted since the listing saw it
		default:
			ki.TTL = ttl
		}
		if typeDenied && r.strlen.Err() == nil && !ki.Missing {
			// STRLEN answers WRONGTYPE for anything but a string.
			ki.Type = "string"
		}
		switch {
		case ki.Missing, !typeDenied && (ki.Type == "none" || ki.Type == ""):
			ki.Missing = true
		case ki.Type == "string":
			if !deny("STRLEN", r.strlen.Err()) {
				ki.Size = r.strlen.Val()
			}
			if deny("GETRANGE", r.prefix.Err()) {
				ki.Partial = true
			} else {
				ki.Prefix = []byte(r.prefix.Val())
				ki.Partial = ki.Size < 0 || ki.Size > int64(len(ki.Prefix))
			}
		case ki.Type == "":
			ki.Length, ki.Partial = -1, true // TYPE refused: not even the kind is known
		default:
			lenCmds[i] = nil
		}
		out[i] = ki
	}
	if len(lenCmds) > 0 {
		_, err := b.client.Pipelined(ctx, func(p goredis.Pipeliner) error {
			for i := range lenCmds {
				lenCmds[i] = lengthCmd(ctx, p, keys[i], out[i].Type)
			}
			return nil
		})
		if err != nil && !isReplyError(err) {
			return nil, b.wrap(err)
		}
		for i, c := range lenCmds {
			switch {
			case c == nil:
			case commandDenied(c.Err()) || keyDenied(c.Err()):
				out[i].Length = -1
				out[i].Denied = append(out[i].Denied, strings.ToUpper(c.Name()))
			default:
				out[i].Length = c.Val()
			}
		}
	}
	return out, nil
}

// commandDenied reports an ACL refusal of the command itself ("NOPERM this
// user has no permissions to run the 'pttl' command"; 7.2 and later begin
// "NOPERM User u has no permissions to run").
func commandDenied(err error) bool {
	return err != nil && strings.HasPrefix(err.Error(), "NOPERM") && !keyDenied(err)
}

// keyDenied reports an ACL refusal of the key: it is outside the user's key
// patterns ("NOPERM this user has no permissions to access one of the keys
// used as arguments"; 7.2 and later: "NOPERM No permissions to access a key").
func keyDenied(err error) bool {
	if err == nil || !strings.HasPrefix(err.Error(), "NOPERM") {
		return false
	}
	msg := strings.ToLower(err.Error())
	return strings.Contains(msg, "access") && strings.Contains(msg, "key")
}

func lengthCmd(ctx context.Context, p goredis.Pipeliner, key, kind string) *goredis.IntCmd {
	switch kind {
	case "hash":
		return p.HLen(ctx, key)
	case "list":
		return p.LLen(ctx, key)
	case "set":
		return p.SCard(ctx, key)
	case "zset":
		return p.ZCard(ctx, key)
	case "stream":
		return p.XLen(ctx, key)
	}
	return nil
}

// TTL reports the remaining lifetime of key.
func (b *Backend) TTL(ctx context.Context, key string) (backends.TTL, error) {
	ctx, cancel := b.op(ctx)
	defer cancel()
	d, err := b.client.PTTL(ctx, key).Result()
	ttl, err := convertTTL(d, err)
	if errors.Is(err, backends.ErrNotFound) {
		return ttl, backends.NotFound(key)
	}
	return ttl, b.wrap(err)
}

// Expire sets a new lifetime; zero makes the key persistent.
func (b *Backend) Expire(ctx context.Context, key string, ttl time.Duration) error {
	ctx, cancel := b.op(ctx)
	defer cancel()
	if ttl < 0 {
		return fmt.Errorf("negative TTL %v", ttl)
	}
	if ttl > 0 {
		ok, err := b.client.PExpire(ctx, key, ttl).Result()
		if err != nil {
			return b.wrap(err)
		}
		if !ok {
			return backends.NotFound(key)
		}
		return nil
	}
	// PERSIST answers 0 both for a missing key and for one without a TTL.
	var exists *goredis.IntCmd
	cmds, err := b.client.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		p.Persist(ctx, key)
		exists = p.Exists(ctx, key)
		return nil
	})
	if err != nil {
		return b.wrap(txErr(cmds, err))
	}
	if exists.Val() == 0 {
		return backends.NotFound(key)
	}
	return nil
}

// convertTTL maps go-redis' PTTL sentinels (-1 no expiry, -2 missing, which it
// returns as nanosecond Durations) to explicit values.
func convertTTL(d time.Duration, err error) (backends.TTL, error) {
	if err != nil {
		return backends.TTL{}, err
	}
	switch {
	case d == -2 || d == -2*time.Millisecond || d == -2*time.Second:
		return backends.TTL{}, backends.ErrNotFound
	case d < 0:
		return backends.NoExpiry, nil
	}
	return backends.ExpiresIn(d), nil
}

// Stats reads INFO and DBSIZE. A user whose ACL refuses either still gets
// the other's figures, the refusal in Stats.Denied.
func (b *Backend) Stats(ctx context.Context) (*backends.Stats, error) {
	s, err := b.nodeStats(ctx, b.client, b.serverName(), nil)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	b.version = s.Version
	b.mu.Unlock()
	return s, nil
}

func (b *Backend) serverName() string {
	if len(b.target.Addrs) > 0 {
		return b.target.Addrs[0]
	}
	return b.target.Display
}

// wrap turns go-redis errors into the backend error types, never leaking a
// password (go-redis messages carry addresses, not credentials).
func (b *Backend) wrap(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	if te := backends.TunnelError(err); te != nil {
		return te
	}
	var ne net.Error
	var op *net.OpError
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() && !(errors.As(err, &op) && op.Op == "dial") {
		// A read or write deadline: the server took the request (or the
		// link hangs) and did not answer in time.
		return &backends.ConnError{Address: b.target.Display, Err: fmt.Errorf("no answer within %v (raise --timeout?)", b.opts.Timeout)}
	}
	if b.failover {
		if e := sentinelsErr(b.target.Display, err); e != nil {
			return e
		}
	}
	if isReplyError(err) && b.failover && notExecuted(err) {
		// Behind Sentinel, a demoted master's READONLY (or LOADING,
		// MASTERDOWN) means the master moved and the command did not run:
		// a connection to the wrong node, which a failover rides through.
		return &backends.ConnError{Address: b.target.Display, Err: fmt.Errorf("the master moved (%s)", strings.SplitN(err.Error(), " ", 2)[0])}
	}
	if pe := b.permissionError(err); pe != nil {
		return pe
	}
	if isReplyError(err) {
		msg := b.target.mask(err.Error(), b.opts.SentinelPassword)
		if strings.HasPrefix(msg, "NOAUTH") || strings.HasPrefix(msg, "WRONGPASS") || strings.Contains(msg, "invalid password") {
			msg = "authentication failed (" + msg + "); check the user and password (password_env or CACHECTL_PASSWORD)"
		}
		return &backends.ServerError{Address: b.target.Display, Msg: msg}
	}
	if p := certProblem(err); p != "" {
		return &backends.ConnError{Address: b.target.Display, Err: errors.New(p)}
	}
	return &backends.ConnError{Address: b.target.Display, Err: simplifyNetErr(err)}
}

// txErr is a MULTI/EXEC's error: when the server aborted it for a queued
// command's error (an ACL refusal), that error, which names the command
// and its grant, rather than EXECABORT's "previous errors".
func txErr(cmds []goredis.Cmder, err error) error {
	if err == nil || !strings.HasPrefix(err.Error(), "EXECABORT") {
		return err
	}
	for _, c := range cmds {
		if e := c.Err(); isReplyError(e) && !strings.HasPrefix(e.Error(), "EXECABORT") {
			return e
		}
	}
	return err
}

// isReplyError reports an error reply from the server (go-redis marks those
// with a RedisError method), as opposed to an I/O failure.
func isReplyError(err error) bool {
	var re goredis.Error
	return errors.As(err, &re) && !errors.Is(err, goredis.Nil)
}

// noReply reports a pipeline that failed before its first command was
// answered (e.g. AUTH refused while connecting): go-redis then returns the
// error for the pipeline but leaves the commands' own errors unset.
func noReply(pipeErr error, first *goredis.StatusCmd) bool {
	return pipeErr != nil && first.Err() == nil && first.Val() == ""
}

func isUnknownCommand(err error) bool {
	return err != nil && strings.Contains(strings.ToLower(err.Error()), "unknown command")
}

// simplifyNetErr keeps the useful tail of a dial error ("connection refused")
// instead of go-redis' full chain.
func simplifyNetErr(err error) error {
	msg := err.Error()
	for _, tail := range []string{"connection refused", "no such host", "i/o timeout", "no such file or directory", "permission denied", "connection reset by peer", "certificate signed by unknown authority", "EOF"} {
		if strings.Contains(msg, tail) {
			if tail == "EOF" {
				return errors.New("connection closed by server")
			}
			if tail == "i/o timeout" {
				return errors.New("timed out")
			}
			return errors.New(tail)
		}
	}
	return err
}

// sentinelsErr rewrites go-redis' "all sentinels specified in configuration
// are unreachable: …" (each sentinel's reason, run together) as one reason:
// a refused password says which password, anything else names the first
// failure. nil when err is not about the sentinels.
func sentinelsErr(addr string, err error) error {
	const marker = "all sentinels specified in configuration are unreachable"
	msg := err.Error()
	i := strings.Index(msg, marker)
	if i < 0 {
		return nil
	}
	reason := strings.TrimSpace(strings.TrimPrefix(msg[i+len(marker):], ":"))
	if strings.Contains(reason, "redis: nil") {
		// Each sentinel answered nil: it knows no master of that name.
		return &backends.ServerError{Address: addr, Msg: "the sentinels monitor no master of that name (SENTINEL MASTERS lists the names)"}
	}
	for _, auth := range []string{"WRONGPASS", "NOAUTH", "invalid password"} {
		if strings.Contains(reason, auth) {
			return &backends.ServerError{Address: addr, Msg: "the sentinels refused the password (" + auth + "); the sentinels' password comes from ?sentinel_password_env=NAME, a context's sentinel_password_env or CACHECTL_SENTINEL_PASSWORD, the data nodes' from the URL or password_env"}
		}
	}
	if reason != "" {
		return &backends.ConnError{Address: addr, Err: fmt.Errorf("no sentinel answered: %v", simplifyNetErr(errors.New(reason)))}
	}
	return &backends.ConnError{Address: addr, Err: errors.New("no sentinel answered")}
}
