package commands

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/cachectl/cachectl/internal/analyze"
	"github.com/cachectl/cachectl/internal/analyze/report"
	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/textesc"
)

// analyzeJSON is `analyze -o json` (README "JSON output"; DESIGN 12.3 plus
// the fields after nodes).
type analyzeJSON struct {
	Backend  string `json:"backend"`
	Address  string `json:"address"`
	Patterns []any  `json:"patterns"`
	Sampled  bool   `json:"sampled"`
	Keys     int64  `json:"keys"`
	Bytes    int64  `json:"bytes"`
	NoTTL    int64  `json:"no_ttl"`
	// TTL has "unknown" too, for servers that cannot tell.
	TTL     analyze.TTLBuckets `json:"ttl"`
	Formats map[string]int64   `json:"formats"`
	// Prefixes: every row of the table, biggest first.
	Prefixes []analyzePrefixJSON `json:"prefixes"`
	Targets  []analyzeTargetJSON `json:"targets,omitempty"`
	// Untargeted: under a profile, the keys no rule of it explains.
	Untargeted *analyze.Untargeted `json:"untargeted,omitempty"`
	Biggest    []analyzeBigJSON    `json:"biggest"`
	Nodes      []analyzeNodeJSON   `json:"nodes,omitempty"`

	// Partial: interrupted or stopped by an error; the figures cover the
	// keys seen until then.
	Partial bool `json:"partial"`
	// BytesFromServer: every size is the server's accounting; false when
	// some are value lengths (LengthSized of them).
	BytesFromServer bool  `json:"bytes_from_server"`
	LengthSized     int64 `json:"length_sized,omitempty"`
	UnknownBytes    int64 `json:"unknown_bytes,omitempty"`
	// FormatKeys: how many values' first bytes were read (Formats sums to
	// it); FormatsSampled: only some were (every key up to 100000, then
	// every tenth).
	FormatKeys          int64    `json:"format_keys"`
	FormatsSampled      bool     `json:"formats_sampled"`
	PrefixesApproximate bool     `json:"prefixes_approximate"`
	Depth               int      `json:"depth"`
	Delimiter           string   `json:"delimiter"`
	ElapsedMS           int64    `json:"elapsed_ms"`
	Notes               []string `json:"notes,omitempty"`
	Error               string   `json:"error,omitempty"`
}

type analyzePrefixJSON struct {
	Prefix      any   `json:"prefix"`
	Depth       int   `json:"depth"`
	Keys        int64 `json:"keys"`
	Bytes       int64 `json:"bytes"`
	NoTTL       int64 `json:"no_ttl"`
	Approximate bool  `json:"approximate"`
}

type analyzeTargetJSON struct {
	Framework   string `json:"framework"`
	What        string `json:"what"`
	Name        any    `json:"name"`
	Keys        int64  `json:"keys"`
	Bytes       int64  `json:"bytes"`
	NoTTL       int64  `json:"no_ttl"`
	Approximate bool   `json:"approximate"`
}

type analyzeBigJSON struct {
	Key   any      `json:"key"`
	Bytes int64    `json:"bytes"`
	Type  *string  `json:"type"`
	TTL   *float64 `json:"ttl"`
}

type analyzeNodeJSON struct {
	Address      any                `json:"address"`
	Keys         int64              `json:"keys"`
	Bytes        int64              `json:"bytes"`
	NoTTL        int64              `json:"no_ttl"`
	TTL          analyze.TTLBuckets `json:"ttl"`
	Formats      map[string]int64   `json:"formats"`
	FormatKeys   int64              `json:"format_keys"`
	UnknownBytes int64              `json:"unknown_bytes,omitempty"`
}

func analysisJSON(info backends.Info, run *report.Run) analyzeJSON {
	res, opts, runErr := run.Result, run.Opts, run.Err
	doc := analyzeJSON{
		Backend: info.Kind, Address: info.Address, Sampled: run.Sampled, Partial: run.Partial,
		Keys: res.Keys, Bytes: res.Bytes, NoTTL: res.NoTTL, TTL: res.TTL, Formats: res.Formats,
		BytesFromServer: res.LengthSized == 0 && res.Keys > res.UnknownBytes, LengthSized: res.LengthSized, UnknownBytes: res.UnknownBytes,
		FormatKeys: res.FormatKeys, FormatsSampled: run.FormatsSampled(),
		PrefixesApproximate: res.PrefixesApproximate, Depth: opts.Depth, Delimiter: opts.Delimiter,
		ElapsedMS: run.Elapsed.Milliseconds(), Notes: run.Notes(),
		Prefixes: []analyzePrefixJSON{}, Biggest: []analyzeBigJSON{},
	}
	for _, p := range opts.Patterns {
		doc.Patterns = append(doc.Patterns, jsonKey(p))
	}
	for _, p := range res.Prefixes {
		doc.Prefixes = append(doc.Prefixes, analyzePrefixJSON{Prefix: jsonKey(p.Prefix), Depth: p.Depth, Keys: p.Keys, Bytes: p.Bytes, NoTTL: p.NoTTL, Approximate: p.Approximate})
	}
	if run.Prof != nil {
		doc.Targets = []analyzeTargetJSON{}
		doc.Untargeted = res.Untargeted
		for _, t := range res.Targets {
			doc.Targets = append(doc.Targets, analyzeTargetJSON{Framework: t.Framework, What: t.What, Name: jsonKey(t.Name), Keys: t.Keys, Bytes: t.Bytes, NoTTL: t.NoTTL, Approximate: t.Approximate})
		}
	}
	for _, b := range res.Biggest {
		bj := analyzeBigJSON{Key: jsonKey(b.Key), Bytes: b.Bytes}
		if b.Type != "" {
			bj.Type = &b.Type
		}
		if b.TTL != nil {
			v := math.Round(*b.TTL*1000) / 1000
			bj.TTL = &v
		}
		doc.Biggest = append(doc.Biggest, bj)
	}
	if report.ShowNodes(info, res) {
		for _, n := range res.Nodes {
			doc.Nodes = append(doc.Nodes, analyzeNodeJSON{Address: jsonKey(n.Address), Keys: n.Keys, Bytes: n.Bytes, NoTTL: n.NoTTL, TTL: n.TTL, Formats: n.Formats, FormatKeys: n.FormatKeys, UnknownBytes: n.UnknownBytes})
		}
	}
	if runErr != nil && !errors.Is(runErr, context.Canceled) {
		doc.Error = ErrorMessage(runErr)
	}
	return doc
}

// writeAnalysis prints the result: the JSON document, or tables for
// people. Notes go to stderr as well, where messages belong.
func writeAnalysis(opts *analyzeOptions, info backends.Info, run *report.Run) error {
	cs := opts.IO.ColorScheme()
	for _, n := range run.Notes() {
		fmt.Fprintln(opts.IO.ErrOut, cs.Dim("note:")+" "+textesc.Line(n))
	}
	if opts.Output.JSON() {
		return writeJSON(opts.IO.Out, opts.IO.IsStdoutTTY(), analysisJSON(info, run))
	}
	w := &errWriter{w: opts.IO.Out}
	run.WriteText(w, cs, info, report.TextOptions{})
	return w.err
}

// errWriter keeps the first write error, so printing code stays linear.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return len(p), nil
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, nil
}
