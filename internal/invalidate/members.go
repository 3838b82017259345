package invalidate

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/cachectl/cachectl/internal/backends"
)

// runMembers runs the engine on each worker of a replica set in turn. The
// workers are replicas, not shards: each lists its own keys and deletes them
// itself (on its side where it can), so a key three workers hold is three
// copies, each deleted on the worker that listed it; nothing is routed by
// slot. Max and Rate stay totals: the workers go one after another, each
// with what is left of Max (workers after Max is reached are not visited).
// A worker that fails is reported in its node and the others go on; the run
// then ends in a PartialError. Ctrl-C stops the run.
func runMembers(ctx context.Context, rs backends.ReplicaSet, opts Options, sum *Summary, elapsed func() time.Duration) error {
	ms, err := rs.Members(ctx)
	if err != nil {
		return err
	}
	sum.Workers = true
	var failed []backends.MemberError
	pacing := &schedule{}
	for _, m := range ms {
		mo := opts
		mo.pacing = pacing
		if opts.Max > 0 {
			if mo.Max = opts.Max - sum.Deleted - sum.Unconfirmed; mo.Max <= 0 {
				break
			}
		}
		if opts.BeforeOn != nil {
			mo.Before = opts.BeforeOn(m.Backend)
		}
		if opts.Progress != nil {
			base, done := *sum, progressNodes(sum.Nodes)
			mo.Progress = func(p Progress) {
				opts.Progress(Progress{
					Matched: base.Matched + p.Matched, Deleted: base.Deleted + p.Deleted, Elapsed: elapsed(),
					Nodes: append(slices.Clip(done), NodeProgress{Node: m.Name, Matched: p.Matched, Deleted: p.Deleted}),
				})
			}
		}
		s, err := Run(ctx, m.Backend, mo)
		sum.add(s, opts.Sample)
		sum.Nodes = append(sum.Nodes, NodeSummary{Node: m.Name, Matched: s.Matched, Deleted: s.Deleted, Unconfirmed: s.Unconfirmed, Err: err})
		if err != nil {
			if errors.Is(err, context.Canceled) || ctx.Err() != nil {
				return err
			}
			failed = append(failed, backends.MemberError{Name: m.Name, Err: err})
		}
	}
	if len(failed) == 0 {
		return nil
	}
	what := "invalidated"
	if opts.DryRun {
		what = "counted"
	}
	return &backends.PartialError{What: what, Done: len(ms) - len(failed), All: len(ms), Failed: failed}
}

// add sums one worker's run into the whole; the sample keeps each key once.
func (s *Summary) add(o Summary, sample int) {
	s.Matched += o.Matched
	s.Deleted += o.Deleted
	s.Unconfirmed += o.Unconfirmed
	s.ServerSide = s.ServerSide || o.ServerSide
	s.Recovered += o.Recovered
	s.Rounds += o.Rounds
	s.Verified += o.Verified
	s.Restored += o.Restored
	s.MaybeCountedTwice += o.MaybeCountedTwice
	s.MaybeBack += o.MaybeBack
	for _, k := range o.Sample {
		if len(s.Sample) < sample && !slices.Contains(s.Sample, k) {
			s.Sample = append(s.Sample, k)
		}
	}
}

func progressNodes(nodes []NodeSummary) []NodeProgress {
	out := make([]NodeProgress, len(nodes))
	for i, n := range nodes {
		out[i] = NodeProgress{Node: n.Node, Matched: n.Matched, Deleted: n.Deleted}
	}
	return out
}
