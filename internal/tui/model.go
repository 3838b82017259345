// Package tui is the full-screen dashboard (`cachectl ui`): a live key
// browser with the decoded entry beside it. All server I/O runs in tea.Cmds
// under timeouts; Update only ever changes state, so the UI never blocks on a
// slow server and never dies on a bad value.
package tui

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/human"
	"github.com/cachectl/cachectl/internal/textesc"
	"github.com/cachectl/cachectl/internal/tui/keystore"
	"github.com/cachectl/cachectl/internal/tui/uictx"
)

// Options configure a dashboard. Open is called (and retried) from a tea.Cmd,
// so a dead server at start-up shows as such instead of failing the command.
type Options struct {
	Open       func(ctx context.Context) (backends.Backend, error)
	Kind       string // "redis", "memcached", "http": shown before connecting
	Address    string // redacted
	Context    string // context name, "" for none
	Label      string // the context's label ("PRODUCTION")
	LabelColor string
	Production bool
	ReadOnly   bool
	Pattern    string // initial filter; "" means every key
	Delim      string // tree view delimiter; "" means ":"
	Tree       bool   // start in tree view
	Timeout    time.Duration
	// StatsEvery is how often the header's figures refresh (default 2s).
	StatsEvery time.Duration
	// MaxFetch is the largest value fetched without "load all" (default 8 MiB).
	MaxFetch int64
	Now      func() time.Time
	// Tag says what a key is in its framework's terms ("django page GET"),
	// from the key and the first bytes of its value; nil for none.
	Tag func(key string, value []byte) string
	// Display shows a stored key in the profile's terms in the flat list
	// (Django's ":1:greeting" as "greeting"); nil shows it as stored.
	Display func(stored string) string
	// Scope maps a filter typed in the dashboard to the stored-key glob
	// (a profile's namespace); nil uses it as typed.
	Scope func(userGlob string) string
}

// scoped is the stored-key glob of a filter the user typed.
func (m *Model) scoped(user string) string {
	if m.opts.Scope != nil {
		return m.opts.Scope(user)
	}
	return user
}

// filtered reports whether a filter narrows the listing beyond the scope.
func (m *Model) filtered() bool { return m.pattern != m.scoped("*") }

type focusPane int

const (
	focusList focusPane = iota
	focusDetail
)

type connState int

const (
	connConnecting connState = iota
	connUp
	connDown
)

// Model is the root of the dashboard. It is used through a pointer: the key
// store is shared state anyway, and copying the struct per message buys
// nothing.
type Model struct {
	ctx    context.Context
	opts   Options
	st     uictx.Styles
	km     uictx.KeyMap
	help   help.Model
	width  int
	height int

	b         backends.Backend
	conn      connState
	connErr   error
	retryAt   time.Time
	backoff   time.Duration
	connInFly bool

	// key list
	store   *keystore.Store
	cursor  int
	offset  int
	pattern string // the stored-key glob being listed
	// filterText is the filter as typed (before Scope), for the prompt.
	filterText string
	scan       *scanner
	scanGen    int
	scanning   bool
	scanErr    error
	findText   string
	focus      focusPane

	// detail
	selSeq int
	det    detail

	// header
	stats      *backends.Stats
	prevStats  *backends.Stats
	statsAt    time.Time
	prevAt     time.Time
	ops        []float64
	statsInFly bool
	lastStats  time.Time

	prompt       *prompt
	inv          *invalidation
	invP         string // pattern being invalidated
	invNow       invProgressMsg
	quitAfterInv bool

	status    string
	statusErr bool
	showHelp  bool

	// unconfirmed holds keys whose delete was sent but never answered: they
	// may be gone. Each is looked up again until the server answers.
	unconfirmed map[string]bool
	checkInFly  bool
}

// detail is the selected entry and its rendering.
type detail struct {
	key      string
	branch   bool
	loading  bool
	info     *backends.KeyInfo
	entry    *backends.Entry
	err      error
	at       time.Time
	mode     viewMode
	all      bool
	rendered renderedMsg
	vp       viewport.Model
}

// New builds the dashboard model; Run starts it.
func New(ctx context.Context, opts Options) *Model {
	if opts.Delim == "" {
		opts.Delim = ":"
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 5 * time.Second
	}
	if opts.StatsEvery <= 0 {
		opts.StatsEvery = 2 * time.Second
	}
	if opts.MaxFetch == 0 {
		opts.MaxFetch = 8 << 20
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Pattern == "" {
		opts.Pattern = "*"
	}
	m := &Model{
		ctx:     ctx,
		opts:    opts,
		st:      uictx.NewStyles(true),
		km:      uictx.NewKeyMap(),
		help:    help.New(),
		store:   keystore.New(opts.Delim),
		pattern: opts.Pattern,
		backoff: time.Second,
		width:   80,
		height:  24,
	}
	if opts.ReadOnly {
		m.km.ReadOnly()
	}
	// Keep the tree up to date while keys stream in (about 1 µs a key), so
	// switching to tree view later is instant rather than a pause to build it.
	m.store.SetTree(true)
	m.store.SetTree(opts.Tree)
	m.help.Styles = help.DefaultStyles(true)
	m.det.vp = viewport.New()
	m.det.vp.SoftWrap = true
	return m
}

// Init connects, asks the terminal for its background colour (to pick
// readable colours) and starts the clock.
func (m *Model) Init() tea.Cmd {
	m.connInFly = true
	return tea.Batch(connect(m.ctx, m.opts.Open, m.opts.Timeout), tea.RequestBackgroundColor, tick(time.Second))
}

// Close releases the backend and stops background work.
func (m *Model) Close() {
	m.scan.stop()
	if m.inv != nil {
		m.inv.cancel()
	}
	if m.b != nil {
		_ = m.b.Close()
	}
}

// Update applies one message.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		return m, m.layout()
	case tea.BackgroundColorMsg:
		m.st = uictx.NewStyles(msg.IsDark())
		m.help.Styles = help.DefaultStyles(msg.IsDark())
		if m.prompt != nil {
			m.prompt.input.SetStyles(textinput.DefaultStyles(msg.IsDark()))
		}
		return m, nil
	case connectedMsg:
		return m, m.onConnected(msg)
	case scanMsg:
		return m, m.onScan(msg)
	case statsMsg:
		return m, m.onStats(msg)
	case tickMsg:
		return m, m.onTick(m.opts.Now())
	case fetchMsg:
		if msg.seq != m.selSeq {
			return m, nil
		}
		return m, m.fetch()
	case entryMsg:
		return m, m.onEntry(msg)
	case renderedMsg:
		if msg.seq == m.selSeq && msg.mode == m.det.mode && msg.all == m.det.all {
			m.det.rendered = msg
			m.det.vp.SetContent(msg.content)
			m.det.loading = false
		}
		return m, nil
	case deletedMsg:
		return m, m.onDeleted(msg)
	case checkedMsg:
		return m, m.onChecked(msg)
	case expiredMsg:
		return m, m.onExpired(msg)
	case countedMsg:
		return m, m.onCounted(msg)
	case invProgressMsg:
		if m.inv != nil && msg.gen == m.inv.gen {
			m.invNow = msg
			return m, m.inv.next()
		}
		return m, nil
	case invDoneMsg:
		return m, m.onInvalidated(msg)
	case statusMsg:
		m.setStatus(msg.text, msg.err)
		return m, nil
	case tea.PasteMsg:
		if m.prompt != nil && m.prompt.input.Focused() {
			var cmd tea.Cmd
			m.prompt.input, cmd = m.prompt.input.Update(msg)
			return m, cmd
		}
		return m, nil
	case tea.KeyPressMsg:
		return m, m.onKey(msg)
	}
	// Anything else (cursor blinks) belongs to the prompt's input.
	if m.prompt != nil {
		var cmd tea.Cmd
		m.prompt.input, cmd = m.prompt.input.Update(msg)
		return m, cmd
	}
	return m, nil
}

func (m *Model) hasLeaf() bool {
	if m.store.Rows() == 0 {
		return false
	}
	return !m.store.Row(m.cursor).Branch
}

func (m *Model) setStatus(s string, isErr bool) {
	m.status, m.statusErr = s, isErr
}

// --- connection and streaming -------------------------------------------

func (m *Model) onConnected(msg connectedMsg) tea.Cmd {
	m.connInFly = false
	if msg.err != nil {
		m.down(msg.err)
		return nil
	}
	m.b = msg.b
	m.up()
	return tea.Batch(m.restartScan(false), m.requestStats())
}

func (m *Model) up() {
	if m.conn == connDown {
		m.setStatus("reconnected", false)
	}
	m.conn, m.connErr, m.backoff = connUp, nil, time.Second
}

// down records a failure and schedules the next attempt, backing off to 15s.
func (m *Model) down(err error) {
	m.conn, m.connErr = connDown, err
	m.retryAt = m.opts.Now().Add(m.backoff)
	m.backoff = min(m.backoff*2, 15*time.Second)
}

// restartScan drops the loaded keys (unless keep) and lists the filter again.
func (m *Model) restartScan(keep bool) tea.Cmd {
	if m.b == nil {
		return nil
	}
	m.scan.stop()
	m.scanGen++
	if !keep {
		m.store.Reset()
		m.cursor, m.offset = 0, 0
	}
	m.scanning, m.scanErr = true, nil
	m.scan = startScan(m.ctx, m.b, m.pattern, m.scanGen)
	return m.scan.next()
}

func (m *Model) onScan(msg scanMsg) tea.Cmd {
	if msg.gen != m.scanGen {
		return nil
	}
	hadRows := m.store.Rows() > 0
	m.store.Add(msg.keys)
	var cmds []tea.Cmd
	if !msg.done {
		cmds = append(cmds, m.scan.next())
	} else {
		m.scanning = false
		if msg.err != nil && !errors.Is(msg.err, context.Canceled) {
			m.scanErr = msg.err
			m.down(msg.err)
		}
	}
	m.clampCursor()
	if !hadRows && m.store.Rows() > 0 {
		cmds = append(cmds, m.selectionChanged())
	}
	return tea.Batch(cmds...)
}

func (m *Model) requestStats() tea.Cmd {
	if m.b == nil || m.statsInFly {
		return nil
	}
	m.statsInFly = true
	m.lastStats = m.opts.Now()
	return fetchStats(m.ctx, m.b, m.opts.Timeout, m.opts.Now)
}

func (m *Model) onStats(msg statsMsg) tea.Cmd {
	m.statsInFly = false
	if msg.err != nil {
		m.down(msg.err)
		return nil
	}
	wasDown := m.conn == connDown
	m.up()
	m.prevStats, m.prevAt = m.stats, m.statsAt
	m.stats, m.statsAt = msg.s, msg.at
	m.ops = append(m.ops, m.opsRate())
	if len(m.ops) > 60 {
		m.ops = m.ops[len(m.ops)-60:]
	}
	if wasDown && m.scanErr != nil {
		// The scan died with the connection: list again, keeping what is loaded.
		return m.restartScan(true)
	}
	return nil
}

// opsRate is the server's own ops/s where it reports one (Redis), else the
// lookups per second between the last two samples.
func (m *Model) opsRate() float64 {
	s := m.stats
	if s.Known["ops_per_sec"] {
		return s.OpsPerSec
	}
	p := m.prevStats
	if p == nil || !m.statsAt.After(m.prevAt) {
		return 0
	}
	d := float64((s.Hits + s.Misses) - (p.Hits + p.Misses))
	return max(0, d/m.statsAt.Sub(m.prevAt).Seconds())
}

func (m *Model) onTick(now time.Time) tea.Cmd {
	cmds := []tea.Cmd{tick(time.Second)}
	switch {
	case m.b == nil:
		if !m.connInFly && !now.Before(m.retryAt) {
			m.connInFly = true
			cmds = append(cmds, connect(m.ctx, m.opts.Open, m.opts.Timeout))
		}
	case m.conn == connDown:
		if !now.Before(m.retryAt) {
			cmds = append(cmds, m.requestStats()) // the probe: success means back up
		}
	case now.Sub(m.lastStats) >= m.opts.StatsEvery:
		cmds = append(cmds, m.requestStats())
	}
	if c := m.recheck(); c != nil {
		cmds = append(cmds, c)
	}
	// A TTL that ran out: read the key again to show it is gone.
	if e := m.det.info; e != nil && !e.Missing && e.TTL.Expires && !m.det.loading && m.remaining() <= 0 {
		cmds = append(cmds, m.fetch())
	}
	return tea.Batch(cmds...)
}

// --- selection and detail -----------------------------------------------

// selectionChanged starts loading the entry under the cursor, debounced so
// holding j does not send a request per row.
func (m *Model) selectionChanged() tea.Cmd {
	m.selSeq++
	m.det.info, m.det.entry, m.det.err = nil, nil, nil
	m.det.rendered = renderedMsg{}
	m.det.all = false
	m.det.vp.SetContent("")
	m.det.vp.GotoTop()
	if m.store.Rows() == 0 {
		m.det.key, m.det.branch, m.det.loading = "", false, false
		return nil
	}
	r := m.store.Row(m.cursor)
	m.det.key, m.det.branch = r.Key, r.Branch
	if r.Branch {
		m.det.loading = false
		return nil
	}
	m.det.loading = true
	return debounceFetch(m.selSeq, 60*time.Millisecond)
}

func (m *Model) fetch() tea.Cmd {
	if m.b == nil || m.det.branch || !m.hasLeaf() {
		return nil
	}
	m.det.loading = true
	return fetchEntry(m.ctx, m.b, m.det.key, m.selSeq, m.det.all, m.opts.MaxFetch, m.opts.Timeout, m.opts.Now)
}

func (m *Model) onEntry(msg entryMsg) tea.Cmd {
	if msg.seq != m.selSeq || msg.key != m.det.key {
		return nil
	}
	m.det.err = msg.err
	if msg.err != nil {
		m.det.loading = false
		if !errors.Is(msg.err, backends.ErrNotFound) {
			m.down(msg.err)
		}
		return nil
	}
	m.det.info, m.det.entry, m.det.at = msg.info, msg.entry, msg.at
	if msg.entry == nil {
		m.det.loading = false
		m.det.vp.SetContent("")
		return nil
	}
	return m.render()
}

func (m *Model) render() tea.Cmd {
	if m.det.entry == nil {
		return nil
	}
	m.det.loading = true
	return renderValue(m.det.entry, m.selSeq, m.det.mode, m.det.vp.Width(), m.det.all)
}

// remaining is the live TTL countdown of the selected key.
func (m *Model) remaining() time.Duration {
	info := m.det.info
	if info == nil || !info.TTL.Expires {
		return 0
	}
	return info.TTL.Remaining - m.opts.Now().Sub(m.det.at)
}

// --- keys -------------------------------------------------------------------

func (m *Model) onKey(msg tea.KeyPressMsg) tea.Cmd {
	if m.prompt != nil {
		return m.onPromptKey(msg)
	}
	k := m.km
	switch {
	case msg.String() == "ctrl+c" && (m.inv == nil || m.quitAfterInv):
		return tea.Quit // a second ctrl+c does not wait for the deletion
	case key.Matches(msg, k.Quit):
		if m.inv != nil {
			m.inv.cancel()
			m.quitAfterInv = true
			m.setStatus("stopping the deletion after its current batch… (ctrl+c again quits at once)", false)
			return nil
		}
		return tea.Quit
	case key.Matches(msg, k.Help):
		m.showHelp = !m.showHelp
		return m.layout()
	case key.Matches(msg, k.Focus):
		m.toggleFocus()
		return nil
	case key.Matches(msg, k.Filter):
		m.openPrompt(promptFilter, "filter (glob): ", m.filterValue())
		return m.prompt.input.Focus()
	case key.Matches(msg, k.Find):
		m.openPrompt(promptFind, "find: ", m.findText)
		return m.prompt.input.Focus()
	case key.Matches(msg, k.Next), key.Matches(msg, k.Prev):
		return m.findNext(key.Matches(msg, k.Next))
	case key.Matches(msg, k.Refresh):
		m.setStatus("", false)
		return tea.Batch(m.restartScan(false), m.requestStats(), m.selectionChanged())
	case key.Matches(msg, k.Copy):
		return m.copyKey()
	case key.Matches(msg, k.Delete):
		return m.askDelete()
	case key.Matches(msg, k.Invalidate):
		return m.askInvalidate()
	case key.Matches(msg, k.TTL):
		return m.askTTL()
	case key.Matches(msg, k.Mode):
		m.det.mode = (m.det.mode + 1) % viewMode(len(modeNames))
		return m.render()
	case key.Matches(msg, k.LoadAll):
		return m.loadAll()
	case key.Matches(msg, k.Tree):
		return m.toggleTree()
	}
	if m.focus == focusDetail {
		return m.detailKey(msg)
	}
	return m.listKey(msg)
}

func (m *Model) toggleFocus() {
	if m.focus == focusList {
		m.focus = focusDetail
	} else {
		m.focus = focusList
	}
}

func (m *Model) detailKey(msg tea.KeyPressMsg) tea.Cmd {
	k := m.km
	vp := &m.det.vp
	switch {
	case key.Matches(msg, k.ClearFilter), key.Matches(msg, k.Collapse):
		m.focus = focusList
	case key.Matches(msg, k.Up):
		vp.ScrollUp(1)
	case key.Matches(msg, k.Down):
		vp.ScrollDown(1)
	case key.Matches(msg, k.PageUp):
		vp.PageUp()
	case key.Matches(msg, k.PageDown):
		vp.PageDown()
	case key.Matches(msg, k.Top):
		vp.GotoTop()
	case key.Matches(msg, k.Bottom):
		vp.GotoBottom()
	}
	return nil
}

func (m *Model) listKey(msg tea.KeyPressMsg) tea.Cmd {
	k := m.km
	rows := m.store.Rows()
	before := m.cursor
	switch {
	case key.Matches(msg, k.ClearFilter):
		if m.filtered() {
			m.pattern = m.scoped("*")
			m.setStatus("filter cleared", false)
			return tea.Batch(m.restartScan(false), m.selectionChanged())
		}
		return nil
	case key.Matches(msg, k.Up):
		m.cursor--
	case key.Matches(msg, k.Down):
		m.cursor++
	case key.Matches(msg, k.PageUp):
		m.cursor -= m.listHeight()
	case key.Matches(msg, k.PageDown):
		m.cursor += m.listHeight()
	case key.Matches(msg, k.Top):
		m.cursor = 0
	case key.Matches(msg, k.Bottom):
		m.cursor = rows - 1
	case key.Matches(msg, k.Expand):
		if rows > 0 && m.store.Row(m.cursor).Branch {
			m.store.Expand(m.cursor)
		}
	case key.Matches(msg, k.Collapse):
		if rows > 0 && m.store.Tree() {
			r := m.store.Row(m.cursor)
			if r.Branch && r.Expanded {
				m.store.Collapse(m.cursor)
			} else if p := m.store.Parent(m.cursor); p >= 0 {
				m.cursor = p
			}
		}
	case key.Matches(msg, k.Enter):
		if rows == 0 {
			return nil
		}
		if m.store.Row(m.cursor).Branch {
			m.store.Toggle(m.cursor)
		} else {
			m.focus = focusDetail
		}
	}
	m.clampCursor()
	if m.cursor != before || rows > 0 && m.store.Row(m.cursor).Key != m.det.key {
		return m.selectionChanged()
	}
	return nil
}

// center scrolls so a row the cursor jumped to sits mid-pane, with its
// neighbours in view, rather than on the bottom edge.
func (m *Model) center() {
	if h := m.listHeight(); m.cursor < m.offset || m.cursor >= m.offset+h {
		m.offset = m.cursor - h/2
	}
	m.clampCursor()
}

func (m *Model) clampCursor() {
	rows := m.store.Rows()
	m.cursor = max(0, min(m.cursor, rows-1))
	h := m.listHeight()
	if m.cursor < m.offset {
		m.offset = m.cursor
	}
	if m.cursor >= m.offset+h {
		m.offset = m.cursor - h + 1
	}
	m.offset = max(0, min(m.offset, rows-h))
}

func (m *Model) toggleTree() tea.Cmd {
	key := m.det.key
	m.store.SetTree(!m.store.Tree())
	m.cursor, m.offset = 0, 0
	if key != "" && !m.det.branch {
		if row, ok := m.store.Reveal(key); ok {
			m.cursor = row
		}
	}
	m.center()
	if m.store.Rows() > 0 && m.store.Row(m.cursor).Key == key {
		return nil // same entry: keep the detail as it is
	}
	return m.selectionChanged()
}

func (m *Model) findNext(forward bool) tea.Cmd {
	if m.findText == "" {
		m.setStatus("press f to find a key among those loaded", false)
		return nil
	}
	return m.findFrom(m.cursor, forward)
}

func (m *Model) findFrom(from int, forward bool) tea.Cmd {
	if m.store.Rows() == 0 {
		return nil
	}
	row, ok := m.store.Find(from, m.findText, forward)
	if !ok {
		m.setStatus(fmt.Sprintf("no loaded key contains %s", textesc.Key(m.findText)), true)
		return nil
	}
	m.setStatus("", false)
	m.cursor = row
	m.center()
	return m.selectionChanged()
}

// copyKey puts the selected key on the clipboard (OSC 52). A key holding
// control bytes goes there in its escaped form, as the screen shows it: its
// raw bytes pasted into a shell would run whatever follows a newline. The
// escaped form is what `cachectl -E` reads back.
func (m *Model) copyKey() tea.Cmd {
	if m.det.key == "" {
		return nil
	}
	shown := textesc.Key(m.det.key)
	if textesc.NeedsQuoting(m.det.key) {
		m.setStatus("copied the escaped form "+shown+" (OSC 52): the key holds bytes unsafe to paste; cachectl -E takes it back", false)
	} else {
		m.setStatus("copied "+shown+" (OSC 52)", false)
	}
	return tea.SetClipboard(shown)
}

func (m *Model) loadAll() tea.Cmd {
	if m.det.key == "" || m.det.branch || m.det.all {
		return nil
	}
	m.det.all = true
	if m.det.entry == nil {
		return m.fetch() // too big to fetch until now
	}
	return m.render()
}

// filterValue is what the filter prompt starts with.
func (m *Model) filterValue() string {
	if !m.filtered() {
		return ""
	}
	return m.filterText
}

// --- writes -----------------------------------------------------------------

func (m *Model) refuseWrite() bool {
	if m.opts.ReadOnly {
		m.setStatus("read-only: this context does not allow writes", true)
		return true
	}
	if m.b == nil {
		m.setStatus("not connected", true)
		return true
	}
	return false
}

func (m *Model) askDelete() tea.Cmd {
	if m.refuseWrite() {
		return nil
	}
	if m.det.key == "" {
		return nil
	}
	if m.det.branch {
		m.setStatus("d deletes one key; to delete a group, filter it (/) and press D", false)
		return nil
	}
	m.openPrompt(promptDelete, "", "")
	m.prompt.key = m.det.key
	return nil
}

func (m *Model) askInvalidate() tea.Cmd {
	if m.refuseWrite() {
		return nil
	}
	if m.inv != nil {
		m.setStatus("a deletion is already running", true)
		return nil
	}
	if !m.filtered() {
		m.setStatus("D deletes the keys of the filter: set one with / first (the whole cache needs `cachectl invalidate --all`)", true)
		return nil
	}
	m.setStatus("counting keys matching "+textesc.Key(m.pattern)+"…", false)
	return countPattern(m.ctx, m.b, m.pattern, m.opts.Timeout)
}

func (m *Model) onCounted(msg countedMsg) tea.Cmd {
	if msg.pattern != m.pattern {
		return nil
	}
	if msg.err != nil {
		m.setStatus("counting failed: "+uictx.OneLine(msg.err.Error()), true)
		return nil
	}
	if msg.sum.Matched == 0 {
		m.setStatus("no keys match "+textesc.Key(msg.pattern), false)
		return nil
	}
	m.setStatus("", false)
	m.openPrompt(promptInvalidate, "", "")
	m.prompt.pattern = msg.pattern
	m.prompt.want = strconv.FormatInt(msg.sum.Matched, 10)
	m.prompt.input.Prompt = fmt.Sprintf("Delete %s keys matching %s? Type %s to confirm: ",
		uictx.GroupDigits(msg.sum.Matched), textesc.Key(msg.pattern), m.prompt.want)
	return m.prompt.input.Focus()
}

func (m *Model) onInvalidated(msg invDoneMsg) tea.Cmd {
	if m.inv == nil || msg.gen != m.inv.gen {
		return nil
	}
	m.inv = nil
	sum := msg.sum
	text := fmt.Sprintf("deleted %s keys matching %s in %s", uictx.GroupDigits(sum.Deleted), textesc.Key(m.invP), human.Duration(sum.Elapsed))
	switch {
	case msg.err != nil && errors.Is(msg.err, context.Canceled):
		m.setStatus("stopped: "+text, true)
	case msg.err != nil:
		m.setStatus(text+"; then failed: "+uictx.OneLine(msg.err.Error()), true)
	default:
		m.setStatus(text, false)
	}
	if m.quitAfterInv {
		return tea.Quit
	}
	return tea.Batch(m.restartScan(false), m.requestStats(), m.selectionChanged())
}

func (m *Model) askTTL() tea.Cmd {
	if m.refuseWrite() {
		return nil
	}
	if m.det.key == "" || m.det.branch {
		return nil
	}
	cur := ""
	if m.det.info != nil && m.det.info.TTL.Expires {
		cur = strconv.FormatInt(int64(max(0, m.remaining()).Round(time.Second)/time.Second), 10)
	}
	m.openPrompt(promptTTL, "TTL of "+textesc.Key(m.det.key)+" (300, 5m, 2d; 0 = no expiry): ", cur)
	m.prompt.key = m.det.key
	return m.prompt.input.Focus()
}

func (m *Model) onDeleted(msg deletedMsg) tea.Cmd {
	var ce *backends.ConnError
	if errors.As(msg.err, &ce) {
		// The UNLINK may have reached the server and only its answer got
		// lost: say so, and look again until the server tells.
		m.setStatus("delete of "+textesc.Key(msg.key)+" unconfirmed: "+uictx.OneLine(msg.err.Error())+"; press r to refresh", true)
		if m.unconfirmed == nil {
			m.unconfirmed = map[string]bool{}
		}
		m.unconfirmed[msg.key] = true
		return m.recheck()
	}
	if msg.err != nil { // the server answered: nothing was deleted
		m.setStatus("delete failed: "+uictx.OneLine(msg.err.Error()), true)
		return nil
	}
	delete(m.unconfirmed, msg.key)
	if msg.n == 0 {
		m.setStatus(textesc.Key(msg.key)+" was already gone", false)
	} else {
		m.setStatus("deleted "+textesc.Key(msg.key), false)
	}
	m.store.Remove(msg.key)
	m.clampCursor()
	return tea.Batch(m.selectionChanged(), m.requestStats())
}

// recheck looks up one key whose delete is unconfirmed, one at a time.
func (m *Model) recheck() tea.Cmd {
	if m.b == nil || m.checkInFly || len(m.unconfirmed) == 0 {
		return nil
	}
	keys := make([]string, 0, len(m.unconfirmed))
	for k := range m.unconfirmed {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	m.checkInFly = true
	return checkKey(m.ctx, m.b, keys[0], m.opts.Timeout)
}

// onChecked shows what became of an unconfirmed delete; while the server
// does not answer, the tick asks again.
func (m *Model) onChecked(msg checkedMsg) tea.Cmd {
	m.checkInFly = false
	if msg.err != nil || !m.unconfirmed[msg.key] {
		return nil
	}
	delete(m.unconfirmed, msg.key)
	if !msg.gone {
		m.setStatus(textesc.Key(msg.key)+" is still there: the delete did not happen", true)
		return m.recheck()
	}
	m.setStatus("deleted "+textesc.Key(msg.key)+" (confirmed by looking again)", false)
	m.store.Remove(msg.key)
	m.clampCursor()
	return tea.Batch(m.selectionChanged(), m.requestStats(), m.recheck())
}

func (m *Model) onExpired(msg expiredMsg) tea.Cmd {
	if msg.err != nil {
		m.setStatus("TTL not changed: "+uictx.OneLine(msg.err.Error()), true)
		return nil
	}
	if msg.ttl == 0 {
		m.setStatus(textesc.Key(msg.key)+" no longer expires", false)
	} else {
		m.setStatus("TTL of "+textesc.Key(msg.key)+" set to "+human.Duration(msg.ttl), false)
	}
	if msg.key == m.det.key {
		return m.fetch()
	}
	return nil
}
