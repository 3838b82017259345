package commands

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/iostreams"
	"github.com/cachectl/cachectl/internal/textesc"
)

type watchOptions struct {
	IO            *iostreams.IOStreams
	Backend       func(context.Context) (backends.Backend, error)
	Mapper        keyMapper
	CheckWritable func(what string) error
	Output        outputFormat

	Patterns            []string
	EnableNotifications bool
	Fetches             bool
	Count               int
	Duration            time.Duration
}

// NewCmdWatch builds `cachectl watch`.
func NewCmdWatch(f *Factory, runF func(context.Context, *watchOptions) error) *cobra.Command {
	opts := &watchOptions{IO: f.IO, Backend: f.Backend, Mapper: f.keyMapper(), CheckWritable: f.CheckWritable}
	cmd := &cobra.Command{
		Use:   "watch [PATTERN...]",
		Short: "Stream key events: writes, deletes, expiries, evictions",
		Long: `Print one line per key event as it happens, for the keys matching any
PATTERN (Redis glob syntax; default every key): the time (HH:MM:SS.mmm, local),
the event, the node it came from (where the cache has several) and the key.

Events: set (written or modified), del (deleted or renamed away), expired,
evicted, expire (TTL set, changed or removed), get (memcached reads, with
--fetches) and gap: events may have been missed (a reconnect, a failover),
with from when to when.

Redis uses keyspace notifications, on every primary of a cluster and on the
master behind Sentinel, followed through failovers. They are off by default:
--enable-notifications adds the classes a watch needs to notify-keyspace-events
and puts the old value back when the watch ends (refused in read-only mode).
Memcached (1.5.19+) streams its own log: "watch mutations evictions" (and
deletions where the server has them), from every server of a pool. HTTP
caches (cachectl serve, the Python adapter) stream theirs from GET /v1/events,
one stream per worker.

The watch runs until Ctrl-C (exit 130), --count events or --duration (exit 0). -o jsonl
prints one JSON object per event: {"time","event","key","node"}, plus
"detail" (the server's own name for it; why, for a gap) and "since" (gaps).`,
		Example: `  cachectl watch 'session:*'
  cachectl watch --enable-notifications -o jsonl | jq -c 'select(.event=="del")'
  cachectl watch --count 10 --duration 30s`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Output = f.Output()
			patterns, err := opts.Mapper.Patterns(args)
			if err != nil {
				return err
			}
			opts.Patterns = append(opts.Patterns, patterns...)
			if opts.Count < 0 {
				return usagef("--count must be positive")
			}
			if opts.Duration < 0 {
				return usagef("--duration must be positive")
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return watchRun(cmd.Context(), opts)
		},
		ValidArgsFunction: f.completeKeys(-1),
	}
	cmd.Flags().BoolVar(&opts.EnableNotifications, "enable-notifications", false, "Redis: turn keyspace notifications on for the watch (CONFIG SET notify-keyspace-events), restoring the old value afterwards")
	cmd.Flags().BoolVar(&opts.Fetches, "fetches", false, "memcached: report reads too (get events)")
	cmd.Flags().IntVar(&opts.Count, "count", 0, "stop after N key events (gaps not counted; 0: no limit)")
	cmd.Flags().DurationVar(&opts.Duration, "duration", 0, "stop after this long (0: until Ctrl-C)")
	return cmd
}

var errCountReached = errors.New("count reached")

func watchRun(ctx context.Context, opts *watchOptions) error {
	if opts.EnableNotifications {
		if err := opts.CheckWritable("enable keyspace notifications (CONFIG SET notify-keyspace-events)"); err != nil {
			return err
		}
	}
	b, err := opts.Backend(ctx)
	if err != nil {
		return err
	}
	defer b.Close()
	w, ok := b.(backends.Watcher)
	if !ok {
		return &backends.UnsupportedError{What: "watch on " + b.Describe().Kind + " caches"}
	}
	prof, err := opts.Mapper.Profile()
	if err != nil {
		return err
	}
	signalled := ctx
	if opts.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, opts.Duration)
		defer cancel()
	}
	out := bufio.NewWriter(opts.IO.Out)
	p := &eventPrinter{io: opts.IO, w: out, mode: opts.Output, keys: &keyPrinter{prof: prof}}
	p.several = nodeLabel(b.Describe(), true) != ""
	info := b.Describe()
	q := startEventQueue(p, out)
	count := 0
	err = w.Watch(ctx, backends.WatchOptions{
		Patterns:            opts.Patterns,
		EnableNotifications: opts.EnableNotifications,
		Fetches:             opts.Fetches,
		Ready: func() {
			fmt.Fprintf(opts.IO.ErrOut, "watching %s for key events (Ctrl-C stops)\n", textesc.Line(info.Address))
		},
	}, func(e backends.Event) error {
		if err := q.send(ctx, e); err != nil {
			return err
		}
		if e.Kind != backends.EventGap {
			count++
		}
		if opts.Count > 0 && count >= opts.Count {
			return errCountReached
		}
		return nil
	})
	if ferr := q.end(signalled.Done()); err == nil || errors.Is(err, errCountReached) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		if ferr != nil {
			return ferr
		}
	}
	var off *backends.NotificationsOffError
	switch {
	case errors.Is(err, errCountReached), errors.Is(err, context.DeadlineExceeded) && signalled.Err() == nil:
		return nil
	case errors.Is(err, context.Canceled) && signalled.Err() != nil:
		// Ctrl-C, SIGTERM: interrupted, as every command is (exit 130);
		// what was seen is printed already.
		return &silentError{err: err}
	case errors.As(err, &off):
		return fmt.Errorf("%w: rerun with --enable-notifications to turn them on for the watch (the old value is restored when it ends), or set them yourself: CONFIG SET notify-keyspace-events %s", err, notifyHint(off))
	}
	return err
}

// eventQueue hands events from the watch to a goroutine that prints them,
// so that a stdout nobody drains (a reader that stopped) cannot hold the
// watch: Ctrl-C still ends it and its notifications are put back. A full
// queue makes the watch wait, as a direct write would: memory stays
// bounded, and the server's own limits (Redis' pubsub output buffer,
// memcached's skipped entries) then cost a gap that says so.
type eventQueue struct {
	events chan backends.Event
	failed chan struct{} // closed when printing failed (err is set)
	done   chan struct{} // closed when the printer has finished (err is set)
	err    error
}

func startEventQueue(p *eventPrinter, out *bufio.Writer) *eventQueue {
	q := &eventQueue{events: make(chan backends.Event, 64), failed: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(q.done)
		for e := range q.events {
			err := p.event(e)
			if err == nil {
				// A line as it happens, in a pipe too: a watch is read live.
				err = out.Flush()
			}
			if err != nil {
				q.err = err
				close(q.failed)
				return
			}
		}
		p.finish()
		q.err = out.Flush()
	}()
	return q
}

// send queues e, or says why it cannot: printing failed, or ctx ended
// while the queue was full.
func (q *eventQueue) send(ctx context.Context, e backends.Event) error {
	select {
	case q.events <- e:
		return nil
	case <-q.failed:
		return q.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// end lets the printer write what is queued (and close a JSON array) and
// returns its error. After a signal it waits a second at most: a stdout
// that does not drain must not keep the process from ending.
func (q *eventQueue) end(signal <-chan struct{}) error {
	close(q.events)
	select {
	case <-q.done:
		return q.err
	case <-signal:
	}
	select {
	case <-q.done:
		return q.err
	case <-time.After(time.Second):
		return nil
	}
}

// notifyHint is the value to set by hand: the server's plus what is missing.
func notifyHint(off *backends.NotificationsOffError) string {
	return "'" + off.Value + off.Missing + "'"
}

// eventPrinter writes events in the output format chosen.
type eventPrinter struct {
	io      *iostreams.IOStreams
	w       *bufio.Writer
	mode    outputFormat
	keys    *keyPrinter // maps stored keys to the profile's terms
	several bool        // the cache has several nodes: a NODE column
	n       int
	nodeW   int
}

// eventJSON is one line of -o jsonl (README "watch").
type eventJSON struct {
	Time      string `json:"time"`
	Event     string `json:"event"`
	Key       any    `json:"key"`
	StoredKey any    `json:"stored_key,omitempty"`
	Node      string `json:"node"`
	Detail    string `json:"detail,omitempty"`
	Since     string `json:"since,omitempty"`
}

// jsonTime is a time in JSON: UTC, RFC 3339 with microseconds (memcached's
// own precision).
func jsonTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z07:00") }

func (p *eventPrinter) event(e backends.Event) error {
	if p.mode.JSON() {
		j := eventJSON{Time: jsonTime(e.Time), Event: e.Kind, Node: e.Node, Detail: e.Detail}
		if e.Kind == backends.EventGap {
			if !e.Since.IsZero() {
				j.Since = jsonTime(e.Since)
			}
		} else {
			u, stored := p.keys.shown(e.Key)
			j.Key, j.StoredKey = jsonKey(u), stored
		}
		var sb strings.Builder
		if err := writeJSON(&sb, false, j); err != nil {
			return err
		}
		line := strings.TrimSuffix(sb.String(), "\n")
		if p.mode == "json" {
			// One document: an array, streamed, closed when the watch ends.
			sep := ","
			if p.n == 0 {
				sep = "["
			}
			line = sep + "\n" + line
		} else {
			line += "\n"
		}
		p.n++
		_, err := p.w.WriteString(line)
		return err
	}
	cs := p.io.ColorScheme()
	what := ""
	if e.Kind == backends.EventGap {
		what = gapText(e)
	} else {
		u, _ := p.keys.shown(e.Key)
		what = textesc.Key(u)
	}
	node := textesc.Line(e.Node)
	tm := e.Time.Local().Format("15:04:05.000")
	p.n++
	if !p.io.IsStdoutTTY() {
		// Tab-separated for cut/awk, like keys -l; the key goes last so it
		// may hold anything (escaped).
		cols := tm + "\t" + e.Kind + "\t"
		if p.several {
			cols += node + "\t"
		}
		_, err := p.w.WriteString(cols + what + "\n")
		return err
	}
	line := cs.Dim(tm) + "  " + eventColor(cs, e.Kind)(fmt.Sprintf("%-7s", e.Kind)) + "  "
	if p.several {
		p.nodeW = max(p.nodeW, len(node))
		line += fmt.Sprintf("%-*s", p.nodeW, node) + "  "
	}
	_, err := p.w.WriteString(line + what + "\n")
	return err
}

func (p *eventPrinter) finish() {
	if p.mode == "json" {
		if p.n == 0 {
			p.w.WriteString("[]\n")
		} else {
			p.w.WriteString("\n]\n")
		}
	}
}

// gapText says what a gap means: "events from 12:00:01.123 to
// 12:00:03.456 (2.333s) may be missing: why".
func gapText(e backends.Event) string {
	span := "events before " + e.Time.Local().Format("15:04:05.000")
	if !e.Since.IsZero() {
		span = fmt.Sprintf("events from %s to %s (%v) ", e.Since.Local().Format("15:04:05.000"), e.Time.Local().Format("15:04:05.000"), e.Time.Sub(e.Since).Round(time.Millisecond))
	} else {
		span += " "
	}
	return textesc.Line(span + "may be missing: " + e.Detail)
}

func eventColor(cs *iostreams.ColorScheme, kind string) func(string) string {
	switch kind {
	case backends.EventSet:
		return cs.Green
	case backends.EventDel:
		return cs.Red
	case backends.EventExpired, backends.EventExpire:
		return cs.Yellow
	case backends.EventEvicted:
		return cs.Magenta
	case backends.EventGet:
		return cs.Blue
	case backends.EventGap:
		return func(s string) string { return cs.Bold(cs.Red(s)) }
	}
	return func(s string) string { return s }
}
