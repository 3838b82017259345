package invalidate

import (
	"context"
	"errors"
	"fmt"

	"github.com/cachectl/cachectl/internal/backends"
)

// maxRetries bounds the recoveries one batch (or one pattern's listing)
// rides through: a deployment that keeps failing over is not chased forever.
const maxRetries = 3

// maxVerify bounds the verification listings: each one that itself had to
// ride through a failover is followed by another.
const maxVerify = 3

// UnverifiedError is a run whose every verification listing was itself cut
// by a failover: what the last one brought back was not looked for.
type UnverifiedError struct{ Passes int }

func (e *UnverifiedError) Error() string {
	return fmt.Sprintf("the deployment failed over again during each of %d verification listings: matching keys a failover brought back may be left (run it again)", e.Passes)
}

// canRide reports whether err, an operation's failure, is a lost server on a
// backend that can wait for the deployment to answer again. A reply error
// is the server's answer, not a loss; a stopped run (Ctrl-C, another
// deleter failed) does not wait; nor does a run the deployment never
// answered: with every server (or sentinel) gone from the start there is
// no failover to ride through, and the run fails at once.
func (r *runner) canRide(live context.Context, err error) bool {
	if _, ok := r.b.(backends.Recoverer); !ok || live.Err() != nil || errors.Is(err, context.Canceled) || !r.contact.Load() {
		return false
	}
	var ce *backends.ConnError
	var se *backends.ServerError
	return errors.As(err, &ce) && !errors.As(err, &se)
}

// recover waits for the deployment after an operation begun at recovery
// generation gen failed. If another operation has recovered since gen, the
// failure was (most likely) the same failover: no new wait, just try again.
func (r *runner) recover(live context.Context, gen int64) error {
	r.recMu.Lock()
	defer r.recMu.Unlock()
	if r.recoveries.Load() != gen {
		return nil
	}
	if _, err := r.b.(backends.Recoverer).Recover(live, r.opts.RecoverWait); err != nil {
		return err
	}
	r.recoveries.Add(1)
	r.mu.Lock()
	r.sum.Recovered++
	r.disturbed()
	r.mu.Unlock()
	r.look(live, false) // this failover is counted: the next look compares with the new primaries
	return nil
}

// roles names the role of each node of the deployment ("primary",
// "replica", "down" for a primary that does not answer), on a backend that
// rides through failovers and describes its nodes; nil when that is not
// known.
func (r *runner) roles(ctx context.Context) map[string]string {
	tr, ok := r.b.(backends.TopologyReporter)
	if _, rec := r.b.(backends.Recoverer); !ok || !rec {
		return nil
	}
	t, err := tr.Topology(ctx)
	if err != nil || len(t.Nodes) == 0 {
		return nil
	}
	r.answered()
	roles := make(map[string]string, len(t.Nodes))
	for _, n := range t.Nodes {
		role := n.Role
		if role == "primary" && !n.Up {
			role = "down"
		}
		roles[n.Address] = role
	}
	return roles
}

// failedOver reports whether the deployment failed over between two looks:
// a replica became a primary, or a primary became a replica, went down or
// left. Slots moving between the same primaries (a reshard) and nodes
// joining are not a failover.
func failedOver(before, now map[string]string) bool {
	for addr, was := range before {
		role, ok := now[addr]
		switch {
		case was == "replica" && role == "primary":
			return true
		case was == "primary" && (!ok || role == "replica" || role == "down"):
			return true
		}
	}
	return false
}

// switched reports whether the deployment failed over since it last
// looked. A failover need not fail anything the run sends: the client may
// follow the new master by itself, a listing's cursor then walks another
// server's table, and deletes the old master acknowledged may be missing on
// the new one. A failover counts as one ridden through and calls for a
// verification listing. It does not look while the deployment is unknown.
func (r *runner) switched(ctx context.Context) bool { return r.look(ctx, true) }

// look is switched; count false only notes the roles (a failover counted
// already).
func (r *runner) look(ctx context.Context, count bool) bool {
	now := r.roles(ctx)
	r.mu.Lock()
	defer r.mu.Unlock()
	if now == nil {
		return false
	}
	before := r.lastRoles
	r.lastRoles = now
	if before == nil || !failedOver(before, now) || !count {
		return false
	}
	r.sum.Recovered++
	r.disturbed()
	return true
}

// recoverFailed is the error of an operation that failed with err and whose
// recovery failed with rerr: both are said, and Ctrl-C during the wait makes
// it an interruption.
func (r *runner) recoverFailed(ctx context.Context, err, rerr error) error {
	if ctx.Err() != nil {
		return &InterruptedError{Err: err}
	}
	return fmt.Errorf("%w; waiting for the deployment to answer again: %w", err, rerr)
}

// deleteRide deletes keys and, when the delete is cut off by a lost server
// on a backend that can ride through it, waits for the deployment and sends
// again the keys that got no answer (all of them without PartialDeleter).
// deleted counts the deletions servers confirmed. unconfirmed counts, when
// the retries succeed, the unanswered keys they found gone (the first send
// most likely deleted them); when err is returned, every key whose fate is
// unknown.
func (r *runner) deleteRide(ctx, live context.Context, keys []string) (deleted, unconfirmed int64, err error) {
	_, partial := r.b.(backends.PartialDeleter)
	gen := r.recoveries.Load()
	res, err := r.delAnswered(live, keys)
	deleted = res.Deleted
	pending := res.Unanswered
	retried := false
	for try := 0; err != nil && r.canRide(live, err) && try < maxRetries; try++ {
		if rerr := r.recover(live, gen); rerr != nil {
			err = r.recoverFailed(ctx, err, rerr)
			break
		}
		retried = true
		gen = r.recoveries.Load()
		if !partial {
			pending = keys
		}
		if len(pending) == 0 {
			err = nil
			break
		}
		res, err = r.delAnswered(live, pending)
		deleted += res.Deleted
		if partial {
			// Answered now, yet not deleted: gone before this retry.
			unconfirmed += int64(len(pending)-len(res.Unanswered)) - res.Deleted
		}
		pending = res.Unanswered
	}
	switch {
	case !partial && (retried || err != nil && !refused(err)):
		// Which keys were answered is not known: every key not confirmed
		// may have been deleted by a send whose answer was lost.
		unconfirmed = int64(len(keys)) - deleted
	case err != nil:
		unconfirmed += int64(len(pending))
	}
	unconfirmed = max(unconfirmed, 0)
	var ie *InterruptedError
	if !errors.As(err, &ie) {
		err = inFlight(ctx, err)
	}
	return deleted, unconfirmed, err
}

// verify lists every pattern again after a recovery or a round, deleting
// what it finds: what a failover brought back (deletes an old primary
// acknowledged and its replica never got) or slots that moved. A
// verification that itself rode through a failover is verified in turn; a
// round during it rescans the slots that moved, which is enough.
func (r *runner) verify(ctx context.Context) error {
	for pass := 0; ; pass++ {
		r.mu.Lock()
		again := r.unverified
		before, recovered := r.sum.Matched, r.sum.Recovered
		r.mu.Unlock()
		if !again {
			return nil
		}
		if pass == maxVerify {
			return &UnverifiedError{Passes: pass}
		}
		err := r.patterns(ctx)
		r.switched(ctx) // a failover during the verification: verify again
		r.mu.Lock()
		r.sum.Verified += r.sum.Matched - before
		r.unverified = r.sum.Recovered != recovered
		r.mu.Unlock()
		if err != nil {
			return err
		}
	}
}
