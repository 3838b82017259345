package commands

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// marker is the secret every bad input below carries somewhere.
const marker = "S3cretMark"

// TestSecretsNeverEchoed runs bad inputs holding a secret through the CLI and
// checks that the secret shows up in no output and no config file.
func TestSecretsNeverEchoed(t *testing.T) {
	urls := []string{
		"redis://127.0.0.1:6379/0?password=" + marker,
		"redis://127.0.0.1:6379/0?db=1&password=" + marker + "&x=1",
		"redis://u:" + marker + "@127.0.0.1:6379/0?bogus=1",
		"redis://u:" + marker + "@127.0.0.1:99999/0",
		"redis://u:12/" + marker + "@h/0",
		"redis://u:ab/" + marker + "@h",
		"redis://u:ab#" + marker + "@h",
		"redis://u:ab?" + marker + "@h",
		"redis://u:" + marker + "@h/0?db=1",
		"redis://u:" + marker + "@a:1,b:2",
		"redis://u:" + marker + "@[::1",
		"rediss://u:" + marker + "@h/0?insecure=maybe",
		"redis+sentinel://:" + marker + "@h",
		"redis+cluster://:" + marker + "@h:1/3",
		"redis://u:" + marker + "%zz@h",
		"http://" + marker + "@127.0.0.1:1/",
		"http://user:" + marker + "@127.0.0.1:1/",
		"https://" + marker + "@127.0.0.1:1/base",
		"http://ab/" + marker + "@127.0.0.1:1/",
		"http://127.0.0.1:1/?token=" + marker,
		"memcached://" + marker + "@127.0.0.1:1",
		"memcached://u:12/" + marker + "@h",
		"memcached://u:" + marker + "@h:x",
		"mongodb://u:" + marker + "@h",
		"memory://u:" + marker + "@x",
		marker,
		"u:" + marker + "@h",
	}
	type run struct {
		name string
		env  map[string]string
		args []string
	}
	var runs []run
	for i, u := range urls {
		// Names hold no marker: t.TempDir's path is made from them.
		runs = append(runs,
			run{fmt.Sprintf("url %d", i), nil, []string{"-v", "--timeout", "300ms", "-u", u, "get", "k"}},
			run{fmt.Sprintf("env CACHE_URL %d", i), map[string]string{"CACHE_URL": u}, []string{"--timeout", "300ms", "keys"}},
			run{fmt.Sprintf("set-context %d", i), nil, []string{"config", "set-context", "c", "--url", u}},
		)
	}
	runs = append(runs,
		run{"password-env holding the password", nil, []string{"config", "set-context", "c", "--url", "redis://127.0.0.1:1/0", "--password-env", marker + "!"}},
		run{"token-env holding the token", nil, []string{"config", "set-context", "c", "--url", "http://127.0.0.1:1/", "--token-env", "tok " + marker}},
		run{"token on a dead cache", nil, []string{"--timeout", "300ms", "--token", marker, "-u", "http://127.0.0.1:1/", "get", "k"}},
		run{"env token on a dead cache", map[string]string{"CACHECTL_TOKEN": marker}, []string{"--timeout", "300ms", "-u", "http://127.0.0.1:1/", "keys"}},
		run{"env password on a dead cache", map[string]string{"CACHECTL_PASSWORD": marker}, []string{"--timeout", "300ms", "-u", "redis://127.0.0.1:1/0", "get", "k"}},
	)
	for _, tt := range runs {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"XDG_CONFIG_HOME": t.TempDir()}
			for k, v := range tt.env {
				env[k] = v
			}
			r := newTestRun(t, env)
			code := r.run(tt.args...)
			if code == 0 && strings.HasPrefix(tt.name, "url ") {
				t.Errorf("exit 0 for a bad or dead URL")
			}
			for _, view := range [][]string{{"config", "view"}, {"config", "view", "-o", "json"}, {"config", "get-contexts"}, {"config", "get-contexts", "-o", "json"}} {
				r.run(view...)
			}
			if out := r.stdout.String() + r.stderr.String(); strings.Contains(out, marker) {
				t.Errorf("%q: output shows the secret:\n%s", tt.args, out)
			}
			data, err := os.ReadFile(filepath.Join(env["XDG_CONFIG_HOME"], "cachectl", "config.yaml"))
			if err == nil && strings.Contains(string(data), marker) && !strings.Contains(tt.args[len(tt.args)-1], "://") {
				// A password in a URL is the user's choice (and redacted on
				// display); a secret in password_env or token_env is a mistake.
				t.Errorf("config file holds the secret:\n%s", data)
			}
		})
	}
}

// TestEnvNameHoldingASecret: a file edited by hand may hold a secret where a
// variable name belongs; config view masks it and commands do not echo it.
func TestEnvNameHoldingASecret(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "cachectl", "config.yaml")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	file := "current-context: c\ncontexts:\n  c:\n    url: redis://127.0.0.1:1/0\n    password_env: " + marker + "!\n    token_env: " + marker + "?\n"
	if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	r := newTestRun(t, map[string]string{"XDG_CONFIG_HOME": dir})
	if code := r.run("config", "view"); code != 0 {
		t.Fatalf("config view: exit %d: %s", code, r.stderr)
	}
	if !strings.Contains(r.stdout.String(), "password_env: '***'") {
		t.Errorf("config view does not mask password_env:\n%s", r.stdout)
	}
	if code := r.run("get", "k"); code != ExitError {
		t.Errorf("get through the context: exit %d, want %d", code, ExitError)
	}
	if out := r.stdout.String() + r.stderr.String(); strings.Contains(out, marker) {
		t.Errorf("output shows the secret:\n%s", out)
	}
}

func TestSetContextRefusesASecretAsEnvName(t *testing.T) {
	r := newTestRun(t, nil)
	code := r.run("config", "set-context", "c", "--url", "redis://127.0.0.1:1/0", "--password-env", "S3cret!")
	if code != ExitUsage {
		t.Fatalf("exit %d, want %d; stderr: %s", code, ExitUsage, r.stderr)
	}
	if !strings.Contains(r.stderr.String(), "--password-env takes the name of an environment variable") {
		t.Errorf("stderr: %s", r.stderr)
	}
	if code := r.run("config", "set-context", "c", "--url", "redis://127.0.0.1:1/0", "--password-env", "PROD_PW"); code != 0 {
		t.Errorf("a valid name: exit %d: %s", code, r.stderr)
	}
}

func TestWhitespaceTokenIsAUsageError(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "cachectl", "config.yaml")
	os.MkdirAll(filepath.Dir(path), 0o700)
	os.WriteFile(path, []byte("contexts:\n  h:\n    url: http://127.0.0.1:1/\n    token_env: TOKSP\n"), 0o600)
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"flag", nil, []string{"--token", "  ", "-u", "http://127.0.0.1:1/", "get", "k"}, "flag --token holds only whitespace"},
		{"env", map[string]string{"CACHECTL_TOKEN": " "}, []string{"-u", "http://127.0.0.1:1/", "keys"}, "env CACHECTL_TOKEN holds only whitespace"},
		{"token_env", map[string]string{"TOKSP": "\t "}, []string{"-c", "h", "keys"}, `context "h": token_env TOKSP holds only whitespace`},
		{"serve flag", nil, []string{"serve", "--addr", "127.0.0.1:0", "--token", " "}, "flag --token holds only whitespace"},
		{"serve env", map[string]string{"CACHECTL_TOKEN": "   "}, []string{"serve", "--addr", "127.0.0.1:0"}, "env CACHECTL_TOKEN holds only whitespace"},
		{"demo flag", nil, []string{"demo", "--no-ui", "--token", " "}, "flag --token holds only whitespace"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"XDG_CONFIG_HOME": dir}
			for k, v := range tt.env {
				env[k] = v
			}
			r := newTestRun(t, env)
			// A serve that wrongly starts ends with the timeout, not a hang.
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if code := Run(ctx, r.f, tt.args); code != ExitUsage {
				t.Errorf("exit %d, want %d; stderr: %s", code, ExitUsage, r.stderr)
			}
			if !strings.Contains(r.stderr.String(), tt.want) {
				t.Errorf("stderr %q lacks %q", r.stderr, tt.want)
			}
		})
	}
}
