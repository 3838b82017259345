package commands

import (
	"cmp"
	"context"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/config"
	"github.com/cachectl/cachectl/internal/iostreams"
	"github.com/cachectl/cachectl/internal/redact"
	"github.com/cachectl/cachectl/internal/tui"
)

type uiOptions struct {
	IO      *iostreams.IOStreams
	Resolve func() (*config.Resolved, error)
	Mapper  keyMapper
	// Kind names the backend of a URL for the header, before any dial.
	Kind func(rawURL string) string
	// Open opens the cache; warnings go to the dashboard's status line.
	Open    func(ctx context.Context, warn func(string)) (backends.Backend, error)
	Now     func() time.Time
	Timeout time.Duration
	// CheckWritable refuses a write in read-only mode (exit 4).
	CheckWritable func(what string) error

	Pattern  string
	Tree     bool
	Delim    string
	MaxFetch int64
	// Live: follow key events where the backend reports them (L toggles).
	Live bool
	// EnableNotifications: live mode may turn Redis keyspace notifications
	// on for the dashboard (refused in read-only mode).
	EnableNotifications bool
}

// NewCmdUI builds `cachectl ui`.
func NewCmdUI(f *Factory, runF func(context.Context, *uiOptions) error) *cobra.Command {
	opts := &uiOptions{IO: f.IO, Resolve: f.Resolve, Mapper: f.keyMapper(), Kind: f.Drivers.Kind, Open: f.OpenBackend, Now: f.Now, CheckWritable: f.CheckWritable}
	cmd := &cobra.Command{
		Use:   "ui [PATTERN]",
		Short: "Browse and edit the cache in a full-screen dashboard",
		Long: `Open a live key browser: keys stream in on the left (flat, or as a tree split
on --delimiter), the selected entry on the right with its type, size, format,
a TTL counting down and the decoded value. Stats and an ops/s sparkline run in
the header; a dead server shows there and is retried.

Keys: ↑/↓ move, / filter by glob (on the server), esc clears it, f finds a
loaded key (n/N next/previous), v switches tree/flat, tab or enter moves to the
value, m cycles decoded/json/hex, a loads a big value in full, d deletes the
key (y to confirm), D deletes every key of the filter (type the count to
confirm), t edits the TTL, r refreshes, y copies the key (OSC 52), L turns
live mode off and on, A shows the analysis of the filter, ? shows all keys,
q quits. Read-only contexts refuse d, D and t.

Live mode (on by default where the server reports key events: Redis keyspace
notifications, Memcached's watch): keys appear and vanish as other clients
write, delete or let them expire, and the open entry refreshes; the header
shows the event rate. Redis ships with notifications off: the header says so,
and --enable-notifications turns them on for the session (CONFIG SET
notify-keyspace-events, the old value restored on exit; refused when
read-only). The analysis view (A) draws the tables of cachectl analyze for
the filter, computed in the background; the keys stay usable meanwhile.

It needs a terminal; scripts use keys, get and invalidate.`,
		Example: `  cachectl ui
  cachectl ui 'orders:*' --tree
  cachectl -c prod ui               # a read-only or production context shows its label`,
		Args: rangeArgs(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Timeout = f.Global.Timeout
			if len(args) == 1 {
				opts.Pattern = args[0]
			}
			if !opts.IO.IsStdinTTY() || !opts.IO.IsStdoutTTY() {
				return usagef("ui needs a terminal (stdin and stdout must be a TTY); in scripts use keys, get or invalidate")
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return uiRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Tree, "tree", false, "start in tree view")
	cmd.Flags().BoolVar(&opts.Live, "live", true, "follow key events where the backend reports them (L toggles; --live=false starts with it off)")
	cmd.Flags().BoolVar(&opts.EnableNotifications, "enable-notifications", false, "Redis: turn keyspace notifications on for live mode (CONFIG SET notify-keyspace-events), restoring the old value on exit")
	cmd.Flags().StringVar(&opts.Delim, "delimiter", ":", "separator of the tree view's levels")
	cmd.Flags().Var(newByteSize(&opts.MaxFetch, 8<<20), "max-fetch", "largest value fetched when selected; bigger ones wait for a (load all)")
	return cmd
}

func uiRun(ctx context.Context, opts *uiOptions) error {
	if opts.EnableNotifications {
		if err := opts.CheckWritable("enable keyspace notifications (CONFIG SET notify-keyspace-events)"); err != nil {
			return err
		}
	}
	r, err := opts.Resolve()
	if err != nil {
		return err
	}
	prof, err := opts.Mapper.Profile()
	if err != nil {
		return err
	}
	// Under a profile the dashboard lists its namespace only.
	pattern, err := opts.Mapper.Pattern(cmp.Or(opts.Pattern, "*"))
	if err != nil {
		return err
	}
	var display func(string) string
	if prof.Maps() {
		display = func(k string) string { u, _ := prof.UserKey(k); return u }
	}
	var tag func(string, []byte) string
	if prof.Name() != "none" {
		tag = func(k string, v []byte) string {
			if t, ok := prof.Recognize(k, v); ok {
				return strings.TrimSpace(t.String())
			}
			return ""
		}
	}
	to := tui.Options{
		Kind:     opts.Kind(r.URL),
		Address:  redact.URL(r.URL),
		Context:  r.ContextName,
		ReadOnly: r.ReadOnly,
		Pattern:  pattern,
		Tag:      tag,
		Display:  display,
		Scope:    prof.Pattern,
		Delim:    opts.Delim,
		Tree:     opts.Tree,
		Timeout:  opts.Timeout,
		MaxFetch: opts.MaxFetch,
		Now:      opts.Now,
		LiveOff:  !opts.Live,
		Profile:  prof,

		EnableNotifications: opts.EnableNotifications,
	}
	if c := r.Context; c != nil {
		to.Label, to.LabelColor, to.Production = c.Label, c.Color, c.Production
	}
	return tui.Run(ctx, opts.IO.In, opts.IO.Out, to, opts.Open)
}
