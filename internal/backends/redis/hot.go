package redis

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/glob"
	"github.com/cachectl/cachectl/internal/textesc"
)

var (
	_ backends.HotKeyer = (*Backend)(nil)
	_ backends.HotKeyer = (*Cluster)(nil)
	_ backends.HotKeyer = (*Sentinel)(nil)
)

// hotNode is one server a hot-key measurement reads.
type hotNode struct {
	addr string
	cl   *goredis.Client
	// shown names the node in errors: the URL for a standalone server, as
	// every other command's errors do; else the node's address.
	shown string
}

// HotKeys measures the hot keys of a standalone server (backends.HotKeyer).
func (b *Backend) HotKeys(ctx context.Context, opts backends.HotOptions) (*backends.HotReport, error) {
	cl, ok := b.client.(*goredis.Client)
	if !ok {
		return nil, &backends.UnsupportedError{What: "hot keys on this kind of Redis client"}
	}
	return b.hotKeys(ctx, opts, []hotNode{{addr: b.serverName(), cl: cl, shown: b.target.Display}}, b.target.DB)
}

// HotKeys measures on every primary: each sees only its own slots' traffic.
// Reads that an application sends to replicas are not seen.
func (c *Cluster) HotKeys(ctx context.Context, opts backends.HotOptions) (*backends.HotReport, error) {
	t, err := c.refresh(ctx)
	if err != nil {
		return nil, err
	}
	var nodes []hotNode
	for _, n := range t.nodes {
		if n.primary && !n.noAddr && !n.failing && len(n.slots) > 0 {
			nodes = append(nodes, hotNode{addr: n.addr, cl: c.node(n.addr), shown: n.addr})
		}
	}
	if len(nodes) == 0 {
		return nil, &backends.ConnError{Address: c.target.Display, Err: errors.New("no primary with slots is reachable")}
	}
	return c.Backend.hotKeys(ctx, opts, nodes, 0)
}

// HotKeys measures on the master the sentinels name (not its replicas).
func (s *Sentinel) HotKeys(ctx context.Context, opts backends.HotOptions) (*backends.HotReport, error) {
	m, err := s.masterAddr(ctx)
	if err != nil {
		return nil, err
	}
	return s.Backend.hotKeys(ctx, opts, []hotNode{{addr: m, cl: s.nodes.get(m), shown: m}}, s.target.DB)
}

func (b *Backend) hotKeys(ctx context.Context, opts backends.HotOptions, nodes []hotNode, db int) (*backends.HotReport, error) {
	method := opts.Method
	if method == "" {
		hotkeys := true
		for _, n := range nodes {
			hotkeys = hotkeys && b.hasCommand(ctx, n, "hotkeys")
		}
		if hotkeys {
			r, err := b.hotCPU(ctx, opts, nodes)
			var ue *hotkeysUnusable
			if !errors.As(err, &ue) {
				return r, err
			}
			opts.Say(fmt.Sprintf("HOTKEYS could not be used (%v): measuring another way", ue.err))
		}
		var err error
		if method, err = b.hotMethod(ctx, opts, nodes); err != nil {
			return nil, err
		}
	}
	switch method {
	case backends.HotFreq:
		return b.hotFreq(ctx, opts, nodes)
	case backends.HotMonitor:
		return b.hotMonitor(ctx, opts, nodes, db)
	case backends.HotCPU:
		return b.hotCPU(ctx, opts, nodes)
	}
	return nil, &backends.UnsupportedError{What: "hot-key method " + method + " on Redis (it has " + backends.HotFreq + ", " + backends.HotMonitor + " and, from Redis 8.6, " + backends.HotCPU + ")"}
}

// hotMethod picks OBJECT FREQ when every node has an LFU maxmemory policy
// (its counters are there for the reading), else a MONITOR sample.
func (b *Backend) hotMethod(ctx context.Context, opts backends.HotOptions, nodes []hotNode) (string, error) {
	lfu := 0
	for _, n := range nodes {
		opCtx, cancel := b.op(ctx)
		vals, err := n.cl.ConfigGet(opCtx, "maxmemory-policy").Result()
		cancel()
		switch {
		case commandDenied(err):
			// Whether the counters are kept shows in OBJECT FREQ's answer.
			on, perr := b.probeLFU(ctx, n)
			if perr != nil {
				return "", perr
			}
			opts.Say(fmt.Sprintf("could not read maxmemory-policy on %s (%s): asked OBJECT FREQ instead, which says the LFU counters are %s", n.addr, briefOf(b.wrapAt(n.shown, err)), map[bool]string{true: "kept", false: "not kept"}[on]))
			if on {
				lfu++
			}
		case err != nil:
			return "", b.wrapAt(n.shown, err)
		case strings.Contains(vals["maxmemory-policy"], "lfu"):
			lfu++
		}
	}
	switch lfu {
	case len(nodes):
		return backends.HotFreq, nil
	case 0:
	default:
		opts.Say(fmt.Sprintf("only %d of %d primaries have an LFU maxmemory policy: sampling every primary with MONITOR", lfu, len(nodes)))
	}
	return backends.HotMonitor, nil
}

// hasCommand asks COMMAND INFO whether the server knows a command; false
// when it cannot tell.
func (b *Backend) hasCommand(ctx context.Context, n hotNode, name string) bool {
	opCtx, cancel := b.op(ctx)
	defer cancel()
	v, err := n.cl.Do(opCtx, "COMMAND", "INFO", name).Slice()
	return err == nil && len(v) == 1 && v[0] != nil
}

// probeLFU asks OBJECT FREQ of one key whether the node keeps LFU
// counters: false when it says no, when it has no key to ask of, or when
// the user may not ask.
func (b *Backend) probeLFU(ctx context.Context, n hotNode) (bool, error) {
	opCtx, cancel := b.op(ctx)
	defer cancel()
	keys, _, err := n.cl.Scan(opCtx, 0, "", 100).Result()
	if err != nil || len(keys) == 0 {
		return false, nil
	}
	err = n.cl.ObjectFreq(opCtx, keys[0]).Err()
	switch {
	case err == nil, errors.Is(err, goredis.Nil):
		return true, nil
	case isReplyError(err):
		return false, nil
	}
	return false, b.wrapAt(n.shown, err)
}

// lfuOff is the start of Redis' reply to OBJECT FREQ without an LFU policy.
const lfuOff = "ERR An LFU maxmemory policy is not selected"

// hotFreq reads the LFU counter of every key matching the patterns: SCAN on
// each node, OBJECT FREQ pipelined per page, the top kept in bounded memory.
func (b *Backend) hotFreq(ctx context.Context, opts backends.HotOptions, nodes []hotNode) (*backends.HotReport, error) {
	top := backends.NewTopFreq(opts.Top)
	patterns := opts.Patterns
	if len(patterns) == 0 {
		patterns = []string{"*"}
	}
	if opts.Started != nil {
		opts.Started(backends.HotFreq)
	}
	errs := make([]error, len(nodes))
	var wg sync.WaitGroup
	for i, n := range nodes {
		wg.Go(func() {
			errs[i] = b.freqNode(ctx, n, patterns, top)
			if errs[i] != nil && ctx.Err() == nil {
				top.Fail(n.addr, errs[i])
			}
		})
	}
	wg.Wait()
	r := top.Report()
	if err := ctx.Err(); err != nil {
		return r, err
	}
	failed := 0
	for _, err := range errs {
		var pe *backends.PermissionError
		var se *backends.ServerError
		if errors.As(err, &se) && strings.HasPrefix(se.Msg, lfuOff) {
			return nil, fmt.Errorf("the LFU counters need an LFU maxmemory-policy (allkeys-lfu or volatile-lfu), which %s does not have; without one, sample with --method %s: %w", se.Address, backends.HotMonitor, err)
		}
		if errors.As(err, &pe) {
			return nil, err // the same on every node: no figure to show
		}
		if err != nil {
			failed++
		}
	}
	if failed == len(nodes) {
		return nil, errors.Join(errs...)
	}
	return r, nil
}

func (b *Backend) freqNode(ctx context.Context, n hotNode, patterns []string, top *backends.TopFreq) error {
	for i, p := range patterns {
		earlier := patterns[:i]
		var cursor uint64
		for {
			opCtx, cancel := b.op(ctx)
			keys, next, err := n.cl.Scan(opCtx, cursor, p, int64(b.opts.ScanCount)).Result()
			cancel()
			if err != nil {
				return b.wrapAt(n.shown, err)
			}
			if err := b.freqPage(ctx, n, keys, earlier, top); err != nil {
				return err
			}
			if next == 0 {
				break
			}
			cursor = next
		}
	}
	return nil
}

// freqPage reads one page's counters in one pipeline; keys gone meanwhile
// are left out, and keys an earlier pattern matched were counted already.
func (b *Backend) freqPage(ctx context.Context, n hotNode, keys, earlier []string, top *backends.TopFreq) error {
	keys = slices.DeleteFunc(keys, func(k string) bool {
		return slices.ContainsFunc(earlier, func(p string) bool { return glob.Match(p, k) })
	})
	if len(keys) == 0 {
		return nil
	}
	opCtx, cancel := b.op(ctx)
	defer cancel()
	cmds := make([]*goredis.IntCmd, len(keys))
	_, err := n.cl.Pipelined(opCtx, func(p goredis.Pipeliner) error {
		for i, k := range keys {
			cmds[i] = p.ObjectFreq(opCtx, k)
		}
		return nil
	})
	if err != nil && !errors.Is(err, goredis.Nil) && !isReplyError(err) {
		return b.wrapAt(n.shown, err)
	}
	for i, c := range cmds {
		f, err := c.Result()
		switch {
		case errors.Is(err, goredis.Nil), err != nil && strings.Contains(err.Error(), "no such key"):
			continue // deleted since the SCAN
		case err != nil:
			return b.wrapAt(n.shown, err)
		}
		top.Add(n.addr, keys[i], f)
	}
	return nil
}

// monitorLineMax is how much of one MONITOR line is kept: a SET of a big
// value is printed whole, and only its first arguments (the key) matter.
const monitorLineMax = 64 << 10

// hotMonitor samples every node's commands with MONITOR for opts.Duration
// and counts the key accesses of the commands run in db.
func (b *Backend) hotMonitor(ctx context.Context, opts backends.HotOptions, nodes []hotNode, db int) (*backends.HotReport, error) {
	counter := opts.NewCounter()
	specs := make([]map[string]keySpec, len(nodes))
	for i, n := range nodes {
		counter.Node(n.addr)
		specs[i] = b.keySpecs(ctx, n, opts)
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	starts := make(chan error, len(nodes))
	var wg sync.WaitGroup
	var mu sync.Mutex
	failed := 0
	for i, n := range nodes {
		wg.Go(func() {
			err := b.monitorNode(sctx, n, db, specs[i], counter, func(err error) { starts <- err })
			if err == nil || sctx.Err() != nil {
				return
			}
			counter.Fail(n.addr, err)
			opts.Say(fmt.Sprintf("MONITOR on %s ended early: %v", n.addr, err))
			mu.Lock()
			failed++
			all := failed == len(nodes)
			mu.Unlock()
			if all {
				cancel()
			}
		})
	}
	for range nodes {
		if err := <-starts; err != nil {
			cancel()
			wg.Wait()
			return nil, err
		}
	}
	took := opts.Sample(sctx, backends.HotMonitor)
	cancel()
	wg.Wait()
	r := counter.Report(backends.HotMonitor, took, opts.Top)
	if err := ctx.Err(); err != nil {
		return r, err
	}
	if failed == len(nodes) {
		return r, fmt.Errorf("MONITOR ended early on every node: %s", r.Nodes[0].Err)
	}
	return r, nil
}

// keySpecs are the key positions of the node's commands, from COMMAND;
// a user who may not run it gets those of the common commands.
func (b *Backend) keySpecs(ctx context.Context, n hotNode, opts backends.HotOptions) map[string]keySpec {
	opCtx, cancel := b.op(ctx)
	defer cancel()
	infos, err := n.cl.Command(opCtx).Result()
	if err != nil || len(infos) == 0 {
		why := "no reply"
		if err != nil {
			why = briefOf(b.wrapAt(n.shown, err))
		}
		opts.Say(fmt.Sprintf("COMMAND failed on %s (%s): keys are found for the common commands only", n.addr, why))
		return knownKeySpecs
	}
	specs := make(map[string]keySpec, len(infos))
	for name, ci := range infos {
		specs[strings.ToLower(name)] = keySpec{First: int(ci.FirstKeyPos), Last: int(ci.LastKeyPos), Step: int(ci.StepCount)}
	}
	return specs
}

// replyError is an error reply read off a raw connection, seen by the
// backend's error mapping as go-redis' own (NOPERM becomes a
// PermissionError).
type replyError string

func (e replyError) Error() string { return string(e) }
func (replyError) RedisError()     {}

// monitorNode runs MONITOR on a connection of its own (go-redis has no
// bounded, cancellable reader for it) until ctx ends, counting every
// command of db. started hears whether MONITOR was accepted; a failure
// before that is returned too.
func (b *Backend) monitorNode(ctx context.Context, n hotNode, db int, specs map[string]keySpec, counter *backends.HotCounter, started func(error)) error {
	err := b.monitorConn(ctx, n, func(rd *bufio.Reader) error {
		started(nil)
		return readMonitor(rd, func(line []byte, cut bool) {
			m, ok := parseMonitorLine(line, cut)
			if !ok || m.DB != db {
				return
			}
			spec, ok := specs[strings.ToLower(m.Args[0])]
			var keys []string
			if ok {
				keys = spec.keys(keys, m.Args)
			}
			counter.Command(n.addr, keys...)
		})
	})
	var ns *notStartedError
	if errors.As(err, &ns) {
		started(ns.err)
		return ns.err
	}
	return err
}

// notStartedError is a failure before MONITOR was accepted.
type notStartedError struct{ err error }

func (e *notStartedError) Error() string { return e.err.Error() }
func (e *notStartedError) Unwrap() error { return e.err }

// monitorConn dials n as its client would (TLS, SSH tunnel), logs in and
// sends MONITOR; once accepted, read gets the stream until ctx ends.
func (b *Backend) monitorConn(ctx context.Context, n hotNode, read func(*bufio.Reader) error) error {
	o := n.cl.Options()
	fail := func(err error) error { return &notStartedError{err: b.wrapAt(n.shown, err)} }
	if o.Dialer == nil {
		return fail(errors.New("no dialer"))
	}
	conn, err := o.Dialer(ctx, "tcp", o.Addr)
	if err != nil {
		return &notStartedError{err: &backends.ConnError{Address: n.shown, Err: simplifyNetErr(err)}}
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	rd := bufio.NewReaderSize(conn, monitorLineMax)
	_ = conn.SetDeadline(time.Now().Add(b.opts.Timeout))
	if o.Password != "" {
		args := []string{"AUTH", o.Password}
		if o.Username != "" {
			args = []string{"AUTH", o.Username, o.Password}
		}
		if err := monitorCommand(conn, rd, args...); err != nil {
			return fail(err)
		}
	}
	if err := monitorCommand(conn, rd, "MONITOR"); err != nil {
		if pe := b.permissionError(err); pe != nil {
			named := *pe
			named.Address = n.shown
			return &notStartedError{err: &named}
		}
		return fail(err)
	}
	// A quiet server sends nothing: the sample ends with ctx, not a deadline.
	_ = conn.SetDeadline(time.Time{})
	err = read(rd)
	if ctx.Err() != nil {
		return nil
	}
	if errors.Is(err, io.EOF) {
		err = errors.New("the server closed the connection")
	}
	var ne net.Error
	if errors.As(err, &ne) {
		err = simplifyNetErr(err)
	}
	return &backends.ConnError{Address: n.shown, Err: err}
}

// monitorCommand sends one command as a RESP array and reads its one-line
// answer: nil for +OK, a replyError for an error reply.
func monitorCommand(w io.Writer, rd *bufio.Reader, args ...string) error {
	var sb strings.Builder
	fmt.Fprintf(&sb, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&sb, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := io.WriteString(w, sb.String()); err != nil {
		return err
	}
	line, err := rd.ReadSlice('\n')
	if err != nil {
		return err
	}
	s := strings.TrimRight(string(line), "\r\n")
	switch {
	case strings.HasPrefix(s, "+"):
		return nil
	case strings.HasPrefix(s, "-"):
		return replyError(s[1:])
	}
	return fmt.Errorf("unexpected reply %s", textesc.Line(s))
}

// readMonitor hands each status line of the stream to fn, without its "+"
// and CRLF; a line longer than the reader's buffer is handed cut, and the
// rest of it skipped.
func readMonitor(rd *bufio.Reader, fn func(line []byte, cut bool)) error {
	for {
		line, err := rd.ReadSlice('\n')
		cut := false
		if errors.Is(err, bufio.ErrBufferFull) {
			cut = true
			line = slices.Clone(line)
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = rd.ReadSlice('\n')
			}
		}
		if err != nil {
			return err
		}
		if len(line) == 0 || line[0] != '+' {
			continue // an error reply or garbage: not a command
		}
		line = line[1:]
		if !cut {
			line = trimCRLF(line)
		}
		fn(line, cut)
	}
}

func trimCRLF(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
	}
	if n := len(b); n > 0 && b[n-1] == '\r' {
		b = b[:n-1]
	}
	return b
}
