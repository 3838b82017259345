package backends

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ReplicaSet is a backend of several servers that each keep their own copy
// of the keys: the worker processes of an app, each with its in-process
// cache. Unlike a cluster nothing is routed: a write goes to every member, a
// listing visits every member, and a key is deleted on the member that
// listed it.
type ReplicaSet interface {
	// Members resolves the members on first use (a DNS name, a socket
	// directory) and returns them in a stable order; later calls of the same
	// backend return the same ones. Members that could not even be named
	// are an error.
	Members(ctx context.Context) ([]Member, error)
}

// Member is one server of a ReplicaSet.
type Member struct {
	// Name is how output names it: host:port, or a socket's file name.
	Name    string
	Backend Backend
}

// MemberError is why one member did not do an operation.
type MemberError struct {
	Name string
	Err  error
}

// PartialError is an operation that some members of a ReplicaSet did and
// others did not (they did not answer, or refused). What was done is exact:
// the members in Failed did nothing the caller can count on.
type PartialError struct {
	// What is the past participle of the operation: "listed", "stored"…
	What   string
	Done   int // members that answered
	All    int
	Failed []MemberError
}

func (e *PartialError) Error() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s on %d of %d workers; ", e.What, e.Done, e.All)
	for i, f := range e.Failed {
		if i > 0 {
			sb.WriteString("; ")
		}
		sb.WriteString(f.Name + ": " + f.Err.Error())
	}
	return sb.String()
}

// Unwrap gives the members' errors, so an interruption still reads as one.
func (e *PartialError) Unwrap() []error {
	errs := make([]error, len(e.Failed))
	for i, f := range e.Failed {
		errs[i] = f.Err
	}
	return errs
}

// Fanout is what a write sent to every member of a ReplicaSet did.
type Fanout struct {
	Members int // members asked
	// Done: members that did it (stored; held the key and deleted or
	// changed it); Missing: members that answered without the key.
	Done, Missing int
	Failed        []MemberError
}

// Err is nil when every member answered, else the PartialError naming
// those that did not.
func (f Fanout) Err(what string) error {
	if len(f.Failed) == 0 {
		return nil
	}
	return &PartialError{What: what, Done: f.Members - len(f.Failed), All: f.Members, Failed: f.Failed}
}

// ReplicaWriter is a ReplicaSet whose writes say how many members did them.
type ReplicaWriter interface {
	ReplicaSet
	// SetEach stores value on every member (format as FormatSetter's).
	SetEach(ctx context.Context, key string, value []byte, ttl time.Duration, format string) (Fanout, error)
	// DeleteEach deletes keys on every member; deleted counts the keys
	// some member held, copies every member's deletions.
	DeleteEach(ctx context.Context, keys ...string) (deleted, copies int64, f Fanout, err error)
	// ExpireEach changes the lifetime of key on every member holding it;
	// ErrNotFound when none that answered did.
	ExpireEach(ctx context.Context, key string, ttl time.Duration) (Fanout, error)
}

// ErrNoMembers is a replica set whose name names no server (a DNS name
// without addresses, a directory without sockets).
var ErrNoMembers = errors.New("no workers")
