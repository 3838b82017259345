package commands

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cachectl/cachectl/internal/testenv"
)

// aclRun runs one command line as a restricted user and checks its exit
// code, its stdout (a regexp, "" for anything) and its stderr: empty, or
// exactly one line matching a regexp. No password is ever printed.
func aclRun(t *testing.T, u string, code int, stdout, stderr string, args ...string) string {
	t.Helper()
	r := newTestRun(t, nil)
	got := r.run(append([]string{"-u", u}, args...)...)
	out, errOut := r.stdout.String(), r.stderr.String()
	if got != code {
		t.Errorf("%q: exit %d, want %d\nstdout: %s\nstderr: %s", args, got, code, out, errOut)
	}
	if stdout != "" && !regexp.MustCompile(stdout).MatchString(out) {
		t.Errorf("%q: stdout %q, want /%s/", args, out, stdout)
	}
	switch {
	case stderr == "" && errOut != "":
		t.Errorf("%q: stderr %q, want none", args, errOut)
	case stderr != "" && (strings.Count(errOut, "\n") != 1 || !regexp.MustCompile(stderr).MatchString(errOut)):
		t.Errorf("%q: stderr %q, want one line /%s/", args, errOut, stderr)
	}
	if strings.Contains(out+errOut, testenv.ACLPassword) {
		t.Errorf("%q: the password is printed", args)
	}
	return out
}

// refusal is the line a refused command prints (after what it was doing).
func refusal(user, command, grant, category string) string {
	return `server redis://` + user + `:\*\*\*@[^ ]+ refused ` + command + ` for user "` + user + `": grant it with ACL SETUSER ` +
		user + ` \+` + regexp.QuoteMeta(grant) + ` \(category @` + category + `\); NOPERM [^\n]*` + "\n$"
}

func userOf(t *testing.T, u string) string {
	t.Helper()
	return regexp.MustCompile(`//([^:]+):`).FindStringSubmatch(u)[1]
}

// TestCommandsUnderACL: with each permission missing, every command does
// what the user may and says in one line what it may not, naming the grant.
func TestCommandsUnderACL(t *testing.T) {
	dbURL := testenv.RedisURL(t)
	c := testenv.RedisClient(t, dbURL)
	ctx := context.Background()
	seed := func() {
		t.Helper()
		for _, k := range []string{"app:1", "app:2", "other:1"} {
			if err := c.Set(ctx, k, "v-"+k, time.Hour).Err(); err != nil {
				t.Fatal(err)
			}
		}
	}
	seed()
	dir := t.TempDir()
	entry := filepath.Join(dir, "new.jsonl")
	if err := os.WriteFile(entry, []byte(`{"key":"new:1","value":"n"}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	t.Run("read-only", func(t *testing.T) {
		u := testenv.RedisUserURL(t, dbURL, "~*", "+@read", "+@connection")
		user := userOf(t, u)
		aclRun(t, u, 0, `^v-app:1\n$`, "", "get", "app:1")
		aclRun(t, u, 0, `app:2\n`, "", "keys")
		aclRun(t, u, 0, `string\t\d+\t7\tstring\tapp:1\n`, "", "keys", "-l")
		aclRun(t, u, 0, `^\d+\n$`, "", "ttl", "app:1")
		aclRun(t, u, 0, `"key":"app:1"`, "", "dump", "-f", "-")
		aclRun(t, u, 0, `app:1\n`, `^Completion ended with directive`, "__complete", "get", "app")
		out := aclRun(t, u, 0, `\nnote +no INFO permission for user "`+user+`": grant it with ACL SETUSER `+user+` \+info \(category @dangerous\)\n`, "", "stats")
		if !strings.Contains(out, "\nkeys         3\n") || !strings.Contains(out, "\nhits         unknown\n") {
			t.Errorf("stats:\n%s", out)
		}
		var doc map[string]any
		if err := json.Unmarshal([]byte(aclRun(t, u, 0, "", "", "stats", "-o", "json")), &doc); err != nil {
			t.Fatal(err)
		}
		if doc["keys"] != 3.0 || doc["hits"] != nil || doc["memory_bytes"] != nil || doc["version"] != nil || doc["ops_per_sec"] != nil || !strings.Contains(mustJSON(t, doc["denied"]), `["INFO"]`) {
			t.Errorf("stats -o json: %v", doc)
		}

		aclRun(t, u, 1, "", `^error: set app:9: `+refusal(user, "SET", "set", "write"), "set", "app:9", "x")
		aclRun(t, u, 1, "", `^error: `+refusal(user, "UNLINK", "unlink", "write"), "del", "app:1")
		aclRun(t, u, 1, "", `^error: `+refusal(user, "PEXPIRE", "pexpire", "write"), "expire", "app:1", "10")
		aclRun(t, u, 1, `^deleted 0 key\(s\) matching app:\*`, `^error: stopped after deleting 0 key\(s\): `+refusal(user, "UNLINK", "unlink", "write"), "invalidate", "app:*", "--yes")
		js := aclRun(t, u, 1, "", `refused UNLINK`, "invalidate", "app:*", "--yes", "-o", "json")
		if !strings.Contains(js, `"matched":2,"deleted":0,`) || strings.Contains(js, "unconfirmed") {
			t.Errorf("invalidate -o json: %s", js)
		}
		aclRun(t, u, 0, `2 key\(s\) match app:\*`, "", "invalidate", "app:*", "--dry-run")
		// The backup a refused run appends to keeps what it held, and the
		// keys it saved are all still there.
		backup := filepath.Join(dir, "backup.jsonl")
		old := `{"key":"older","value":"kept"}` + "\n"
		if err := os.WriteFile(backup, []byte(old), 0o600); err != nil {
			t.Fatal(err)
		}
		aclRun(t, u, 1, "", `refused UNLINK`, "invalidate", "app:*", "--yes", "--backup", backup, "--append")
		if b, _ := os.ReadFile(backup); !strings.HasPrefix(string(b), old) || strings.Count(string(b), "\n") != 3 {
			t.Errorf("backup after a refused run:\n%s", b)
		}
		aclRun(t, u, 1, "", `^error: restore stopped after 0 entries: .*`+refusal(user, "SET", "set", "write"), "restore", entry)
		if n, _ := c.Exists(ctx, "app:1", "app:2", "new:1", "app:9").Result(); n != 2 {
			t.Fatalf("the refused writes left %d of app:1, app:2 (of 2)", n)
		}
		// cachectl's own refusal is exit 4, before the server is asked.
		aclRun(t, u, 4, "", `^error: refusing to set app:9: --read-only\n$`, "--read-only", "set", "app:9", "x")
	})

	t.Run("no SCAN", func(t *testing.T) {
		u := testenv.RedisUserURL(t, dbURL, "~*", "+@all", "-scan")
		user := userOf(t, u)
		aclRun(t, u, 0, `^v-app:1\n$`, "", "get", "app:1")
		aclRun(t, u, 1, "", `^error: `+refusal(user, "SCAN", "scan", "read"), "keys")
		aclRun(t, u, 1, "", `^error: `+refusal(user, "SCAN", "scan", "read"), "keys", "-l")
		aclRun(t, u, 1, "", `^error: dump stopped after 0 entries: `+refusal(user, "SCAN", "scan", "read"), "dump", "-f", "-")
		aclRun(t, u, 1, "", `^error: stopped after deleting 0 key\(s\): `+refusal(user, "SCAN", "scan", "read"), "invalidate", "app:*", "--yes")
		aclRun(t, u, 1, "", `nothing was deleted \(dry run\): `+refusal(user, "SCAN", "scan", "read"), "invalidate", "app:*", "--dry-run")
		if n, _ := c.Exists(ctx, "app:1", "app:2").Result(); n != 2 {
			t.Fatal("invalidate without SCAN deleted")
		}
		aclRun(t, u, 0, `keys         \d+\n`, "", "stats")
	})

	// Nothing cachectl needs is in these: every command works as for an admin.
	for _, missing := range []string{"info", "config", "client", "memory", "eval", "debug"} {
		t.Run("no "+missing, func(t *testing.T) {
			seed()
			u := testenv.RedisUserURL(t, dbURL, "~*", "+@all", "-"+missing)
			// Naming the connection is an extra: without CLIENT SETNAME it is
			// left out, said once.
			named, warned := u+"?client_name=cachectl-acl", ""
			if missing == "client" {
				warned = `^warning: client_name not set: .* refused CLIENT SETNAME .*: grant it with ACL SETUSER [^ ]+ \+client\|setname \(category @connection\); NOPERM .*\n$`
			}
			aclRun(t, named, 0, "", warned, "set", "app:9", "x", "--ttl", "1m")
			aclRun(t, u, 0, `^x\n$`, "", "get", "app:9")
			aclRun(t, u, 0, `^\d+\n$`, "", "ttl", "app:9")
			aclRun(t, u, 0, "", "", "expire", "app:9", "0")
			aclRun(t, u, 0, `app:9\n`, "", "keys")
			aclRun(t, u, 0, `string\t-\t1\tstring\tapp:9\n`, "", "keys", "-l")
			aclRun(t, u, 0, `"app:9"`, "", "dump", "app:*", "-f", "-")
			aclRun(t, u, 0, `^1\n$`, "", "del", "app:9")
			aclRun(t, u, 0, `^restored 1 entries`, "", "restore", entry)
			stats := `memory       \d`
			if missing == "info" {
				stats = `no INFO permission`
			}
			aclRun(t, u, 0, stats, "", "stats")
			aclRun(t, named, 0, `^deleted 3 key\(s\) matching app:\* new:\*`, warned, "invalidate", "app:*", "new:*", "--yes")
		})
	}

	t.Run("key patterns", func(t *testing.T) {
		seed()
		u := testenv.RedisUserURL(t, dbURL, "~app:*", "+@all")
		user := userOf(t, u)
		keyRefused := `server redis://` + user + `:\*\*\*@[^ ]+ refused user "` + user + `" a key outside its key patterns: allow it with ACL SETUSER ` + user + ` ~PATTERN; NOPERM [^\n]*arguments`
		aclRun(t, u, 0, `other:1\n`, "", "keys")
		aclRun(t, u, 0, `\?\t\?\t\?\t\?\tother:1\n`, `^warning: 1 key\(s\) are outside this user's ACL key patterns`, "keys", "-l")
		aclRun(t, u, 1, "", `^error: get other:1: `+keyRefused+"\n$", "get", "other:1")
		aclRun(t, u, 1, `"app:1"`, `^error: dump wrote 2 entries and left out 1 key\(s\) this user may not read \(the first: [^ ]+: `+keyRefused+`\)`+"\n$", "dump", "-f", "-")
		backup := filepath.Join(dir, "other.jsonl")
		aclRun(t, u, 1, "", `^error: stopped after deleting 0 key\(s\): backup to [^ ]+: cannot save other:1: `+keyRefused+`; nothing of this batch was deleted`, "invalidate", "other:*", "--yes", "--backup", backup)
		if n, _ := c.Exists(ctx, "other:1").Result(); n != 1 {
			t.Fatal("a key whose backup was refused was deleted")
		}
		aclRun(t, u, 0, `^deleted 2 key\(s\)`, "", "invalidate", "app:*", "--yes")
	})
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
