package testenv

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// ACLPassword is the password of every user ACLUser creates.
const ACLPassword = "acl-test-secret"

var aclSeq atomic.Int64

// CreateACLUser creates a Redis user with rules (after "reset on >password
// resetchannels") on every server of admins, which log in as admin users: a
// cluster's nodes each have their own ACLs. The name is unique to this process
// and call, prefixed with what. drop deletes the user everywhere again.
func CreateACLUser(ctx context.Context, admins []*redis.Client, what string, rules ...string) (name string, drop func(), err error) {
	name = fmt.Sprintf("cachectl-%s-%d-%d", what, os.Getpid(), aclSeq.Add(1))
	drop = func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for _, c := range admins {
			_ = c.Do(ctx, "ACL", "DELUSER", name).Err()
		}
	}
	args := []any{"ACL", "SETUSER", name, "reset", "on", ">" + ACLPassword, "resetchannels"}
	for _, r := range rules {
		args = append(args, r)
	}
	for _, c := range admins {
		if err := c.Do(ctx, args...).Err(); err != nil {
			drop()
			return "", nil, fmt.Errorf("ACL SETUSER %s %s: %w", name, strings.Join(rules, " "), err)
		}
	}
	return name, drop, nil
}

// ACLUser is CreateACLUser for a test, the user deleted when it ends.
func ACLUser(t testing.TB, admins []*redis.Client, rules ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	name, drop, err := CreateACLUser(ctx, admins, "t", rules...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(drop)
	return name
}

// AsUser is rawURL logging in as user with ACLPassword.
func AsUser(rawURL, user string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", err
	}
	u.User = url.UserPassword(user, ACLPassword)
	return u.String(), nil
}

// RedisUserURL creates a user with rules on the test Redis server (its
// default user is an admin) and returns dbURL logged in as it. The user may
// SELECT, as dbURL names a database.
func RedisUserURL(t testing.TB, dbURL string, rules ...string) string {
	t.Helper()
	name := ACLUser(t, []*redis.Client{RedisClient(t, dbURL)}, append(rules, "+select")...)
	u, err := AsUser(dbURL, name)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// NodeClients are admin clients of every node, for ACLUser.
func (c ClusterEnv) NodeClients(t testing.TB) []*redis.Client {
	t.Helper()
	var out []*redis.Client
	for _, a := range c.Addrs {
		cl := nodeClient(a, c.User, c.Password)
		t.Cleanup(func() { _ = cl.Close() })
		out = append(out, cl)
	}
	return out
}

// URLAs is the cluster's URL logging in as user with ACLPassword.
func (c ClusterEnv) URLAs(t testing.TB, user string) string {
	t.Helper()
	u, err := AsUser(c.URL, user)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
