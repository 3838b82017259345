package redis

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"sync"

	goredis "github.com/redis/go-redis/v9"

	"github.com/cachectl/cachectl/internal/backends"
)

// aclCategories are the ACL categories of the commands cachectl sends (and
// of a few a user's rules commonly name), as Redis 7.0's COMMAND INFO lists
// them, @fast and @slow left out unless a command has no other.
// TestACLCategoriesMatchServer checks each against the test server. A
// static table rather than asking COMMAND INFO at the time of a refusal: the
// user may lack COMMAND too, and a refusal is reported without another
// round trip.
var aclCategories = map[string][]string{
	"asking": {"connection"}, "auth": {"connection"}, "hello": {"connection"}, "ping": {"connection"},
	"readonly": {"connection"}, "select": {"connection"}, "client|setname": {"connection"},
	"get": {"read", "string"}, "getrange": {"read", "string"}, "strlen": {"read", "string"}, "mget": {"read", "string"},
	"type": {"keyspace", "read"}, "pttl": {"keyspace", "read"}, "ttl": {"keyspace", "read"}, "exists": {"keyspace", "read"},
	"scan": {"keyspace", "read"}, "dbsize": {"keyspace", "read"}, "dump": {"keyspace", "read"}, "touch": {"keyspace", "read"},
	"object|encoding": {"keyspace", "read"}, "object|freq": {"keyspace", "read"}, "memory|usage": {"read"},
	"hlen": {"hash", "read"}, "hscan": {"hash", "read"}, "hget": {"hash", "read"}, "hgetall": {"hash", "read"},
	"llen": {"list", "read"}, "lrange": {"list", "read"},
	"scard": {"read", "set"}, "sscan": {"read", "set"}, "smembers": {"read", "set"},
	"zcard": {"read", "sortedset"}, "zrange": {"read", "sortedset"}, "zscan": {"read", "sortedset"},
	"xlen": {"read", "stream"}, "xrange": {"read", "stream"}, "xinfo|stream": {"read", "stream"},
	"set": {"string", "write"}, "incr": {"string", "write"},
	"unlink": {"keyspace", "write"}, "del": {"keyspace", "write"}, "pexpire": {"keyspace", "write"},
	"expire": {"keyspace", "write"}, "persist": {"keyspace", "write"}, "rename": {"keyspace", "write"},
	"renamenx": {"keyspace", "write"}, "restore": {"dangerous", "keyspace", "write"},
	"hset": {"hash", "write"}, "rpush": {"list", "write"}, "sadd": {"set", "write"}, "zadd": {"sortedset", "write"},
	"xadd": {"stream", "write"}, "xsetid": {"stream", "write"}, "xgroup|create": {"stream", "write"},
	"xgroup|destroy": {"stream", "write"},
	"multi":          {"transaction"}, "exec": {"transaction"},
	"eval": {"scripting"}, "evalsha": {"scripting"},
	"subscribe": {"pubsub"}, "psubscribe": {"pubsub"},
	"info": {"dangerous"}, "role": {"admin", "dangerous"}, "config|get": {"admin", "dangerous"},
	"debug": {"admin", "dangerous"}, "monitor": {"admin", "dangerous"}, "command": {"connection"},
	// Only @slow holds CLUSTER NODES: granting the command is the narrow way.
	"cluster|nodes": {"slow"}, "cluster|slots": {"slow"}, "cluster|shards": {"slow"}, "cluster|info": {"slow"},
}

// clusterGrants are the CLUSTER subcommands any user of a cluster needs.
var clusterGrants = []string{"+cluster|slots", "+cluster|nodes"}

// categoryOrder is which of a command's categories a refusal names: the one
// that grants least beside it (@read rather than @keyspace, which holds
// FLUSHALL; @admin rather than @dangerous, which holds more).
var categoryOrder = []string{"read", "write", "connection", "transaction", "scripting", "pubsub",
	"string", "hash", "list", "set", "sortedset", "stream", "keyspace", "admin", "dangerous", "slow"}

// aclCategory names one ACL category that grants command, "" when the
// table does not know it.
func aclCategory(command string) string {
	cats := aclCategories[command]
	for _, c := range categoryOrder {
		if slices.Contains(cats, c) {
			return "@" + c
		}
	}
	return ""
}

// refusedCommand finds the command a NOPERM reply names: "... to run the
// 'client|setname' command" (Redis 6 and 7).
var refusedCommand = regexp.MustCompile(`'([a-zA-Z0-9_.|-]{1,64})' command`)

// permissionError reads a NOPERM reply as a PermissionError, nil for any
// other reply. The reply is the server's text: whatever it quotes of the
// password is masked.
func (b *Backend) permissionError(err error) *backends.PermissionError {
	return b.target.permissionError(err)
}

func (t *target) permissionError(err error) *backends.PermissionError {
	if err == nil || !isReplyError(err) {
		return nil
	}
	reply := err.Error()
	if i := strings.Index(reply, "NOPERM"); i > 0 && strings.HasPrefix(reply, "EXECABORT") {
		// EXEC itself refused: "EXECABORT Transaction discarded because
		// of: NOPERM ...".
		reply = reply[i:]
	}
	if !strings.HasPrefix(reply, "NOPERM") {
		return nil
	}
	reply = t.mask(reply)
	pe := &backends.PermissionError{Address: t.Display, User: t.user(), Reply: reply}
	switch m := refusedCommand.FindStringSubmatch(reply); {
	case keyDenied(err):
		pe.Key = true
	case m != nil:
		pe.Command = strings.ToLower(m[1])
		pe.Category = aclCategory(pe.Command)
	}
	if t.Kind == "sentinel" {
		// ACLs are not replicated, and a failover promotes a replica.
		pe.Where = "on the master and every replica"
	}
	if t.Kind == "cluster" {
		pe.Where = "on every node"
		if strings.HasPrefix(pe.Command, "cluster|") {
			// go-redis routes by CLUSTER SLOTS, cachectl lists by CLUSTER NODES.
			pe.Grants = clusterGrants
		}
	}
	return pe
}

// mask hides whatever a server's reply quotes of the passwords, before
// the text is escaped (after, a password of odd bytes no longer matches).
// Shorter ones would mangle every reply holding their letters.
func (t *target) mask(reply string, more ...string) string {
	for _, pw := range append([]string{t.Password}, more...) {
		if len(pw) >= 3 {
			reply = strings.ReplaceAll(reply, pw, "***")
		}
	}
	return reply
}

// user is the ACL user the backend logs in as.
func (t *target) user() string {
	if t.Username == "" {
		return "default"
	}
	return t.Username
}

// nameConns names each connection (?client_name=) as go-redis would, except
// that a user whose ACL refuses CLIENT SETNAME still connects, unnamed, and
// hears it once: the name is an extra for the server's CLIENT LIST.
func (t *target) nameConns(warn func(string)) func(ctx context.Context, cn *goredis.Conn) error {
	var once sync.Once
	return func(ctx context.Context, cn *goredis.Conn) error {
		err := cn.ClientSetName(ctx, t.ClientName).Err()
		if !commandDenied(err) {
			return err
		}
		if warn != nil {
			once.Do(func() {
				warn("client_name not set: " + t.permissionError(err).Error())
			})
		}
		return nil
	}
}
