package commands

import (
	"context"
	"fmt"
	"math"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/human"
	"github.com/cachectl/cachectl/internal/iostreams"
	"github.com/cachectl/cachectl/internal/textesc"
)

type statsOptions struct {
	IO      *iostreams.IOStreams
	Backend func(context.Context) (backends.Backend, error)
	Output  outputFormat

	Raw bool
}

// NewCmdStats builds `cachectl stats`.
func NewCmdStats(f *Factory, runF func(context.Context, *statsOptions) error) *cobra.Command {
	opts := &statsOptions{IO: f.IO, Backend: f.Backend}
	cmd := &cobra.Command{
		Use:   "stats",
		Short: "Show normalized server statistics",
		Long: `Show the server's keys, memory, hits, misses, hit ratio, evictions,
operations per second, connections, uptime and version, named the same way for
every backend. --raw adds the server's own figures (always in -o json).`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Output = f.Output()
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return statsRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Raw, "raw", false, "also print every figure the server reports")
	return cmd
}

type statsJSON struct {
	Backend     string                       `json:"backend"`
	Address     string                       `json:"address"`
	Version     *string                      `json:"version"`
	Keys        *int64                       `json:"keys"`
	MemoryBytes *int64                       `json:"memory_bytes"`
	Hits        *int64                       `json:"hits"`
	Misses      *int64                       `json:"misses"`
	HitRatio    *float64                     `json:"hit_ratio"`
	Evictions   *int64                       `json:"evictions"`
	Expired     *int64                       `json:"expired"`
	OpsPerSec   *float64                     `json:"ops_per_sec"`
	Connections *int64                       `json:"connections"`
	UptimeS     *int64                       `json:"uptime_s"`
	Raw         map[string]map[string]string `json:"raw"`
	// Servers: a pool's members, each with the same figures (or an error).
	Servers []serverStatsJSON `json:"servers,omitempty"`
}

type serverStatsJSON struct {
	Address string `json:"address"`
	Error   string `json:"error,omitempty"`
	*statsJSON
}

func statsRun(ctx context.Context, opts *statsOptions) error {
	b, err := opts.Backend(ctx)
	if err != nil {
		return err
	}
	defer b.Close()
	s, statsErr := b.Stats(ctx)
	if s == nil {
		return statsErr
	}
	info := b.Describe()
	doc := statsDoc(info.Kind, info.Address, s)
	for _, srv := range s.Servers {
		sj := serverStatsJSON{Address: srv.Address}
		if srv.Err != nil {
			sj.Error = ErrorMessage(srv.Err)
		} else {
			sj.statsJSON = statsDoc("", "", srv.Stats)
			sj.statsJSON.Raw = nil
		}
		doc.Servers = append(doc.Servers, sj)
	}
	// err is reused for the output
	if opts.Output.JSON() {
		err = writeJSON(opts.IO.Out, opts.IO.IsStdoutTTY(), doc)
	} else {
		err = printStats(opts.IO, info, s, doc, opts.Raw)
	}
	if err != nil {
		return err
	}
	return statsErr // a pool member that did not answer: shown, and exit 1
}

// statsDoc maps normalized stats to their JSON shape; unknown figures are null.
func statsDoc(kind, address string, s *backends.Stats) *statsJSON {
	known := func(name string) bool { return s.Known[name] }
	i64 := func(name string, v int64) *int64 {
		if !known(name) {
			return nil
		}
		return &v
	}
	doc := &statsJSON{Backend: kind, Address: address, Raw: s.Raw}
	if known("version") {
		doc.Version = &s.Version
	}
	doc.Keys = i64("keys", s.Keys)
	doc.MemoryBytes = i64("memory", s.MemoryBytes)
	doc.Hits = i64("hits", s.Hits)
	doc.Misses = i64("misses", s.Misses)
	doc.Evictions = i64("evictions", s.Evictions)
	doc.Expired = i64("expired", s.Expired)
	doc.Connections = i64("connections", s.Connections)
	doc.UptimeS = i64("uptime", int64(s.Uptime.Seconds()))
	if known("ops_per_sec") {
		doc.OpsPerSec = &s.OpsPerSec
	}
	if r, ok := s.HitRatio(); ok && known("hits") && known("misses") {
		r = math.Round(r*10000) / 10000
		doc.HitRatio = &r
	}
	return doc
}

func printStats(ios *iostreams.IOStreams, info backends.Info, s *backends.Stats, doc *statsJSON, raw bool) error {
	cs := ios.ColorScheme()
	tw := tabwriter.NewWriter(ios.Out, 0, 4, 2, ' ', 0)
	row := func(name, value string) { fmt.Fprintf(tw, "%s\t%s\n", cs.Bold(name), value) }
	unknown := cs.Dim("unknown")
	num := func(p *int64) string {
		if p == nil {
			return unknown
		}
		return fmt.Sprint(*p)
	}
	row("backend", info.Kind+"  "+textesc.Line(info.Address))
	if doc.Version != nil {
		row("version", textesc.Line(*doc.Version))
	}
	row("keys", num(doc.Keys))
	if doc.MemoryBytes != nil {
		row("memory", human.Bytes(*doc.MemoryBytes))
	} else {
		row("memory", unknown)
	}
	row("hits", num(doc.Hits))
	row("misses", num(doc.Misses))
	if doc.HitRatio != nil {
		row("hit ratio", fmt.Sprintf("%.1f%%", *doc.HitRatio*100))
	} else {
		row("hit ratio", cs.Dim("n/a (no lookups yet)"))
	}
	row("evictions", num(doc.Evictions))
	row("expired", num(doc.Expired))
	if doc.OpsPerSec != nil {
		row("ops/s", fmt.Sprintf("%g", *doc.OpsPerSec))
	}
	row("connections", num(doc.Connections))
	if doc.UptimeS != nil {
		row("uptime", human.Duration(s.Uptime))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(doc.Servers) > 0 {
		if err := printServerStats(ios, doc.Servers); err != nil {
			return err
		}
	}
	if !raw {
		return nil
	}
	servers := make([]string, 0, len(s.Raw))
	for name := range s.Raw {
		servers = append(servers, name)
	}
	sort.Strings(servers)
	for _, srv := range servers {
		fmt.Fprintf(ios.Out, "\n%s\n", cs.Bold("# "+textesc.Line(srv)))
		fields := s.Raw[srv]
		names := make([]string, 0, len(fields))
		for k := range fields {
			names = append(names, k)
		}
		sort.Strings(names)
		tw := tabwriter.NewWriter(ios.Out, 0, 4, 2, ' ', 0)
		for _, k := range names {
			// Names and values are the server's own text.
			fmt.Fprintf(tw, "%s\t%s\n", textesc.Line(k), textesc.Line(fields[k]))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}

// printServerStats shows a pool's members side by side, one row each.
func printServerStats(ios *iostreams.IOStreams, servers []serverStatsJSON) error {
	cs := ios.ColorScheme()
	tw := tabwriter.NewWriter(ios.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(ios.Out)
	fmt.Fprintln(tw, cs.Dim("SERVER\tVERSION\tKEYS\tMEMORY\tHIT RATIO\tEVICTIONS\tCONNS\tUPTIME"))
	opt := func(p *int64) string {
		if p == nil {
			return "-"
		}
		return fmt.Sprint(*p)
	}
	for _, s := range servers {
		if s.statsJSON == nil {
			fmt.Fprintf(tw, "%s\t%s\n", textesc.Line(s.Address), cs.Red(textesc.Line(s.Error)))
			continue
		}
		version, mem, ratio, up := "-", "-", "-", "-"
		if s.Version != nil {
			version = textesc.Line(*s.Version)
		}
		if s.MemoryBytes != nil {
			mem = human.Bytes(*s.MemoryBytes)
		}
		if s.HitRatio != nil {
			ratio = fmt.Sprintf("%.1f%%", *s.HitRatio*100)
		}
		if s.UptimeS != nil {
			up = human.Duration(time.Duration(*s.UptimeS) * time.Second)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", textesc.Line(s.Address), version, opt(s.Keys), mem, ratio, opt(s.Evictions), opt(s.Connections), up)
	}
	return tw.Flush()
}
