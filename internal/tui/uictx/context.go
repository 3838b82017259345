// Package uictx is what the dashboard's components share: the styles and
// bindings, the clock, the backend and the health of its connection, the
// terminal's size, and the events by which one component tells the others
// what happened without knowing them. Components import it; it imports no
// component, so a new pane is a new package that reads the same context.
package uictx

import (
	"context"
	"errors"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/cachectl/cachectl/internal/backends"
)

// Context is shared by pointer: the root owns it, components read it and
// publish events on it. It is touched only from Update and View.
type Context struct {
	Ctx      context.Context
	Styles   Styles
	Keys     KeyMap
	Now      func() time.Time
	Timeout  time.Duration // of one server operation
	ReadOnly bool

	// Backend is nil until the first connection succeeds; then it stays,
	// and Conn says whether it currently answers.
	Backend backends.Backend
	Conn    Conn
	// NodesDown are the addresses of the nodes of a deployment that the
	// last probe found down (as the backend names them, unescaped).
	NodesDown []string

	// Live is the state of the live watch, as the header's strip shows it.
	Live Live

	// Width and Height are the terminal's.
	Width, Height int

	events []tea.Msg
}

// New is the context of a dashboard before it has connected.
func New(ctx context.Context, now func() time.Time, timeout time.Duration, readOnly bool) *Context {
	c := &Context{Ctx: ctx, Styles: NewStyles(true), Keys: NewKeyMap(), Now: now, Timeout: timeout, ReadOnly: readOnly,
		Width: 80, Height: 24}
	c.Conn.backoff = time.Second
	if readOnly {
		c.Keys.ReadOnly()
	}
	return c
}

// ConnState is how the backend last answered.
type ConnState int

const (
	Connecting ConnState = iota
	Up
	Down
	// Degraded: a deployment of several nodes (a cluster, a pool, a
	// Sentinel setup) answers, but some of its nodes do not, or some of
	// its keys have no live primary (a failover).
	Degraded
)

// Conn is the health of the connection, as the header shows it.
type Conn struct {
	State   ConnState
	Err     error     // why it is Down or Degraded
	RetryAt time.Time // when Down or Degraded: the next attempt
	backoff time.Duration
}

// Up records an answer from the server; after a failure the status line
// says the server is back.
func (c *Context) Up() {
	switch c.Conn.State {
	case Down:
		c.Publish(Status{Text: "reconnected", Conn: true})
	case Degraded:
		c.Publish(Status{Text: "all servers answer again", Conn: true})
	}
	c.Conn.State, c.Conn.Err, c.Conn.backoff = Up, nil, time.Second
}

// Down records an operation that failed for want of the server and
// schedules the next attempt, backing off to 15s. While Degraded the
// failure is taken as one of the nodes known to be down: the header's
// probe, already due, says whether the whole deployment went.
func (c *Context) Down(err error) {
	if c.Conn.State == Degraded || Refused(err) {
		return
	}
	c.Unreachable(err)
}

// Refused reports an operation the server's ACL refused the user: an
// answer, so no outage, and trying again cannot help until the rules change.
func Refused(err error) bool {
	var pe *backends.PermissionError
	return errors.As(err, &pe)
}

// Unreachable records that the backend as a whole did not answer, whatever
// was known before, with the same backoff as Down.
func (c *Context) Unreachable(err error) {
	c.Conn.State, c.Conn.Err = Down, err
	c.Conn.RetryAt = c.Now().Add(c.Conn.backoff)
	c.Conn.backoff = min(c.Conn.backoff*2, 15*time.Second)
}

// Degrade records a deployment that answers only in part (err says how),
// to be looked at again at retryAt.
func (c *Context) Degrade(err error, retryAt time.Time) {
	c.Conn.State, c.Conn.Err, c.Conn.RetryAt, c.Conn.backoff = Degraded, err, retryAt, time.Second
}

// LiveState is what the live watch is doing.
type LiveState int

const (
	// LiveUnavailable: the backend reports no key events (or not yet
	// connected); the strip says nothing.
	LiveUnavailable LiveState = iota
	LiveStarting              // subscribing
	LiveOn                    // events flow
	LiveOff                   // turned off by the user (L)
	LiveNotifyOff             // the server's keyspace notifications are off
	LiveRefused               // the server's ACL refuses the subscription
	LiveRetrying              // the watch failed to start; tried again at RetryAt
)

// Live is the live watch's state and its event rate.
type Live struct {
	State   LiveState
	Rate    float64 // events of the filter per second, over the last second
	Err     error   // why it is not on
	RetryAt time.Time
}

// Publish queues an event. The root hands every queued event to every
// component before the message that raised it is done, so no frame shows
// one component changed and another not yet.
func (c *Context) Publish(e tea.Msg) { c.events = append(c.events, e) }

// Events takes the queued events, oldest first.
func (c *Context) Events() []tea.Msg {
	e := c.events
	c.events = nil
	return e
}

// SetStatus says something in the status line ("" clears it).
func (c *Context) SetStatus(text string, isErr bool) { c.Publish(Status{Text: text, Err: isErr}) }

// Tick is the dashboard's clock, once a second: TTLs count down, retries
// and refreshes come due.
type Tick time.Time

// Events, published on the context (or, for Status, sent by Run).
type (
	// Status is a line for the status bar; Err shows it as an error. Conn:
	// it says the connection came back, and gives way once it fails again.
	Status struct {
		Text string
		Err  bool
		Conn bool
	}

	// Ask opens the prompt line. Until it closes every key goes to it, so a
	// stray keypress cannot reach a destructive binding behind it.
	Ask struct {
		Label string // before the input; for YesNo, the question
		Value string // what the input starts with
		Width int    // of the input; 0 fits it to the line after Label
		// YesNo asks y/N: y or Y answers "y", any other key declines.
		YesNo bool
		// Answer gets the trimmed input when enter is pressed.
		Answer func(v string) tea.Cmd
		// Decline runs when a YesNo question gets anything but y.
		Decline func() tea.Cmd
	}

	// Activity is the progress of a long operation, shown over the status
	// ("" when it ended).
	Activity struct{ Text string }

	// Listing is the health of the key listing: its error, nil once it
	// lists again. The status line shows it when it has nothing else.
	Listing struct{ Err error }

	// Connected: Backend is set, the first time.
	Connected struct{}
	// Reconnected: the server answers again after being Down, or a
	// deployment of several nodes serves every key again after a failover.
	// What failed for want of it is worth trying again.
	Reconnected struct{}

	// Selected is the row under the key list's cursor, after it changed or
	// was listed again. None: the list is empty.
	Selected struct {
		Key    string
		Branch bool
		None   bool
	}

	// Filter is what the key list lists, announced as each listing starts:
	// Pattern is the stored-key glob, Filtered whether it narrows the
	// listing beyond the profile's scope.
	Filter struct {
		Pattern  string
		Filtered bool
	}

	// KeyDeleted: the server no longer holds Key; the list drops it.
	KeyDeleted struct{ Key string }
	// Deleting: the keys of Pattern are being deleted in bulk; the list
	// stops listing until Deleted, when it lists again.
	Deleting struct{ Pattern string }
	Deleted  struct{ Pattern string }
	// KeysChanged: keys were deleted, so the server's figures are stale.
	KeysChanged struct{}
	// Refresh: the user asked to read everything again (r).
	Refresh struct{}

	// LiveBatch is what the live watch saw happen to the keys of Pattern
	// since the last batch: the last event of each key, in the order the
	// keys first came up. Components ignore a batch of another pattern.
	LiveBatch struct {
		Pattern string
		Events  []backends.Event
	}
	// LiveGap: events may have been missed (a reconnect, a failover, more
	// events than the dashboard keeps up with, live mode turned back on);
	// the key list lists again so nothing stays stale.
	LiveGap struct{ Why string }

	// Open asks for the selected entry to take the focus; Back returns it
	// to the key list.
	Open struct{}
	Back struct{}
)

// Writable says whether a write may go ahead; when not, the status line
// says why.
func (c *Context) Writable() bool {
	if c.ReadOnly {
		c.SetStatus("read-only: this context does not allow writes", true)
		return false
	}
	if c.Backend == nil {
		c.SetStatus("not connected", true)
		return false
	}
	return true
}
