package commands

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/cachectl/cachectl/internal/analyze/report"
	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/human"
	"github.com/cachectl/cachectl/internal/iostreams"
	"github.com/cachectl/cachectl/internal/profiles"
	"github.com/cachectl/cachectl/internal/serial"
	"github.com/cachectl/cachectl/internal/textesc"
)

type keysOptions struct {
	IO      *iostreams.IOStreams
	Backend func(context.Context) (backends.Backend, error)
	Mapper  keyMapper
	Output  outputFormat

	Pattern string
	Prefix  string
	Long    bool
	Limit   int
}

// NewCmdKeys builds `cachectl keys`.
func NewCmdKeys(f *Factory, runF func(context.Context, *keysOptions) error) *cobra.Command {
	opts := &keysOptions{IO: f.IO, Backend: f.Backend, Mapper: f.keyMapper(), Pattern: "*"}
	cmd := &cobra.Command{
		Use:   "keys [PATTERN]",
		Short: "List keys matching a glob pattern, streaming",
		Long: `List the keys matching PATTERN (default "*"), one per line, as the server
returns them page by page: output starts at once and memory stays flat on any
number of keys. Patterns use Redis glob syntax: * ? [abc] [^a] [a-z] and \ to
escape. Like Redis SCAN, a key may be listed twice if the server resizes its
table meanwhile.

Keys holding control bytes, invalid UTF-8 or a leading double quote are
printed in double-quoted escaped form ("a\x1bb"); pass such a key back with
--escaped-keys (-E). -l adds TYPE, TTL (seconds, - for none), SIZE (bytes, or
elements for collections) and FORMAT (guessed from the first bytes).`,
		Example: `  cachectl keys 'session:*'
  cachectl keys 'user:[0-9]*' -l --limit 20
  cachectl keys -o jsonl | jq -r .key`,
		Args: rangeArgs(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Output = f.Output()
			if len(args) == 1 && cmd.Flags().Changed("prefix") {
				return usagef("give a PATTERN or --prefix, not both")
			}
			pattern := "*"
			if len(args) == 1 {
				pattern = args[0]
			}
			if cmd.Flags().Changed("prefix") {
				p, err := opts.Mapper.PrefixPattern(opts.Prefix)
				if err != nil {
					return err
				}
				opts.Pattern = p
			} else {
				p, err := opts.Mapper.Pattern(pattern)
				if err != nil {
					return err
				}
				opts.Pattern = p
			}
			if opts.Limit < 0 {
				return usagef("--limit must be positive")
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return keysRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVarP(&opts.Long, "long", "l", false, "add type, TTL, size and format columns")
	addReadFromReplicas(cmd, f)
	cmd.Flags().IntVar(&opts.Limit, "limit", 0, "stop after N keys (0: no limit)")
	cmd.Flags().StringVar(&opts.Prefix, "prefix", "", "list the keys starting with this literal text (no glob), under the profile's layout")
	return cmd
}

var errLimitReached = errors.New("limit reached")

type keyRowJSON struct {
	Key       any           `json:"key"`
	StoredKey any           `json:"stored_key,omitempty"`
	Tag       *profiles.Tag `json:"tag,omitempty"`
	Type      string        `json:"type,omitempty"`
	TTL       *float64      `json:"ttl"`
	Size      *int64        `json:"size,omitempty"`
	Length    *int64        `json:"length,omitempty"`
	Format    string        `json:"format,omitempty"`
	// TTLUnknown: "ttl" is null because the server cannot tell (memcached's
	// classic protocol), not because the key never expires.
	TTLUnknown bool    `json:"ttl_unknown,omitempty"`
	Flags      *uint32 `json:"flags,omitempty"`
	Server     string  `json:"server,omitempty"`
	// From memcached's listing: the last access (UTC) and the slab class.
	LastAccess string `json:"last_access,omitempty"`
	SlabClass  int    `json:"slab_class,omitempty"`
	// Unknown names the fields left out (or null) because the server's ACL
	// refused to tell them: "type", "ttl", "size", "length", "format".
	Unknown []string `json:"unknown,omitempty"`
}

func keysRun(ctx context.Context, opts *keysOptions) error {
	b, err := opts.Backend(ctx)
	if err != nil {
		return err
	}
	defer b.Close()

	prof, err := opts.Mapper.Profile()
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(opts.IO.Out, 64<<10)
	p := newKeyPrinter(opts.IO, w, opts.Output, opts.Long)
	p.prof = prof
	if several := nodeLabel(b.Describe(), true); several != "" {
		p.node = strings.ToUpper(several)
	}
	var denials aclDenials
	count := 0
	// page handles one batch of listed keys of lb (b, or one worker of a
	// replica set, whose name goes in server); listed holds what the
	// listing itself said of them (memcached), or nil.
	page := func(lb backends.Backend, server string, keys []string, listed []backends.KeyInfo) error {
		if opts.Limit > 0 && count+len(keys) > opts.Limit {
			keys = keys[:opts.Limit-count]
		}
		if opts.Long {
			infos, err := lb.Inspect(ctx, keys)
			if err != nil {
				return err
			}
			if listed != nil {
				for i := range infos {
					infos[i].LastAccess, infos[i].SlabClass, infos[i].Server = listed[i].LastAccess, listed[i].SlabClass, listed[i].Server
				}
			}
			if server != "" {
				for i := range infos {
					infos[i].Server = server
				}
			}
			p.fit(infos)
			for _, ki := range infos {
				if ki.Missing { // expired or deleted since the listing saw it
					continue
				}
				denials.add(ki)
				p.row(ki)
			}
		} else {
			for _, k := range keys {
				p.key(k)
			}
		}
		count += len(keys)
		// Flush each page on a terminal so rows appear as they arrive; in a
		// pipe the 64 KiB buffer keeps syscalls few.
		if opts.IO.IsStdoutTTY() {
			if err := w.Flush(); err != nil {
				return err
			}
		}
		if p.err != nil {
			return p.err
		}
		if opts.Limit > 0 && count >= opts.Limit {
			return errLimitReached
		}
		return nil
	}
	list := func(lb backends.Backend, server string) error {
		if is, ok := lb.(backends.InfoScanner); ok && opts.Long {
			keys := make([]string, 0, 1000)
			return is.ScanInfo(ctx, opts.Pattern, func(infos []backends.KeyInfo) error {
				keys = keys[:0]
				for _, ki := range infos {
					keys = append(keys, ki.Key)
				}
				return page(lb, server, keys, infos)
			})
		}
		return lb.Scan(ctx, opts.Pattern, func(keys []string) error { return page(lb, server, keys, nil) })
	}
	if rs, ok := b.(backends.ReplicaSet); ok && opts.Long {
		// -l shows every worker's copy, each with its own TTL and size; the
		// plain listing below is the union, each key once.
		err = listMembers(ctx, rs, list)
	} else {
		err = list(b, "")
	}
	if errors.Is(err, errLimitReached) {
		err = nil
	}
	p.finish()
	if ferr := w.Flush(); err == nil {
		err = ferr
	}
	if err == nil {
		err = p.err
	}
	if msg := denials.warning(); msg != "" {
		// One line for the whole listing, not one per key or page.
		fmt.Fprintln(opts.IO.ErrOut, "warning: "+msg)
	}
	return err
}

// listMembers runs list on each worker of a replica set in turn. A worker
// that fails is reported at the end, after the others are listed; an error
// of the output (a closed pipe, --limit) stops at once.
func listMembers(ctx context.Context, rs backends.ReplicaSet, list func(b backends.Backend, server string) error) error {
	ms, err := rs.Members(ctx)
	if err != nil {
		return err
	}
	var failed []backends.MemberError
	for _, m := range ms {
		var pe *backends.PartialError
		switch err := list(m.Backend, m.Name); {
		case err == nil:
		case errors.Is(err, errLimitReached), errors.Is(err, context.Canceled), errors.As(err, &pe), !isServerSide(err):
			return err
		default:
			failed = append(failed, backends.MemberError{Name: m.Name, Err: err})
		}
	}
	if len(failed) > 0 {
		return &backends.PartialError{What: "listed", Done: len(ms) - len(failed), All: len(ms), Failed: failed}
	}
	return nil
}

// isServerSide: err came from a server (unreachable, an error answer), not
// from writing the output.
func isServerSide(err error) bool {
	var ce *backends.ConnError
	var se *backends.ServerError
	return errors.As(err, &ce) || errors.As(err, &se)
}

// aclDenials counts what the server's ACL kept from keys -l, for its warning.
type aclDenials struct {
	outside  int            // keys outside the user's key patterns
	keys     int            // keys with a command refused
	commands map[string]int // refused command -> keys
}

func (d *aclDenials) add(ki backends.KeyInfo) {
	if len(ki.Denied) == 0 {
		return
	}
	if ki.Denied[0] == backends.DeniedKey {
		d.outside++
		return
	}
	d.keys++
	if d.commands == nil {
		d.commands = map[string]int{}
	}
	for _, c := range ki.Denied {
		d.commands[c]++
	}
}

// aclCommands lists what keys -l asks per key, in the order the warning
// names them, and the columns each fills. All are in @read, the category
// to name: @keyspace and the data type categories hold writes too.
var aclCommands = []struct {
	name   string
	fields []string
}{
	// Without TYPE the kind of value is unknown, so are its size and format.
	{"TYPE", []string{"TYPE", "SIZE", "FORMAT"}}, {"PTTL", []string{"TTL"}},
	{"STRLEN", []string{"SIZE"}}, {"GETRANGE", []string{"FORMAT"}},
	{"HLEN", []string{"SIZE"}}, {"LLEN", []string{"SIZE"}}, {"SCARD", []string{"SIZE"}},
	{"ZCARD", []string{"SIZE"}}, {"XLEN", []string{"SIZE"}},
}

func (d *aclDenials) warning() string {
	var parts []string
	if d.outside > 0 {
		parts = append(parts, fmt.Sprintf("%d key(s) are outside this user's ACL key patterns: TYPE, TTL, SIZE and FORMAT shown as ?", d.outside))
	}
	if d.keys > 0 {
		var names, fields, grants []string
		seen := map[string]bool{}
		once := func(list *[]string, s string) {
			if !seen[s] {
				seen[s] = true
				*list = append(*list, s)
			}
		}
		for _, c := range aclCommands {
			if d.commands[c.name] > 0 {
				names = append(names, c.name)
				grants = append(grants, "+"+strings.ToLower(c.name))
				for _, f := range c.fields {
					once(&fields, f)
				}
			}
		}
		parts = append(parts, fmt.Sprintf("no permission for %s on %d key(s): %s shown as ?; grant %s or @read",
			strings.Join(names, ", "), d.keys, strings.Join(fields, ", "), strings.Join(grants, " ")))
	}
	return strings.Join(parts, "; ")
}

// unknownFields names the keys -l fields the ACL kept from a row.
func unknownFields(ki backends.KeyInfo) []string {
	if len(ki.Denied) == 0 {
		return nil
	}
	var u []string
	if ki.Type == "" {
		u = append(u, "type")
	}
	if ki.TTL.Unknown {
		u = append(u, "ttl")
	}
	switch {
	case ki.Type == "" || (ki.Type == "string" && ki.Size < 0):
		u = append(u, "size")
	case ki.Type != "string" && ki.Length < 0:
		u = append(u, "length")
	}
	if ki.Type == "" || (ki.Type == "string" && ki.Partial && len(ki.Prefix) == 0 && ki.Size != 0) {
		u = append(u, "format")
	}
	return u
}

// nodeLabel is what the node holding a key is called (report.NodeLabel).
func nodeLabel(info backends.Info, several bool) string { return report.NodeLabel(info, several) }

// keyPrinter writes rows in the output format chosen; a JSON document is
// streamed as an array so it never has to be held in memory.
type keyPrinter struct {
	io     *iostreams.IOStreams
	prof   *profiles.Profile // keys print in its terms; -l tags what each key is
	w      io.Writer
	long   bool
	mode   outputFormat
	n      int
	header bool
	err    error
	// node heads the -l column naming each key's node ("NODE", "SERVER"),
	// "" when the backend has one server; nodeWidth is that column's width
	// on a terminal, the widest address seen so far.
	node      string
	nodeWidth int
}

// fit widens the node column to the addresses of a page about to be printed.
func (p *keyPrinter) fit(infos []backends.KeyInfo) {
	if p.node == "" {
		return
	}
	p.nodeWidth = max(p.nodeWidth, len(p.node))
	for _, ki := range infos {
		p.nodeWidth = max(p.nodeWidth, utf8.RuneCountInString(textesc.Line(ki.Server)))
	}
}

func newKeyPrinter(ios *iostreams.IOStreams, w io.Writer, mode outputFormat, long bool) *keyPrinter {
	return &keyPrinter{io: ios, w: w, long: long, mode: mode}
}

func (p *keyPrinter) write(s string) {
	if p.err == nil {
		_, p.err = io.WriteString(p.w, s)
	}
}

func (p *keyPrinter) json(v any) {
	var sb strings.Builder
	if err := writeJSON(&sb, false, v); err != nil {
		p.err = err
		return
	}
	line := strings.TrimSuffix(sb.String(), "\n")
	switch p.mode {
	case "json":
		if p.n == 0 {
			p.write("[")
		} else {
			p.write(",")
		}
		p.write("\n" + line)
	default:
		p.write(line + "\n")
	}
	p.n++
}

func (p *keyPrinter) finish() {
	if p.mode == "json" {
		if p.n == 0 {
			p.write("[]\n")
		} else {
			p.write("\n]\n")
		}
	}
}

// shown is a stored key in the profile's terms: "greeting" for Django's
// ":1:greeting", so the output feeds back into get and del under the same
// profile. stored is set when they differ.
func (p *keyPrinter) shown(k string) (user string, stored any) {
	if p.prof == nil || !p.prof.Maps() {
		return k, nil
	}
	u, ok := p.prof.UserKey(k)
	if !ok || u == k {
		return k, nil
	}
	return u, jsonKey(k)
}

func (p *keyPrinter) key(k string) {
	u, stored := p.shown(k)
	if p.mode != "text" {
		p.json(struct {
			Key       any `json:"key"`
			StoredKey any `json:"stored_key,omitempty"`
		}{jsonKey(u), stored})
		return
	}
	p.write(textesc.Key(u) + "\n")
	p.n++
}

// tag is what the key is in its framework's terms, when a profile is in use.
func (p *keyPrinter) tag(ki backends.KeyInfo) (profiles.Tag, bool) {
	if p.prof == nil || p.prof.Name() == "none" {
		return profiles.Tag{}, false
	}
	var prefix []byte
	if len(ki.Prefix) > 0 {
		prefix = ki.Prefix
	}
	return p.prof.Recognize(ki.Key, prefix)
}

func (p *keyPrinter) row(ki backends.KeyInfo) {
	format := ""
	if ki.Type == "string" {
		// memcached flags or the HTTP server's Cache-Format say what the value is
		format = ki.Hint
		if format == "" && (len(ki.Prefix) > 0 || !ki.Partial) {
			format = string(serial.Sniff(ki.Prefix, !ki.Partial))
		}
	}
	u, stored := p.shown(ki.Key)
	tag, tagged := p.tag(ki)
	unknown := unknownFields(ki)
	if p.mode != "text" {
		r := keyRowJSON{Key: jsonKey(u), StoredKey: stored, Type: ki.Type, TTL: ttlJSON(ki.TTL), Format: format, Server: ki.Server, TTLUnknown: ki.TTL.Unknown, Unknown: unknown}
		if ki.HasFlags {
			r.Flags = &ki.Flags
		}
		if !ki.LastAccess.IsZero() {
			r.LastAccess = ki.LastAccess.UTC().Format(time.RFC3339)
		}
		r.SlabClass = ki.SlabClass
		if tagged {
			r.Tag = &tag
		}
		switch {
		case ki.Type == "string" && ki.Size >= 0:
			r.Size = &ki.Size
		case ki.Type != "string" && ki.Type != "" && ki.Length >= 0:
			r.Length = &ki.Length
		}
		p.json(r)
		return
	}
	ttl, size := "-", ""
	if ki.TTL.Unknown {
		ttl = "?"
	}
	if ki.TTL.Expires {
		ttl = scriptTTL(ki.TTL)
	}
	if ki.Type == "string" {
		size = fmt.Sprint(ki.Size)
	} else {
		size = fmt.Sprint(ki.Length)
	}
	typ := ki.Type
	for _, f := range unknown {
		switch f {
		case "type":
			typ = "?"
		case "size", "length":
			size = "?"
		case "format":
			format = "?"
		}
	}
	if format == "" {
		format = "-"
	}
	tty := p.io.IsStdoutTTY()
	// Under a profile a WHAT column says what each key is ("-" when unknown).
	what := ""
	if p.prof != nil && p.prof.Name() != "none" {
		what = "-"
		if tagged {
			what = strings.TrimSpace(tag.String())
		}
	}
	node := ""
	if p.node != "" {
		node = "-"
		if ki.Server != "" {
			node = textesc.Line(ki.Server)
		}
	}
	if !tty {
		// Tab-separated for cut/awk; the key goes last so it may hold anything.
		cols := typ + "\t" + ttl + "\t" + size + "\t" + format + "\t"
		if node != "" {
			cols += node + "\t"
		}
		if what != "" {
			cols += textesc.Text(what) + "\t"
		}
		p.write(cols + textesc.Key(u) + "\n")
		return
	}
	cs := p.io.ColorScheme()
	// The node column sits before WHAT and KEY; padded by runes, as an
	// escaped address may hold multi-byte text.
	nodeCol := func(s string) string {
		if p.node == "" {
			return ""
		}
		return s + strings.Repeat(" ", max(p.nodeWidth-utf8.RuneCountInString(s), 0)) + " "
	}
	if !p.header {
		p.header = true
		if what != "" {
			p.write(cs.Dim(fmt.Sprintf("%-7s %9s %10s %-8s %s%-36s %s", "TYPE", "TTL", "SIZE", "FORMAT", nodeCol(p.node), "WHAT", "KEY")) + "\n")
		} else {
			p.write(cs.Dim(fmt.Sprintf("%-7s %9s %10s %-8s %s%s", "TYPE", "TTL", "SIZE", "FORMAT", nodeCol(p.node), "KEY")) + "\n")
		}
	}
	if ki.TTL.Expires {
		ttl = ki.TTL.Human()
	}
	switch {
	case size == "?":
	case ki.Type == "string":
		size = human.Bytes(ki.Size)
	default:
		size += " items"
	}
	if what != "" {
		p.write(fmt.Sprintf("%-7s %9s %10s %-8s %s%-36s %s\n", typ, ttl, size, format, nodeCol(node), textesc.Text(what), cs.Cyan(textesc.Key(u))))
		return
	}
	p.write(fmt.Sprintf("%-7s %9s %10s %-8s %s%s\n", typ, ttl, size, format, nodeCol(node), cs.Cyan(textesc.Key(u))))
}
