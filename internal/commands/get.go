package commands

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/httpresp"
	"github.com/cachectl/cachectl/internal/human"
	"github.com/cachectl/cachectl/internal/iostreams"
	"github.com/cachectl/cachectl/internal/render"
	"github.com/cachectl/cachectl/internal/serial"
	"github.com/cachectl/cachectl/internal/textesc"
)

type getOptions struct {
	IO      *iostreams.IOStreams
	Backend func(context.Context) (backends.Backend, error)
	Mapper  keyMapper
	Output  outputFormat
	Now     func() time.Time

	Keys       []string
	Raw        bool
	As         string
	Long       bool
	MaxInflate int64
	MaxItems   int // -1: automatic (bounded on a terminal, all in a pipe)
	MaxBytes   int // -1: automatic
}

// On a terminal a huge value would scroll away thousands of screens; these
// bounds keep text output readable there. Pipes and -o json get everything.
const (
	ttyMaxItems = 1000
	ttyMaxBytes = 1 << 20
)

// NewCmdGet builds `cachectl get`.
func NewCmdGet(f *Factory, runF func(context.Context, *getOptions) error) *cobra.Command {
	opts := &getOptions{IO: f.IO, Backend: f.Backend, Mapper: f.keyMapper(), Now: f.Now}
	cmd := &cobra.Command{
		Use:   "get KEY...",
		Short: "Print cached values, decoded",
		Long: `Print the value of each KEY, decoded: JSON is pretty-printed, text prints
as itself (so x=$(cachectl get k) works), other bytes as an escaped literal.
Control characters are always escaped; --raw writes the stored bytes unchanged.

-o json prints {"key", "found", "ttl", "size", "type", "format", "value"} per
key (an array for several keys); ttl is in seconds, null when the key never
expires. A missing key prints {"key", "found": false}. If any key is missing
the exit code is 3.`,
		Example: `  cachectl get user:1
  cachectl get user:1 -l                 # with type, format, size and TTL
  cachectl get user:1 -o json | jq .value
  cachectl get avatar:7 --raw > avatar.png`,
		Args: minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Output = f.Output()
			keys, err := opts.Mapper.Keys(args)
			if err != nil {
				return err
			}
			opts.Keys = keys
			if opts.Raw && len(keys) > 1 {
				return usagef("--raw takes exactly one key (the bytes of several values cannot be told apart)")
			}
			if opts.Raw && opts.Output.JSON() {
				return usagef("--raw writes bytes; it cannot be combined with -o %s", opts.Output)
			}
			if _, err := serial.DecodeAs(nil, opts.As); err != nil {
				return usagef("--as: %v", err)
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return getRun(cmd.Context(), opts)
		},
		ValidArgsFunction: f.completeKeys(-1),
	}
	cmd.Flags().BoolVar(&opts.Raw, "raw", false, "write the stored bytes unchanged")
	cmd.Flags().StringVar(&opts.As, "as", "auto", "decode as: "+strings.Join(serial.DecodeModes(), ", ")+"; a codec ("+strings.Join(serial.Codecs(), ", ")+") inflates first, e.g. zlib+pickle")
	cmd.Flags().Var(newByteSize(&opts.MaxInflate, serial.DefaultMaxInflate), "max-inflate", "largest decompressed size accepted (e.g. 64MiB, 1GiB)")
	cmd.Flags().BoolVarP(&opts.Long, "long", "l", false, "also show type, format, size and TTL")
	cmd.Flags().IntVar(&opts.MaxItems, "max-items", -1, "text output: show at most N items of each list, dict or set (default 1000 on a terminal, all in a pipe; 0 = all)")
	cmd.Flags().IntVar(&opts.MaxBytes, "max-bytes", -1, "text output: show at most N bytes of each string or bytes value (default 1 MiB on a terminal, all in a pipe; 0 = all)")
	_ = cmd.RegisterFlagCompletionFunc("as", fixedCompletion(append(serial.DecodeModes(), serial.Codecs()...)...))
	return cmd
}

type getJSON struct {
	Key         any             `json:"key"`
	Found       bool            `json:"found"`
	TTL         *float64        `json:"ttl,omitempty"`
	TTLUnknown  bool            `json:"-"`
	Flags       *uint32         `json:"flags,omitempty"`
	Server      string          `json:"server,omitempty"`
	Size        *int64          `json:"size,omitempty"`
	Length      *int64          `json:"length,omitempty"`
	Truncated   *bool           `json:"truncated,omitempty"`
	Type        string          `json:"type,omitempty"`
	Format      string          `json:"format,omitempty"`
	Value       json.RawMessage `json:"value,omitempty"`
	DecodeError string          `json:"decode_error,omitempty"`
	// HTTPResponse is a cached HTTP response found in the value (Litestar,
	// Starlite, Django, asgi-caches), in internal/httpresp's shape.
	HTTPResponse json.RawMessage `json:"http_response,omitempty"`
}

// MarshalJSON keeps "ttl": null for found keys without expiry (and leaves it
// out when the server cannot tell), while a missing key's document is just
// {"key", "found": false}.
func (g getJSON) MarshalJSON() ([]byte, error) {
	type plain getJSON
	if !g.Found {
		return marshalCompact(struct {
			Key   any  `json:"key"`
			Found bool `json:"found"`
		}{g.Key, false})
	}
	if g.TTLUnknown {
		return marshalCompact(struct {
			Key any  `json:"key"`
			Fnd bool `json:"found"`
			plain
		}{g.Key, true, plain(g)})
	}
	return marshalCompact(struct {
		Key any      `json:"key"`
		Fnd bool     `json:"found"`
		TTL *float64 `json:"ttl"`
		plain
	}{g.Key, true, g.TTL, plain(g)})
}

func getRun(ctx context.Context, opts *getOptions) error {
	b, err := opts.Backend(ctx)
	if err != nil {
		return err
	}
	defer b.Close()
	// -l names the node holding each key as its backend calls it.
	nodeName := nodeLabel(b.Describe(), false)

	w := bufio.NewWriter(opts.IO.Out)
	defer w.Flush()
	var docs []getJSON
	missing := 0
	for i, key := range opts.Keys {
		e, err := b.Get(ctx, key)
		if errors.Is(err, backends.ErrNotFound) {
			missing++
			if opts.Output.JSON() {
				docs = append(docs, getJSON{Key: jsonKey(key)})
			} else {
				w.Flush()
				fmt.Fprintf(opts.IO.ErrOut, "%s key %s not found\n", opts.IO.ColorScheme().Red("error:"), textesc.Key(key))
			}
			continue
		}
		if err != nil {
			w.Flush()
			return fmt.Errorf("get %s: %w", textesc.Key(key), err)
		}
		switch {
		case opts.Raw:
			if e.Collection != nil {
				return usagef("%s is a %s; --raw needs a string value", textesc.Key(key), e.Type)
			}
			if _, err := w.Write(e.Value); err != nil {
				return err
			}
		case opts.Output.JSON():
			doc, err := entryJSON(e, opts)
			if err != nil {
				return err
			}
			docs = append(docs, doc)
		default:
			if err := printEntry(w, e, opts, i, nodeName); err != nil {
				return err
			}
		}
	}
	if opts.Output.JSON() {
		var err error
		if opts.IO.IsStdoutTTY() {
			var v any = docs
			if len(docs) == 1 {
				v = docs[0]
			}
			err = writeJSON(w, true, v)
		} else {
			err = writeGetJSON(w, docs)
		}
		if err != nil {
			return err
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if missing > 0 {
		if opts.Output.JSON() || len(opts.Keys) > 1 {
			return &silentError{err: fmt.Errorf("%d of %d key(s) not found: %w", missing, len(opts.Keys), backends.ErrNotFound)}
		}
		return &silentError{err: backends.NotFound(opts.Keys[0])}
	}
	return nil
}

// writeGetJSON writes compact documents without passing the values through
// encoding/json, which would re-scan every byte of them (a hostile pickle
// can make one of 17 MB): the metadata is marshalled, the value spliced in.
func writeGetJSON(w io.Writer, docs []getJSON) error {
	var out []byte
	if len(docs) != 1 {
		out = append(out, '[')
	}
	for i, d := range docs {
		if i > 0 {
			out = append(out, ',')
		}
		value, decodeErr, resp := d.Value, d.DecodeError, d.HTTPResponse
		d.Value, d.DecodeError, d.HTTPResponse = nil, "", nil
		head, err := marshalCompact(d)
		if err != nil {
			return err
		}
		if value == nil {
			out = append(out, head...)
			continue
		}
		out = append(out, head[:len(head)-1]...) // drop the closing brace
		out = append(out, `,"value":`...)
		out = append(out, value...)
		if decodeErr != "" {
			q, _ := marshalCompact(decodeErr)
			out = append(out, `,"decode_error":`...)
			out = append(out, q...)
		}
		if resp != nil {
			out = append(out, `,"http_response":`...)
			out = append(out, resp...)
		}
		out = append(out, '}')
	}
	if len(docs) != 1 {
		out = append(out, ']')
	}
	out = append(out, '\n')
	// One pass that leaves valid JSON alone but \u-escapes the controls a
	// terminal would act on (bidi overrides in a key, DEL, C1) as writeJSON does.
	_, err := w.Write(textesc.JSON(out))
	return err
}

// marshalCompact is json.Marshal without HTML escaping, as writeJSON writes.
func marshalCompact(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

func decodeEntry(e *backends.Entry, opts *getOptions) serial.Decoded {
	d, err := serial.Decode(e.Value, serial.DecodeOptions{As: opts.As, Hint: e.Hint, MaxInflate: opts.MaxInflate})
	if err != nil { // as was validated in RunE
		return serial.Detect(e.Value)
	}
	return d
}

func entryJSON(e *backends.Entry, opts *getOptions) (getJSON, error) {
	doc := getJSON{Key: jsonKey(e.Key), Found: true, TTL: ttlJSON(e.TTL), TTLUnknown: e.TTL.Unknown, Type: e.Type, Server: e.Server}
	if e.HasFlags {
		doc.Flags = &e.Flags
	}
	if e.Collection != nil {
		c := e.Collection
		doc.Length = &c.Length
		doc.Truncated = &c.Truncated
		doc.Format = e.Type
		v, err := json.Marshal(collectionJSON(c))
		if err != nil {
			return doc, err
		}
		doc.Value = v
		return doc, nil
	}
	doc.Size = &e.Size
	d := decodeEntry(e, opts)
	doc.Format = string(d.Format)
	if d.Err != nil {
		doc.DecodeError = d.Err.Error()
	}
	doc.Value = serial.ToJSON(d.Value)
	if r, ok := cachedResponse(d, opts); ok {
		doc.HTTPResponse = r.JSON()
	}
	return doc, nil
}

// cachedResponse finds a cached HTTP response in a decoded value, unless a
// decoder was forced with --as (then the user wants the stored value).
func cachedResponse(d serial.Decoded, opts *getOptions) (*httpresp.Response, bool) {
	if opts.As != "" && opts.As != "auto" || d.Value == nil {
		return nil, false
	}
	return httpresp.FromWith(d.Value, httpresp.Options{MaxInflate: opts.MaxInflate})
}

// collectionJSON maps a bounded read of a hash, list, set, sorted set or
// stream; members are strings, or {"$bytes": base64} when not UTF-8.
func collectionJSON(c *backends.Collection) any {
	switch c.Kind {
	case "hash":
		m := make([]any, 0, len(c.Items))
		for _, it := range c.Items {
			m = append(m, []any{jsonBytes(it.Field), jsonBytes(it.Value)})
		}
		return orderedObject(m)
	case "zset":
		out := make([]any, 0, len(c.Items))
		for _, it := range c.Items {
			out = append(out, map[string]any{"member": jsonBytes(it.Value), "score": it.Score})
		}
		return out
	case "stream":
		out := make([]any, 0, len(c.Items))
		for _, it := range c.Items {
			fields := make([]any, 0, len(it.Fields))
			for _, fv := range it.Fields {
				fields = append(fields, []any{jsonBytes(fv.Field), jsonBytes(fv.Value)})
			}
			out = append(out, map[string]any{"id": it.ID, "fields": orderedObject(fields)})
		}
		return out
	default:
		out := make([]any, 0, len(c.Items))
		for _, it := range c.Items {
			out = append(out, jsonBytes(it.Value))
		}
		return out
	}
}

// orderedObject renders [k, v] pairs as a JSON object in their order when
// every key is a string, else as {"$dict": [[k, v], ...]} like values do.
type orderedObject []any

func (o orderedObject) MarshalJSON() ([]byte, error) {
	for _, p := range o {
		if _, ok := p.([]any)[0].(string); !ok {
			return json.Marshal(map[string]any{"$dict": []any(o)})
		}
	}
	buf := []byte{'{'}
	for i, p := range o {
		kv := p.([]any)
		if i > 0 {
			buf = append(buf, ',')
		}
		k, _ := json.Marshal(kv[0])
		v, err := json.Marshal(kv[1])
		if err != nil {
			return nil, err
		}
		buf = append(append(append(buf, k...), ':'), v...)
	}
	return append(buf, '}'), nil
}

// printEntry renders one entry for people; nodeName is what -l calls the
// server that answered.
func printEntry(w io.Writer, e *backends.Entry, opts *getOptions, index int, nodeName string) error {
	cs := opts.IO.ColorScheme()
	several := len(opts.Keys) > 1
	if several && index > 0 {
		fmt.Fprintln(w)
	}
	var d serial.Decoded
	if e.Collection == nil {
		d = decodeEntry(e, opts)
	}
	if opts.Long {
		field := func(name, value string) { fmt.Fprintf(w, "%s %s\n", cs.Dim(fmt.Sprintf("%-7s", name+":")), value) }
		field("key", cs.Bold(textesc.Key(e.Key)))
		field("type", e.Type)
		if e.Collection != nil {
			field("length", strconv.FormatInt(e.Collection.Length, 10))
		} else {
			field("format", string(d.Format))
			field("size", human.Bytes(e.Size))
		}
		if e.Server != "" {
			// The node's address as the server reported it (a cluster's
			// CLUSTER NODES): escaped like any server text.
			field(nodeName, textesc.Line(e.Server))
		}
		if e.HasFlags {
			field("flags", strconv.FormatUint(uint64(e.Flags), 10))
		}
		ttl := e.TTL.Human()
		if e.TTL.Unknown {
			ttl += cs.Dim(" (the server speaks only the classic protocol)")
		}
		if e.TTL.Expires {
			ttl += cs.Dim(" (expires " + opts.Now().Add(e.TTL.Remaining).UTC().Format("2006-01-02T15:04:05Z") + ")")
		}
		field("ttl", ttl)
		fmt.Fprintln(w, cs.Dim("value:"))
	} else if several {
		fmt.Fprintln(w, cs.Bold(textesc.Key(e.Key)))
	}
	if e.Collection != nil {
		return render.Collection(w, e.Collection, render.CollectionOptions{Style: valueStyle(cs)})
	}
	if d.Err != nil {
		fmt.Fprintf(opts.IO.ErrOut, "%s %s: %s; showing its bytes\n", cs.Yellow("warning:"), textesc.Key(e.Key), textesc.Line(d.Err.Error()))
	}
	maxItems, maxBytes := opts.MaxItems, opts.MaxBytes
	if maxItems < 0 {
		maxItems = 0
		if opts.IO.IsStdoutTTY() {
			maxItems = ttyMaxItems
		}
	}
	if maxBytes < 0 {
		maxBytes = 0
		if opts.IO.IsStdoutTTY() {
			maxBytes = ttyMaxBytes
		}
	}
	textOpts := serial.TextOptions{Style: valueStyle(cs), MaxItems: maxItems, MaxBytes: maxBytes}
	if r, ok := cachedResponse(d, opts); ok {
		// Shown as the response it is; --as pickle (or msgpack) shows the stored object.
		if r.BodyNote != "" {
			// The note quotes the stored response's own headers.
			fmt.Fprintf(opts.IO.ErrOut, "%s %s: %s\n", cs.Yellow("warning:"), textesc.Key(e.Key), textesc.Line(r.BodyNote))
		}
		if opts.Long {
			fmt.Fprintf(w, "%s %s\n", cs.Dim(fmt.Sprintf("%-7s", "cached:")), r.Kind+" response")
		}
		cut, err := r.RenderText(w, textOpts)
		if err == nil && cut {
			fmt.Fprintf(opts.IO.ErrOut, "%s %s was shortened for display (--max-items %d, --max-bytes %d; 0 shows all)\n", cs.Dim("note:"), textesc.Key(e.Key), maxItems, maxBytes)
		}
		return err
	}
	cut, err := serial.RenderText(w, d, textOpts)
	if err == nil && cut {
		fmt.Fprintf(opts.IO.ErrOut, "%s %s was shortened for display (--max-items %d, --max-bytes %d; 0 shows all, --raw or -o json give everything)\n",
			cs.Dim("note:"), textesc.Key(e.Key), maxItems, maxBytes)
	}
	return err
}
