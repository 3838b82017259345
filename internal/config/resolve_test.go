package config

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func testFile() *File {
	return &File{CurrentContext: "cur", Contexts: map[string]*Context{
		"cur":  {URL: "redis://cur:6379"},
		"fctx": {URL: "redis://fctx:6379"},
		"ectx": {URL: "redis://ectx:6379"},
		"prod": {
			URL: "redis://app@prod:6379/0", PasswordEnv: "PROD_PW", ReadOnly: true,
			Production: true, Label: "PRODUCTION",
		},
		"web":      {URL: "https://cache.example/api", TokenEnv: "WEB_TOKEN"},
		"both":     {URL: "https://both.example", PasswordEnv: "BOTH_PW", TokenEnv: "BOTH_TOKEN"},
		"rw":       {URL: "redis://rw:6379"},
		"inline":   {URL: "redis://u:inlinepw@h:6379"},
		"nourl":    {Label: "x"},
		"badvar":   {URL: "redis://h", PasswordEnv: "hunter2!pw"},
		"badtok":   {URL: "redis://h", TokenEnv: "tok en"},
		"spaceurl": {URL: "  redis://spaced:6379 \n"},
	}}
}

// TestResolvePrecedence sets every pair of sources and checks that the
// stronger one wins: --url > --context > CACHECTL_URL > CACHE_URL >
// CACHECTL_CONTEXT > current-context.
func TestResolvePrecedence(t *testing.T) {
	type source struct {
		name      string
		apply     func(in *ResolveInput, e map[string]string)
		url, from string
		ctx       string
	}
	sources := []source{
		{"flag url", func(in *ResolveInput, _ map[string]string) { in.FlagURL, in.FlagURLSet = "redis://flag", true },
			"redis://flag", "flag --url", ""},
		{"flag context", func(in *ResolveInput, _ map[string]string) { in.FlagContext = "fctx" },
			"redis://fctx:6379", `context "fctx"`, "fctx"},
		{"CACHECTL_URL", func(_ *ResolveInput, e map[string]string) { e["CACHECTL_URL"] = "redis://envc" },
			"redis://envc", "env CACHECTL_URL", ""},
		{"CACHE_URL", func(_ *ResolveInput, e map[string]string) { e["CACHE_URL"] = "redis://envd" },
			"redis://envd", "env CACHE_URL", ""},
		{"CACHECTL_CONTEXT", func(_ *ResolveInput, e map[string]string) { e["CACHECTL_CONTEXT"] = "ectx" },
			"redis://ectx:6379", `context "ectx"`, "ectx"},
		{"current-context", func(in *ResolveInput, _ map[string]string) { in.File.CurrentContext = "cur" },
			"redis://cur:6379", `context "cur"`, "cur"},
	}
	check := func(t *testing.T, in ResolveInput, want source) {
		t.Helper()
		r, err := Resolve(in)
		if err != nil {
			t.Fatalf("Resolve() error = %v", err)
		}
		if r.URL != want.url || r.Source != want.from || r.ContextName != want.ctx {
			t.Errorf("Resolve() = URL %q source %q context %q, want %q %q %q",
				r.URL, r.Source, r.ContextName, want.url, want.from, want.ctx)
		}
		if (r.Context != nil) != (want.ctx != "") {
			t.Errorf("Context = %v, want non-nil only for a context source", r.Context)
		}
		if want.ctx != "" && r.Context != in.File.Contexts[want.ctx] {
			t.Errorf("Context is not the file's %q context", want.ctx)
		}
	}
	newInput := func() (ResolveInput, map[string]string) {
		e := map[string]string{}
		f := testFile()
		f.CurrentContext = ""
		return ResolveInput{Getenv: env(e), File: f}, e
	}
	for _, s := range sources {
		t.Run("only "+s.name, func(t *testing.T) {
			in, e := newInput()
			s.apply(&in, e)
			check(t, in, s)
		})
	}
	for i, strong := range sources {
		for _, weak := range sources[i+1:] {
			t.Run(strong.name+" beats "+weak.name, func(t *testing.T) {
				in, e := newInput()
				weak.apply(&in, e)
				strong.apply(&in, e)
				check(t, in, strong)
			})
		}
	}
	t.Run("all at once", func(t *testing.T) {
		in, e := newInput()
		for _, s := range sources {
			s.apply(&in, e)
		}
		check(t, in, sources[0])
	})
}

func TestResolve(t *testing.T) {
	tests := []struct {
		name string
		in   ResolveInput // Getenv and File are filled from env and file
		env  map[string]string
		file *File // nil = testFile() without a current context; use noFile for nil
		// want, unless wantErr is set
		want Resolved
		// wantErr is the exact message expected.
		wantErr string
	}{
		// Nothing set.
		{name: "nothing", file: &File{}, wantErr: ErrNoURL.Error()},
		{name: "contexts but no current", wantErr: ErrNoURL.Error()},
		{name: "empty env vars count as unset", env: map[string]string{
			"CACHECTL_URL": "", "CACHE_URL": "", "CACHECTL_CONTEXT": "", "CACHECTL_PASSWORD": "pw",
		}, wantErr: ErrNoURL.Error()},
		{name: "whitespace env vars count as unset", env: map[string]string{
			"CACHECTL_URL": " ", "CACHE_URL": "\t\n", "CACHECTL_CONTEXT": "  ",
		}, wantErr: ErrNoURL.Error()},
		{name: "url flag value without FlagURLSet is ignored", in: ResolveInput{FlagURL: "redis://x"},
			wantErr: ErrNoURL.Error()},

		// Empty values fall through to the next source.
		{name: "empty CACHECTL_URL falls to CACHE_URL", env: map[string]string{"CACHECTL_URL": "", "CACHE_URL": "redis://d"},
			want: Resolved{URL: "redis://d", Source: "env CACHE_URL"}},
		{name: "empty CACHE_URL falls to CACHECTL_CONTEXT", env: map[string]string{"CACHE_URL": "", "CACHECTL_CONTEXT": "rw"},
			want: Resolved{URL: "redis://rw:6379", Source: `context "rw"`, ContextName: "rw"}},
		{name: "empty CACHECTL_CONTEXT falls to current", env: map[string]string{"CACHECTL_CONTEXT": ""},
			file: withCurrent("rw"),
			want: Resolved{URL: "redis://rw:6379", Source: `context "rw"`, ContextName: "rw"}},
		{name: "env URL is trimmed", env: map[string]string{"CACHECTL_URL": " redis://t:1 \n"},
			want: Resolved{URL: "redis://t:1", Source: "env CACHECTL_URL"}},
		{name: "context URL is trimmed", in: ResolveInput{FlagContext: "spaceurl"},
			want: Resolved{URL: "redis://spaced:6379", Source: `context "spaceurl"`, ContextName: "spaceurl"}},
		{name: "empty --url", in: ResolveInput{FlagURLSet: true}, env: map[string]string{"CACHECTL_URL": "redis://e"},
			wantErr: "flag --url is empty"},

		// Missing contexts.
		{name: "missing --context", in: ResolveInput{FlagContext: "nope"},
			wantErr: `no context "nope" (see cachectl config get-contexts)`},
		{name: "missing --context beats CACHECTL_URL", in: ResolveInput{FlagContext: "nope"},
			env:     map[string]string{"CACHECTL_URL": "redis://e"},
			wantErr: `no context "nope" (see cachectl config get-contexts)`},
		{name: "missing --context with nil file", in: ResolveInput{FlagContext: "nope"}, file: noFile,
			wantErr: `no context "nope" (see cachectl config get-contexts)`},
		{name: "missing CACHECTL_CONTEXT", env: map[string]string{"CACHECTL_CONTEXT": "nope"},
			wantErr: `no context "nope" (see cachectl config get-contexts)`},
		{name: "missing current-context", file: withCurrent("gone"),
			wantErr: `no context "gone" (see cachectl config get-contexts)`},
		{name: "missing context name is escaped", in: ResolveInput{FlagContext: "a\x1b[2Jb"},
			wantErr: `no context "a\x1b[2Jb" (see cachectl config get-contexts)`},
		{name: "--url ignores a missing --context", in: ResolveInput{FlagURL: "redis://f", FlagURLSet: true, FlagContext: "nope"},
			want: Resolved{URL: "redis://f", Source: "flag --url"}},
		{name: "context without url", in: ResolveInput{FlagContext: "nourl"},
			wantErr: `context "nourl" has no url (set one with cachectl config set-context)`},

		// Passwords.
		{name: "password_env set", in: ResolveInput{FlagContext: "prod"},
			env: map[string]string{"PROD_PW": "s3cret", "CACHECTL_PASSWORD": "generic"},
			want: Resolved{URL: "redis://app@prod:6379/0", Source: `context "prod"`, ContextName: "prod",
				Password: "s3cret", ReadOnly: true}},
		{name: "password_env unset", in: ResolveInput{FlagContext: "prod"},
			env:     map[string]string{"CACHECTL_PASSWORD": "generic"},
			wantErr: `context "prod": password_env PROD_PW is not set`},
		{name: "password_env empty", in: ResolveInput{FlagContext: "prod"},
			env:     map[string]string{"PROD_PW": ""},
			wantErr: `context "prod": password_env PROD_PW is not set`},
		{name: "password_env unset via CACHECTL_CONTEXT", env: map[string]string{"CACHECTL_CONTEXT": "prod"},
			wantErr: `context "prod": password_env PROD_PW is not set`},
		{name: "password_env not a variable name", in: ResolveInput{FlagContext: "badvar"},
			wantErr: `context "badvar": password_env is not a valid environment variable name (it must name a variable, not hold the secret)`},
		{name: "password_env unset but --url wins", in: ResolveInput{FlagURL: "redis://f", FlagURLSet: true, FlagContext: "prod"},
			want: Resolved{URL: "redis://f", Source: "flag --url"}},
		{name: "CACHECTL_PASSWORD for a context without password_env", in: ResolveInput{FlagContext: "rw"},
			env:  map[string]string{"CACHECTL_PASSWORD": "generic"},
			want: Resolved{URL: "redis://rw:6379", Source: `context "rw"`, ContextName: "rw", Password: "generic"}},
		{name: "CACHECTL_PASSWORD with --url", in: ResolveInput{FlagURL: "redis://f", FlagURLSet: true},
			env:  map[string]string{"CACHECTL_PASSWORD": "generic", "CACHECTL_TOKEN": "gtok"},
			want: Resolved{URL: "redis://f", Source: "flag --url", Password: "generic", Token: "gtok"}},
		{name: "CACHECTL_PASSWORD with env URL", env: map[string]string{"CACHE_URL": "redis://d", "CACHECTL_PASSWORD": "generic"},
			want: Resolved{URL: "redis://d", Source: "env CACHE_URL", Password: "generic"}},
		{name: "empty CACHECTL_PASSWORD", env: map[string]string{"CACHE_URL": "redis://d", "CACHECTL_PASSWORD": ""},
			want: Resolved{URL: "redis://d", Source: "env CACHE_URL"}},
		{name: "password keeps surrounding spaces", env: map[string]string{"CACHE_URL": "redis://d", "CACHECTL_PASSWORD": " pw "},
			want: Resolved{URL: "redis://d", Source: "env CACHE_URL", Password: " pw "}},
		{name: "inline password stays in URL", in: ResolveInput{FlagContext: "inline"},
			want: Resolved{URL: "redis://u:inlinepw@h:6379", Source: `context "inline"`, ContextName: "inline"}},

		// Tokens.
		{name: "token_env set", in: ResolveInput{FlagContext: "web"},
			env: map[string]string{"WEB_TOKEN": "tok", "CACHECTL_TOKEN": "generic", "CACHECTL_PASSWORD": "gpw"},
			want: Resolved{URL: "https://cache.example/api", Source: `context "web"`, ContextName: "web",
				Token: "tok", Password: "gpw"}},
		{name: "token_env unset", in: ResolveInput{FlagContext: "web"}, env: map[string]string{"CACHECTL_TOKEN": "generic"},
			wantErr: `context "web": token_env WEB_TOKEN is not set`},
		{name: "token_env not a variable name", in: ResolveInput{FlagContext: "badtok"},
			wantErr: `context "badtok": token_env is not a valid environment variable name (it must name a variable, not hold the secret)`},
		{name: "CACHECTL_TOKEN for a context without token_env", in: ResolveInput{FlagContext: "rw"},
			env:  map[string]string{"CACHECTL_TOKEN": "generic"},
			want: Resolved{URL: "redis://rw:6379", Source: `context "rw"`, ContextName: "rw", Token: "generic"}},
		{name: "password and token env both", in: ResolveInput{FlagContext: "both"},
			env: map[string]string{"BOTH_PW": "p", "BOTH_TOKEN": "t"},
			want: Resolved{URL: "https://both.example", Source: `context "both"`, ContextName: "both",
				Password: "p", Token: "t"}},
		{name: "token missing after password found", in: ResolveInput{FlagContext: "both"},
			env:     map[string]string{"BOTH_PW": "p"},
			wantErr: `context "both": token_env BOTH_TOKEN is not set`},

		// Read-only.
		{name: "read-only flag with --url", in: ResolveInput{FlagURL: "redis://f", FlagURLSet: true, FlagReadOnly: true},
			want: Resolved{URL: "redis://f", Source: "flag --url", ReadOnly: true}},
		{name: "read-only flag with env URL", in: ResolveInput{FlagReadOnly: true}, env: map[string]string{"CACHECTL_URL": "redis://e"},
			want: Resolved{URL: "redis://e", Source: "env CACHECTL_URL", ReadOnly: true}},
		{name: "env URL ignores read-only current context", env: map[string]string{"CACHECTL_URL": "redis://e"},
			file: withCurrent("prod"),
			want: Resolved{URL: "redis://e", Source: "env CACHECTL_URL"}},
		{name: "--url ignores read-only --context", in: ResolveInput{FlagURL: "redis://f", FlagURLSet: true, FlagContext: "prod"},
			env:  map[string]string{"PROD_PW": "x"},
			want: Resolved{URL: "redis://f", Source: "flag --url"}},
		{name: "read-only context without flag", in: ResolveInput{FlagContext: "prod"}, env: map[string]string{"PROD_PW": "x"},
			want: Resolved{URL: "redis://app@prod:6379/0", Source: `context "prod"`, ContextName: "prod", Password: "x", ReadOnly: true}},
		{name: "read-only context with flag", in: ResolveInput{FlagContext: "prod", FlagReadOnly: true}, env: map[string]string{"PROD_PW": "x"},
			want: Resolved{URL: "redis://app@prod:6379/0", Source: `context "prod"`, ContextName: "prod", Password: "x", ReadOnly: true}},
		{name: "read-write context with flag", in: ResolveInput{FlagContext: "rw", FlagReadOnly: true},
			want: Resolved{URL: "redis://rw:6379", Source: `context "rw"`, ContextName: "rw", ReadOnly: true}},
		{name: "read-write context without flag", in: ResolveInput{FlagContext: "rw"},
			want: Resolved{URL: "redis://rw:6379", Source: `context "rw"`, ContextName: "rw"}},
		{name: "read-only current context", file: withCurrent("prod"), env: map[string]string{"PROD_PW": "x"},
			want: Resolved{URL: "redis://app@prod:6379/0", Source: `context "prod"`, ContextName: "prod", Password: "x", ReadOnly: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in
			in.Getenv = env(tt.env)
			switch tt.file {
			case nil:
				in.File = withCurrent("")
			case noFile:
				in.File = nil
			default:
				in.File = tt.file
			}
			r, err := Resolve(in)
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("Resolve() = %+v, want error %q", r, tt.wantErr)
				}
				if r != nil {
					t.Errorf("Resolve() returned %+v along with an error", r)
				}
				if err.Error() != tt.wantErr {
					t.Errorf("error = %q, want %q", err, tt.wantErr)
				}
				if got, want := errors.Is(err, ErrNoURL), tt.wantErr == ErrNoURL.Error(); got != want {
					t.Errorf("errors.Is(err, ErrNoURL) = %v, want %v", got, want)
				}
				var nc *NoContextError
				if got, want := errors.As(err, &nc), strings.HasPrefix(tt.wantErr, "no context "); got != want {
					t.Errorf("errors.As(err, *NoContextError) = %v, want %v", got, want)
				}
				for _, v := range tt.env {
					if v != "" && strings.Contains(err.Error(), v) && !strings.Contains(tt.wantErr, v) {
						t.Errorf("error %q leaks env value %q", err, v)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Resolve() error = %v", err)
			}
			got := *r
			if (got.Context != nil) != (tt.want.ContextName != "") {
				t.Errorf("Context = %+v, want it set only with a context name", got.Context)
			}
			if got.Context != nil && got.Context != in.File.Contexts[got.ContextName] {
				t.Errorf("Context is not the file's %q", got.ContextName)
			}
			got.Context = nil
			if got != tt.want {
				t.Errorf("Resolve() =\n  %+v\nwant\n  %+v", got, tt.want)
			}
		})
	}
}

// noFile marks a test case whose ResolveInput.File is nil.
var noFile = &File{CurrentContext: "\x00nil"}

func withCurrent(name string) *File {
	f := testFile()
	f.CurrentContext = name
	return f
}

func TestResolveNilGetenv(t *testing.T) {
	r, err := Resolve(ResolveInput{FlagContext: "rw", File: testFile()})
	if err != nil {
		t.Fatal(err)
	}
	if r.URL != "redis://rw:6379" || r.Password != "" || r.Token != "" {
		t.Errorf("Resolve() = %+v", r)
	}
	if _, err := Resolve(ResolveInput{FlagContext: "prod", File: testFile()}); err == nil {
		t.Error("password_env with nil Getenv succeeded")
	}
	if _, err := Resolve(ResolveInput{}); !errors.Is(err, ErrNoURL) {
		t.Errorf("empty input error = %v, want ErrNoURL", err)
	}
}

func TestResolveErrorsCanBeWrapped(t *testing.T) {
	_, err := Resolve(ResolveInput{FlagContext: "x", File: &File{}})
	wrapped := fmt.Errorf("cachectl: %w", err)
	var nc *NoContextError
	if !errors.As(wrapped, &nc) || nc.Name != "x" {
		t.Errorf("errors.As through a wrap = %v, %+v", errors.As(wrapped, &nc), nc)
	}
	_, err = Resolve(ResolveInput{File: &File{}})
	if !errors.Is(fmt.Errorf("x: %w", err), ErrNoURL) {
		t.Error("ErrNoURL lost through a wrap")
	}
}

func TestValidVarName(t *testing.T) {
	tests := map[string]bool{
		"PROD_REDIS_PASSWORD": true, "_x": true, "a1": true, "x": true,
		"": false, "1A": false, "A-B": false, "A B": false, "pa$$": false, "é": false,
		strings.Repeat("A", 257): false,
	}
	for name, want := range tests {
		if got := ValidVarName(name); got != want {
			t.Errorf("ValidVarName(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestWhitespaceTokensAreRefused(t *testing.T) {
	file := &File{Contexts: map[string]*Context{"h": {URL: "http://127.0.0.1:1", TokenEnv: "TOK"}}}
	tests := []struct {
		name string
		in   ResolveInput
		want string // "" = no error
	}{
		{"env token of spaces", ResolveInput{FlagURL: "http://h", FlagURLSet: true, Getenv: env(map[string]string{"CACHECTL_TOKEN": "  "})}, "env CACHECTL_TOKEN holds only whitespace"},
		{"env token of a tab and newline", ResolveInput{FlagURL: "http://h", FlagURLSet: true, Getenv: env(map[string]string{"CACHECTL_TOKEN": "\t\n"})}, "env CACHECTL_TOKEN holds only whitespace"},
		{"token_env of spaces", ResolveInput{FlagContext: "h", File: file, Getenv: env(map[string]string{"TOK": " "})}, `context "h": token_env TOK holds only whitespace`},
		{"real token", ResolveInput{FlagContext: "h", File: file, Getenv: env(map[string]string{"TOK": "t0k"})}, ""},
		{"empty env token means none", ResolveInput{FlagURL: "http://h", FlagURLSet: true, Getenv: env(map[string]string{"CACHECTL_TOKEN": ""})}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Resolve(tt.in)
			var te *TokenError
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.want != "" && (err == nil || !errors.As(err, &te) || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("error %v, want a *TokenError containing %q", err, tt.want)
			}
		})
	}
	if err := CheckToken(" ", "flag --token"); err == nil || err.Error() != "flag --token holds only whitespace: give a real token, or leave it unset for none" {
		t.Errorf("CheckToken: %v", err)
	}
}

func TestRedactEnvNameAndSchemelessURLs(t *testing.T) {
	for in, want := range map[string]string{"": "", "PROD_PW": "PROD_PW", "S3cret!": "***", "a b": "***", "1ABC": "***"} {
		if got := RedactEnvName(in); got != want {
			t.Errorf("RedactEnvName(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{"S3cret": "***", "localhost:6379": "localhost:6379", "redis://u:pw@h": "redis://u:***@h", "": ""} {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
	f := &File{Contexts: map[string]*Context{"c": {URL: "redis://h", PasswordEnv: "S3cret!", TokenEnv: "TOKEN_VAR"}}}
	red := f.Redacted().Contexts["c"]
	if red.PasswordEnv != "***" || red.TokenEnv != "TOKEN_VAR" || f.Contexts["c"].PasswordEnv != "S3cret!" {
		t.Errorf("Redacted: %+v (original %+v)", red, f.Contexts["c"])
	}
}

func TestSentinelPasswordSources(t *testing.T) {
	file := &File{Contexts: map[string]*Context{
		"s":     {URL: "redis+sentinel://h:26379/m", PasswordEnv: "DATA_PW", SentinelPasswordEnv: "CTX_SPW"},
		"unset": {URL: "redis+sentinel://h:26379/m", SentinelPasswordEnv: "NOPE"},
		"inurl": {URL: "redis+sentinel://h:26379/m?sentinel_password_env=URL_SPW", SentinelPasswordEnv: "CTX_SPW"},
	}}
	vars := map[string]string{"DATA_PW": "data", "CTX_SPW": "from-context", "URL_SPW": "from-url", EnvSentinelPassword: "from-default"}
	getenv := func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
	for _, tc := range []struct {
		name, url, ctx string
		want, wantErr  string
	}{
		{name: "context variable", ctx: "s", want: "from-context"},
		{name: "URL parameter beats the context", ctx: "inurl", want: "from-url"},
		{name: "URL parameter on --url", url: "redis+sentinel://h/m?sentinel_password_env=URL_SPW", want: "from-url"},
		{name: "default variable", url: "redis+sentinel://h/m", want: "from-default"},
		{name: "unset context variable", ctx: "unset", wantErr: "sentinel_password_env NOPE is not set"},
		{name: "unset URL variable", url: "redis+sentinel://h/m?sentinel_password_env=GONE", wantErr: "sentinel_password_env GONE is not set"},
		{name: "a secret instead of a name", url: "redis+sentinel://h/m?sentinel_password_env=hunter2!", wantErr: "not a valid environment variable name"},
	} {
		in := ResolveInput{Getenv: getenv, File: file, FlagContext: tc.ctx, FlagURL: tc.url, FlagURLSet: tc.url != ""}
		r, err := Resolve(in)
		switch {
		case tc.wantErr != "":
			var se *SettingError
			if strings.Contains(tc.wantErr, "not a valid") && !errors.As(err, &se) {
				t.Errorf("%s: %T is no SettingError (a usage error)", tc.name, err)
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || strings.Contains(err.Error(), "hunter2") {
				t.Errorf("%s: err %v, want %q (and no secret)", tc.name, err, tc.wantErr)
			}
		case err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case r.SentinelPassword != tc.want:
			t.Errorf("%s: sentinel password %q, want %q", tc.name, r.SentinelPassword, tc.want)
		case tc.ctx == "s" && r.Password != "data":
			t.Errorf("%s: data password %q, want the context's", tc.name, r.Password)
		}
	}
}

// TestResolveSSH: --ssh beats CACHECTL_SSH, which beats the context's ssh
// block, each replacing it whole; "none" turns the tunnel off.
func TestResolveSSH(t *testing.T) {
	block := &SSH{Host: "bastion", User: "deploy", Port: 2222, IdentityFiles: []string{"~/.ssh/prod"}, KnownHosts: []string{"/kh"}, ProxyJump: "gw"}
	file := &File{Contexts: map[string]*Context{"prod": {URL: "redis://10.0.0.5:6379", SSH: block}, "plain": {URL: "redis://h"}}}
	for _, tc := range []struct {
		name    string
		in      ResolveInput
		env     map[string]string
		want    *SSH
		wantSrc string
	}{
		{name: "context block", in: ResolveInput{FlagContext: "prod"}, want: block, wantSrc: `context "prod"`},
		{name: "env beats context", in: ResolveInput{FlagContext: "prod"}, env: map[string]string{EnvSSH: "me@other:22"}, want: &SSH{Host: "me@other:22"}, wantSrc: "env CACHECTL_SSH"},
		{name: "flag beats env", in: ResolveInput{FlagContext: "prod", FlagSSH: "a@b", FlagSSHSet: true}, env: map[string]string{EnvSSH: "me@other"}, want: &SSH{Host: "a@b"}, wantSrc: "flag --ssh"},
		{name: "flag none", in: ResolveInput{FlagContext: "prod", FlagSSH: "none", FlagSSHSet: true}},
		{name: "env none", in: ResolveInput{FlagContext: "prod"}, env: map[string]string{EnvSSH: "NONE"}},
		{name: "no tunnel", in: ResolveInput{FlagContext: "plain"}},
		{name: "env with a URL flag", in: ResolveInput{FlagURL: "redis://x", FlagURLSet: true}, env: map[string]string{EnvSSH: " b "}, want: &SSH{Host: "b"}, wantSrc: "env CACHECTL_SSH"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			in.File = file
			in.Getenv = func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok }
			r, err := Resolve(in)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(r.SSH) != fmt.Sprint(tc.want) || r.SSHSource != tc.wantSrc {
				t.Fatalf("SSH = %+v from %q, want %+v from %q", r.SSH, r.SSHSource, tc.want, tc.wantSrc)
			}
			if r.SSH != nil && r.SSH == block {
				t.Fatal("the context's block itself was returned: a caller's change would reach the file")
			}
		})
	}
}
