package redis

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/textesc"
)

var (
	_ backends.Watcher = (*Backend)(nil)
	_ backends.Watcher = (*Cluster)(nil)
	_ backends.Watcher = (*Sentinel)(nil)
)

// keyEvents maps the keyevent names Redis publishes that are not writes of
// a value to the kinds of a watch. Every other name (set, setrange, incrby,
// append, lpush, hset, sadd, zadd, xadd, restore, copy_to, rename_to, …,
// and whatever a later Redis adds) is a write: EventSet. README "watch"
// has the table.
var keyEvents = map[string]string{
	"del":         backends.EventDel,
	"rename_from": backends.EventDel, // the old name is gone; rename_to follows
	"move_from":   backends.EventDel, // MOVE to another database
	"expired":     backends.EventExpired,
	"evicted":     backends.EventEvicted,
	"expire":      backends.EventExpire, // EXPIRE, PEXPIRE(AT), SET … EX, GETEX
	"persist":     backends.EventExpire, // TTL removed
	// Not changes of the key: "new" (class n) precedes the write event of a
	// created key, "keymiss" (class m) is a read of a missing one.
	"new":     "",
	"keymiss": "",
}

// eventKind is the watch kind of a Redis keyevent name; "" to skip it.
func eventKind(name string) string {
	if k, ok := keyEvents[name]; ok {
		return k
	}
	return backends.EventSet
}

// notifyNeeds are the notify-keyspace-events classes a watch needs: keyevent
// channels (E) of generic commands (g: del, expire, rename…), strings ($),
// lists (l), sets (s), hashes (h), sorted sets (z), expiries (x), evictions
// (e) and streams (t, Redis 5+).
const notifyNeeds = "Eg$lshzxet"

// notifyAll is what the class A stands for (Redis 7; d, module types, is
// not needed but comes with it).
const notifyAll = "g$lshzxetd"

// missingClasses lists the classes of notifyNeeds that value lacks.
func missingClasses(value string) string {
	have := strings.ReplaceAll(value, "A", notifyAll)
	var missing strings.Builder
	for _, c := range notifyNeeds {
		if !strings.ContainsRune(have, c) {
			missing.WriteRune(c)
		}
	}
	return missing.String()
}

// watchNode is one server a watch subscribes on.
type watchNode struct {
	addr string
	cl   *goredis.Client
}

// watchRun is one watch across the nodes it follows.
type watchRun struct {
	b       *Backend
	opts    backends.WatchOptions
	sink    *backends.EventSink
	channel string
	// pingEvery is how long a quiet subscription waits before a PING; a
	// second quiet period without its PONG means the link is dead.
	pingEvery time.Duration
	// checkEvery is how often a subscription reads notify-keyspace-events
	// again: turned off under the watch (by hand, by another watch putting
	// its old value back), events would stop without a sign.
	checkEvery time.Duration
	notify     notifyTracker

	mu     sync.Mutex
	warned map[string]bool
	// lost holds, per node, since when its subscription has been down.
	lost map[string]time.Time
	// nudge asks the topology follower (cluster, Sentinel) to look now.
	nudge chan struct{}
}

func (b *Backend) newWatchRun(opts backends.WatchOptions, fn func(backends.Event) error) *watchRun {
	return &watchRun{
		b:          b,
		opts:       opts,
		sink:       backends.NewEventSink(opts.Patterns, fn),
		channel:    fmt.Sprintf("__keyevent@%d__:*", b.target.DB),
		pingEvery:  max(b.opts.Timeout, time.Second),
		checkEvery: max(b.opts.Timeout, time.Second),
		warned:     map[string]bool{},
		lost:       map[string]time.Time{},
		nudge:      make(chan struct{}, 1),
		notify:     notifyTracker{set: map[string]*notifyChange{}},
	}
}

func (r *watchRun) warn(msg string) {
	r.mu.Lock()
	seen := r.warned[msg]
	r.warned[msg] = true
	r.mu.Unlock()
	if !seen && r.b.opts.Warn != nil {
		r.b.opts.Warn(msg)
	}
}

// Watch streams the key events of a standalone server (backends.Watcher).
func (b *Backend) Watch(ctx context.Context, opts backends.WatchOptions, fn func(backends.Event) error) error {
	cl, ok := b.client.(*goredis.Client)
	if !ok {
		return &backends.UnsupportedError{What: "watch on this kind of Redis client"}
	}
	r := b.newWatchRun(opts, fn)
	err := r.follow(ctx, watchNode{addr: b.serverName(), cl: cl}, func(err error) {
		if err == nil && opts.Ready != nil {
			opts.Ready()
		}
	}, nil)
	return r.finish(err)
}

// finish restores what the watch changed and says how it ended: ctx's
// error, fn's, a failure to start, or a failure to restore.
func (r *watchRun) finish(err error) error {
	if ferr := r.sink.Err(); ferr != nil {
		err = ferr
	}
	rerr := r.notify.restore(r)
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		if rerr != nil {
			return rerr
		}
	}
	return err
}

// joinGap is the gap a node's first subscription reports: a primary that
// took over (failover, new master) may have had events before it was
// followed.
type joinGap struct {
	since time.Time
	why   string
}

// follow subscribes on n and delivers its events until ctx ends or the sink
// fails. Until the first subscription is confirmed, a failure is final and
// is handed to started (then follow returns it); afterwards a lost subscription
// is retried until it is back, and reported as a gap. join, when set, is
// reported as a gap once first subscribed.
func (r *watchRun) follow(ctx context.Context, n watchNode, started func(error), join *joinGap) error {
	backoff := 100 * time.Millisecond
	first, down := true, false
	var since time.Time // when the subscription was lost
	var why string
	for {
		ps, err := r.subscribe(ctx, n)
		if err == nil {
			backoff = 100 * time.Millisecond
			switch {
			case first && join != nil:
				err = r.gap(n.addr, join.since, join.why)
			case !first:
				err = r.gap(n.addr, since, "resubscribed after "+why)
			}
			if first && started != nil {
				started(nil)
			}
			first, down = false, false
			r.setLost(n.addr, time.Time{})
			since = time.Time{}
			if err == nil {
				since, err = r.receive(ctx, n, ps)
			}
			ps.Close()
		}
		if err := ctxEnded(ctx); err != nil {
			return err
		}
		if serr := r.sink.Err(); serr != nil {
			return serr
		}
		var off *backends.NotificationsOffError
		var pe *backends.PermissionError
		if first && started != nil || errors.As(err, &off) || errors.As(err, &pe) {
			// Never subscribed at the start, or the server refuses:
			// retrying would only hide it.
			if first && started != nil {
				started(err)
			}
			return err
		}
		if !down {
			down = true
			if since.IsZero() {
				since = time.Now()
			}
			why = lostReason(err)
			r.setLost(n.addr, since)
			r.warn(fmt.Sprintf("lost the event subscription on %s at %s (%s); resubscribing", n.addr, since.Format("15:04:05.000"), why))
			select {
			case r.nudge <- struct{}{}:
			default:
			}
		}
		if err := sleepCtx(ctx, backoff); err != nil {
			return err
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

// ctxEnded is ctx's error, also in the instant after its deadline passed
// and before ctx says so: a read cut by that deadline (--duration) is the
// end of the watch, not a lost subscription.
func ctxEnded(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) {
		return context.DeadlineExceeded
	}
	return nil
}

func (r *watchRun) setLost(addr string, t time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if t.IsZero() {
		delete(r.lost, addr)
	} else if _, ok := r.lost[addr]; !ok {
		r.lost[addr] = t
	}
}

func (r *watchRun) lostSince(addr string) time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lost[addr]
}

// earliestLoss is the oldest loss not yet made good, or zero.
func (r *watchRun) earliestLoss() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	var t time.Time
	for _, l := range r.lost {
		if t.IsZero() || l.Before(t) {
			t = l
		}
	}
	return t
}

func lostReason(err error) string {
	if err == nil {
		return "connection lost"
	}
	var ce *backends.ConnError
	if errors.As(err, &ce) {
		return ce.Err.Error()
	}
	return simplifyNetErr(err).Error()
}

func (r *watchRun) gap(node string, since time.Time, why string) error {
	return r.sink.Emit(backends.Event{Time: time.Now(), Kind: backends.EventGap, Node: node, Since: since, Detail: why})
}

// subscribe checks (and with EnableNotifications sets) the node's
// notifications, then subscribes and waits for the server's confirmation.
func (r *watchRun) subscribe(ctx context.Context, n watchNode) (*goredis.PubSub, error) {
	if err := r.prepare(ctx, n); err != nil {
		return nil, err
	}
	ps := n.cl.PSubscribe(ctx) // no pattern yet: the dial error is PSubscribe's below
	stop := context.AfterFunc(ctx, func() { ps.Close() })
	defer stop()
	if err := ps.PSubscribe(ctx, r.channel); err != nil {
		ps.Close()
		return nil, r.b.wrapAt(n.addr, err)
	}
	msg, err := ps.ReceiveTimeout(ctx, r.b.opts.Timeout)
	if err != nil {
		ps.Close()
		if pe := r.b.permissionError(err); pe != nil && pe.Command == "" && !pe.Key {
			// "No permissions to access a channel": Redis 7 users have no
			// channels unless granted.
			pe.Address, pe.Command, pe.Category = n.addr, "psubscribe", "@pubsub"
			pe.Grants = []string{"&" + r.channel}
			return nil, pe
		}
		return nil, r.b.wrapAt(n.addr, err)
	}
	if s, ok := msg.(*goredis.Subscription); !ok || s.Kind != "psubscribe" {
		ps.Close()
		return nil, &backends.ServerError{Address: n.addr, Msg: fmt.Sprintf("unexpected answer to PSUBSCRIBE: %T", msg)}
	}
	return ps, nil
}

// receive delivers the subscription's events until it fails; it returns
// since when events may have been missed (the last sign of life when the
// link went quiet, else now) and why.
func (r *watchRun) receive(ctx context.Context, n watchNode, ps *goredis.PubSub) (time.Time, error) {
	stop := context.AfterFunc(ctx, func() { ps.Close() })
	defer stop()
	prefix := strings.TrimSuffix(r.channel, "*")
	alive := time.Now()
	pinged := false
	checked := alive // notifications were on then (prepare)
	for {
		if time.Since(checked) >= r.checkEvery {
			at := time.Now()
			if err := r.recheck(ctx, n, checked); err != nil {
				return at, err
			}
			checked = at
		}
		msg, err := ps.ReceiveTimeout(ctx, min(r.pingEvery, r.checkEvery))
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				if pinged {
					return alive, &backends.ConnError{Address: n.addr, Err: fmt.Errorf("no answer to PING within %v", r.pingEvery)}
				}
				if err := ps.Ping(ctx); err != nil {
					return time.Now(), err
				}
				pinged = true
				continue
			}
			if isReplyError(err) {
				return time.Now(), r.b.wrapAt(n.addr, err)
			}
			return time.Now(), err
		}
		alive, pinged = time.Now(), false
		m, ok := msg.(*goredis.Message)
		if !ok {
			continue // PONG, subscription confirmations
		}
		name, ok := strings.CutPrefix(m.Channel, prefix)
		if !ok {
			continue
		}
		kind := eventKind(name)
		if kind == "" {
			continue
		}
		if err := r.sink.Emit(backends.Event{Time: alive, Kind: kind, Key: m.Payload, Node: n.addr, Detail: name}); err != nil {
			return alive, err
		}
	}
}

// recheck reads n's notify-keyspace-events during the watch. Classes it
// needs gone missing since on (when they were last seen complete) mean
// events may have been lost: with EnableNotifications they are added again
// and a gap reported, else the watch ends saying so. A failed read changes
// nothing (a dead link is the subscription's to notice; a user without
// CONFIG was warned by prepare).
func (r *watchRun) recheck(ctx context.Context, n watchNode, on time.Time) error {
	opCtx, cancel := r.b.op(ctx)
	vals, err := n.cl.ConfigGet(opCtx, "notify-keyspace-events").Result()
	cancel()
	value, ok := vals["notify-keyspace-events"]
	if err != nil || !ok {
		return nil
	}
	missing := missingClasses(value)
	switch {
	case missing == "":
		return nil
	case !r.opts.EnableNotifications:
		return &backends.NotificationsOffError{Node: n.addr, Value: value, Missing: missing, During: true}
	}
	if err := r.notify.enable(ctx, r, n, value, missing); err != nil {
		return err
	}
	return r.gap(n.addr, on, fmt.Sprintf("notify-keyspace-events was changed to %q during the watch; the missing classes were added again", value))
}

// prepare checks the node's notify-keyspace-events and, when allowed, adds
// the classes a watch needs. A user who may not read the setting is told
// once that it could not be checked; the watch goes on.
func (r *watchRun) prepare(ctx context.Context, n watchNode) error {
	opCtx, cancel := r.b.op(ctx)
	vals, err := n.cl.ConfigGet(opCtx, "notify-keyspace-events").Result()
	cancel()
	value, ok := vals["notify-keyspace-events"]
	switch {
	case commandDenied(err) && !r.opts.EnableNotifications:
		pe := r.b.wrapAt(n.addr, err)
		r.warn(fmt.Sprintf("could not check notify-keyspace-events on %s (%s); subscribing anyway: events arrive only if keyspace notifications are on", n.addr, briefOf(pe)))
		return nil
	case isUnknownCommand(err) && !r.opts.EnableNotifications:
		// CONFIG renamed away, as managed services do: their notifications
		// are set in the service's own configuration.
		r.warn(fmt.Sprintf("could not check notify-keyspace-events on %s (it has no CONFIG command: a managed service sets them in its own configuration); subscribing anyway: events arrive only if keyspace notifications are on", n.addr))
		return nil
	case isUnknownCommand(err):
		return &backends.UnsupportedError{What: "--enable-notifications on " + n.addr + " (it has no CONFIG command: set notify-keyspace-events in the service's own configuration)"}
	case err != nil:
		return r.b.wrapAt(n.addr, err)
	case !ok:
		// A server without the setting (a proxy, a Redis-compatible store):
		// subscribing is all that can be tried.
		r.warn(fmt.Sprintf("%s does not report notify-keyspace-events; subscribing anyway", n.addr))
		return nil
	}
	missing := missingClasses(value)
	if missing == "" {
		return nil
	}
	if !r.opts.EnableNotifications {
		return &backends.NotificationsOffError{Node: n.addr, Value: value, Missing: missing}
	}
	return r.notify.enable(ctx, r, n, value, missing)
}

func briefOf(err error) string {
	var pe *backends.PermissionError
	if errors.As(err, &pe) {
		return pe.Brief()
	}
	return err.Error()
}

// notifyTracker remembers the nodes whose notify-keyspace-events a watch
// changed, to put them back when it ends.
type notifyTracker struct {
	mu  sync.Mutex
	set map[string]*notifyChange
}

type notifyChange struct {
	cl        *goredis.Client
	old, ours string
}

// enable adds the missing classes to value on n. A server that predates
// streams refuses t: it is then left out. The change is noted before it is
// sent: a CONFIG SET cut short (Ctrl-C, a timeout) may still have been
// applied, and restore looks at what the server holds.
func (t *notifyTracker) enable(ctx context.Context, r *watchRun, n watchNode, value, missing string) error {
	opCtx, cancel := r.b.op(ctx)
	defer cancel()
	want := value + missing
	t.note(n, value, want)
	err := n.cl.ConfigSet(opCtx, "notify-keyspace-events", want).Err()
	if err != nil && isReplyError(err) && !commandDenied(err) && strings.Contains(missing, "t") {
		want = value + strings.ReplaceAll(missing, "t", "")
		t.note(n, value, want)
		err = n.cl.ConfigSet(opCtx, "notify-keyspace-events", want).Err()
	}
	if err != nil {
		return r.b.wrapAt(n.addr, err)
	}
	shown := want
	if vals, err := n.cl.ConfigGet(opCtx, "notify-keyspace-events").Result(); err == nil {
		shown = vals["notify-keyspace-events"] // as the server writes it
	}
	r.warn(fmt.Sprintf("set notify-keyspace-events on %s to %q (was %q) for the watch; it is put back when the watch ends", n.addr, shown, value))
	return nil
}

// note records that n's value is being changed from old to ours. The old
// value is the one found just before this change: after a restart (the
// server's configured value) or someone else's change, that is what the
// server would hold without the watch.
func (t *notifyTracker) note(n watchNode, old, ours string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.set[n.addr] = &notifyChange{cl: n.cl, old: old, ours: ours}
}

// restore puts back every value the watch changed, unless someone changed
// it again meanwhile. A node that cannot be reached is named in a warning
// (a restarted server has its configured value back anyway); a refusal is
// an error.
func (t *notifyTracker) restore(r *watchRun) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	var firstErr error
	for addr, c := range t.set {
		ctx, cancel := context.WithTimeout(context.Background(), r.b.opts.Timeout)
		err := restoreOne(ctx, c)
		cancel()
		delete(t.set, addr)
		var changed errChangedMeanwhile
		switch {
		case err == nil:
		case errors.As(err, &changed):
			r.warn(fmt.Sprintf("notify-keyspace-events on %s was changed to %q during the watch; left as it is (it was %q before)", addr, string(changed), c.old))
		case isReplyError(err):
			if firstErr == nil {
				firstErr = fmt.Errorf("could not restore notify-keyspace-events on %s to %q: %w", addr, c.old, r.b.wrapAt(addr, err))
			}
		default:
			r.warn(fmt.Sprintf("could not restore notify-keyspace-events on %s to %q (%s); if it still runs, set it with CONFIG SET notify-keyspace-events %s", addr, c.old, lostReason(err), shellWord(c.old)))
		}
	}
	return firstErr
}

type errChangedMeanwhile string

func (e errChangedMeanwhile) Error() string { return "changed meanwhile to " + string(e) }

func restoreOne(ctx context.Context, c *notifyChange) error {
	vals, err := c.cl.ConfigGet(ctx, "notify-keyspace-events").Result()
	if err != nil {
		return err
	}
	now := vals["notify-keyspace-events"]
	switch {
	case sameClasses(now, c.old):
		return nil // never changed (a CONFIG SET cut short), restarted, or put back by hand
	case !sameClasses(now, c.ours):
		return errChangedMeanwhile(now)
	}
	return c.cl.ConfigSet(ctx, "notify-keyspace-events", c.old).Err()
}

// sameClasses reports whether two notify-keyspace-events values name the
// same classes: the server rewrites what it is given ("Eg$" reads back as
// "g$E", all classes as "A").
func sameClasses(a, b string) bool {
	set := func(v string) map[rune]bool {
		m := map[rune]bool{}
		for _, c := range strings.ReplaceAll(v, "A", notifyAll) {
			m[c] = true
		}
		return m
	}
	return maps.Equal(set(a), set(b))
}

// shellWord quotes a value for a command line a user may paste.
func shellWord(s string) string {
	if s == "" {
		return `""`
	}
	return textesc.Quote(s)
}
