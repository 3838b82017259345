package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// env returns a lookup function over m, like os.LookupEnv over a fixed
// environment.
func env(m map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := m[name]
		return v, ok
	}
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestDefaultPath(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    string
		wantErr bool
	}{
		{"xdg", map[string]string{"XDG_CONFIG_HOME": "/x/cfg", "HOME": "/home/u"}, "/x/cfg/cachectl/config.yaml", false},
		{"xdg trailing slash", map[string]string{"XDG_CONFIG_HOME": "/x/cfg/"}, "/x/cfg/cachectl/config.yaml", false},
		{"home", map[string]string{"HOME": "/home/u"}, "/home/u/.config/cachectl/config.yaml", false},
		{"empty xdg falls back to home", map[string]string{"XDG_CONFIG_HOME": "", "HOME": "/home/u"}, "/home/u/.config/cachectl/config.yaml", false},
		{"relative xdg ignored", map[string]string{"XDG_CONFIG_HOME": "rel/cfg", "HOME": "/home/u"}, "/home/u/.config/cachectl/config.yaml", false},
		{"nothing set", map[string]string{}, "", true},
		{"empty home", map[string]string{"HOME": ""}, "", true},
		{"relative xdg only", map[string]string{"XDG_CONFIG_HOME": "rel"}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DefaultPath(env(tt.env))
			if (err != nil) != tt.wantErr {
				t.Fatalf("DefaultPath() error = %v, wantErr %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("DefaultPath() = %q, want %q", got, tt.want)
			}
		})
	}
	t.Run("nil getenv", func(t *testing.T) {
		if _, err := DefaultPath(nil); err == nil {
			t.Fatal("DefaultPath(nil) succeeded, want error")
		}
	})
}

func TestValidateName(t *testing.T) {
	tests := []struct {
		name   string
		reason string // "" = valid
	}{
		{"prod", ""},
		{"prod-eu_1.redis", ""},
		{"prod/cache@eu:1", ""},
		{"Produktion-Straße", ""},
		{"本番", ""},
		{strings.Repeat("a", MaxNameLen), ""},
		{"", "empty"},
		{strings.Repeat("a", MaxNameLen+1), "longer than 100 bytes"},
		{strings.Repeat("é", 51), "longer than 100 bytes"}, // 102 bytes, 51 runes
		{"my prod", "whitespace"},
		{"prod\t", "whitespace"},
		{"prod\n", "whitespace"},
		{" prod", "whitespace"},
		{"prod\u00a0x", "whitespace"},
		{"prod\x1b[31m", "control"},
		{"prod\x00", "control"},
		{"prod\x7f", "control"},
		{"prod\u202ex", "control"}, // bidi override
		{"prod\xff", "UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateName(tt.name)
			if tt.reason == "" {
				if err != nil {
					t.Fatalf("ValidateName(%q) = %v, want nil", tt.name, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("ValidateName(%q) = nil, want error about %s", tt.name, tt.reason)
			}
			var ne *NameError
			if !errors.As(err, &ne) {
				t.Errorf("error %T is not a *NameError", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.reason) || !strings.HasPrefix(msg, "invalid context name ") {
				t.Errorf("error %q, want it to mention %q", msg, tt.reason)
			}
			if strings.ContainsAny(msg, "\n\t\x1b\x00\u202e") {
				t.Errorf("error %q carries raw control characters", msg)
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope", "config.yaml")
	f, err := Load(path)
	if err != nil {
		t.Fatalf("Load(missing) error = %v", err)
	}
	if f == nil || f.CurrentContext != "" || len(f.Contexts) != 0 {
		t.Fatalf("Load(missing) = %+v, want empty File", f)
	}
	// The result is usable: Set must not panic on it.
	if err := f.Set("a", &Context{URL: "redis://h"}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load created %s", path)
	}
}

const fullYAML = `# my contexts
current-context: prod
contexts:
  prod:
    url: redis://app@redis.internal:6379/0
    password_env: PROD_REDIS_PASSWORD   # name of env var holding the password
    token_env: ""
    read_only: true
    profile: aiocache
    namespace: myapp
    label: PRODUCTION
    color: red
    production: true
  local:
    url: redis://localhost:6379/1
  empty:
`

func TestLoad(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    *File
	}{
		{"empty file", "", &File{Contexts: map[string]*Context{}}},
		{"comments only", "# nothing here\n\n", &File{Contexts: map[string]*Context{}}},
		{"current only", "current-context: x\n", &File{CurrentContext: "x", Contexts: map[string]*Context{}}},
		{"full", fullYAML, &File{
			CurrentContext: "prod",
			Contexts: map[string]*Context{
				"prod": {
					URL: "redis://app@redis.internal:6379/0", PasswordEnv: "PROD_REDIS_PASSWORD",
					ReadOnly: true, Profile: "aiocache", Namespace: "myapp",
					Label: "PRODUCTION", Color: "red", Production: true,
				},
				"local": {URL: "redis://localhost:6379/1"},
				"empty": {},
			},
		}},
		{"explicit document markers", "---\ncontexts:\n  a:\n    url: memcached://m:11211\n...\n",
			&File{Contexts: map[string]*Context{"a": {URL: "memcached://m:11211"}}}},
		{"inline password kept", "contexts:\n  a:\n    url: redis://u:s3cret@h:6379\n",
			&File{Contexts: map[string]*Context{"a": {URL: "redis://u:s3cret@h:6379"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Load(writeFile(t, tt.content))
			if err != nil {
				t.Fatalf("Load() error = %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Load() = %s, want %s", dump(got), dump(tt.want))
			}
		})
	}
}

// dump formats f for failure messages (%v of a map of pointers shows addresses).
func dump(f *File) string {
	if f == nil {
		return "<nil>"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "{current=%q", f.CurrentContext)
	for _, n := range f.Names() {
		if c := f.Contexts[n]; c == nil {
			fmt.Fprintf(&b, " %q=nil", n)
		} else {
			fmt.Fprintf(&b, " %q=%+v", n, *c)
		}
	}
	return b.String() + "}"
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    []string // substrings of the message, after "read config PATH: "
		secret  string   // must not appear in the message
	}{
		{
			name:    "unknown key in context",
			content: "contexts:\n  prod:\n    url: redis://h\n    pasword_env: X\n",
			want:    []string{"line 4", `unknown key "pasword_env"`},
		},
		{
			name:    "unknown top-level key",
			content: "current-context: a\ncurrent_context: b\n",
			want:    []string{"line 2", `unknown key "current_context"`},
		},
		{
			name:    "two unknown keys",
			content: "contexts:\n  a:\n    foo: 1\n  b:\n    bar: 2\n",
			want:    []string{`line 3: unknown key "foo"`, `line 5: unknown key "bar"`},
		},
		{
			name:    "secret pasted as a key",
			content: "contexts:\n  a:\n    redis://u:hunter2@h: 1\n",
			want:    []string{"line 3", "unknown key", "u:***@h"},
			secret:  "hunter2",
		},
		{
			name:    "syntax error",
			content: "contexts:\n  prod:\n    url: redis://h\n   bad: [\n",
			want:    []string{"line 1: did not find expected key"},
		},
		{
			name:    "tab indentation",
			content: "contexts:\n\tprod:\n",
			want:    []string{"line 2"},
		},
		{
			name:    "wrong type hides the value",
			content: "contexts:\n  prod:\n    read_only: hunter2\n",
			want:    []string{"line 3", "cannot unmarshal"},
			secret:  "hunter",
		},
		{
			name:    "contexts is a string",
			content: "contexts: redis://u:hunter2@h\n",
			want:    []string{"line 1", "cannot unmarshal", "into a mapping of contexts"},
			secret:  "hunter",
		},
		{
			name:    "top level is a list",
			content: "- a\n- b\n",
			want:    []string{"line 1", "cannot unmarshal"},
		},
		{
			name:    "duplicate context",
			content: "contexts:\n  a:\n    url: redis://h\n  a:\n    url: redis://g\n",
			want:    []string{"line 4", `"a" already defined`},
		},
		{
			name:    "invalid context name",
			content: "contexts:\n  \"my prod\":\n    url: redis://h\n",
			want:    []string{`invalid context name "my prod": contains whitespace`},
		},
		{
			name:    "two documents",
			content: "current-context: a\n---\ncurrent-context: b\n",
			want:    []string{"line 2", "more than one YAML document"},
		},
		{
			name:    "binary garbage",
			content: "\x00\x01\x02\xff\xfe",
			want:    []string{"control characters are not allowed"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, tt.content)
			f, err := Load(path)
			if err == nil {
				t.Fatalf("Load() = %s, want error", dump(f))
			}
			if f != nil {
				t.Errorf("Load() returned a File along with an error")
			}
			msg := err.Error()
			prefix := "read config " + path + ": "
			if !strings.HasPrefix(msg, prefix) {
				t.Errorf("error %q does not start with %q", msg, prefix)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %q", msg, w)
				}
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("error %q spans lines", msg)
			}
			if rest := strings.TrimPrefix(msg, prefix); strings.Contains(rest, "yaml:") || strings.Contains(rest, "config.") {
				t.Errorf("error %q leaks implementation details", msg)
			}
			if tt.secret != "" && strings.Contains(msg, tt.secret) {
				t.Errorf("error %q leaks %q", msg, tt.secret)
			}
		})
	}
}

func TestLoadUnreadable(t *testing.T) {
	dir := t.TempDir() // a directory cannot be read as a file
	_, err := Load(dir)
	if err == nil {
		t.Fatal("Load(directory) succeeded")
	}
	if want := "read config " + dir + ": "; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error %q does not start with %q", err, want)
	}
	if strings.Count(err.Error(), dir) != 1 {
		t.Errorf("error %q repeats the path", err)
	}
}

func TestSaveRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "cachectl")
	path := filepath.Join(dir, "config.yaml")
	f := &File{CurrentContext: "prod"}
	contexts := map[string]*Context{
		"prod": {
			URL: "redis://app:inline@redis.internal:6379/0", PasswordEnv: "PROD_REDIS_PASSWORD",
			TokenEnv: "TOK", ReadOnly: true, Profile: "aiocache", Namespace: "myapp",
			Label: "PRODUCTION", Color: "red", Production: true,
		},
		"zeta":  {URL: "memcached://m:11211"},
		"alpha": {URL: "https://cache.example/api", TokenEnv: "HTTP_TOKEN"},
		"bare":  {},
	}
	for name, c := range contexts {
		if err := f.Set(name, c); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Save(path); err != nil {
		t.Fatalf("Save() error = %v", err)
	}

	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := st.Mode().Perm(); mode != 0o600 {
		t.Errorf("file mode = %o, want 600", mode)
	}
	dst, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if mode := dst.Mode().Perm(); mode != 0o700 {
		t.Errorf("dir mode = %o, want 700", mode)
	}
	assertOnlyFile(t, dir, "config.yaml")

	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	order := []string{"current-context: prod", "contexts:", "\n  alpha:", "\n  bare: {}", "\n  prod:", "\n  zeta:"}
	last := -1
	for _, s := range order {
		i := strings.Index(text, s)
		if i < 0 || i < last {
			t.Fatalf("saved file out of order or missing %q:\n%s", s, text)
		}
		last = i
	}
	for _, s := range []string{"    password_env: PROD_REDIS_PASSWORD\n", "    read_only: true\n", "    production: true\n"} {
		if !strings.Contains(text, s) {
			t.Errorf("saved file lacks %q:\n%s", s, text)
		}
	}
	if strings.Contains(text, "namespace: \"\"") || strings.Contains(text, "read_only: false") {
		t.Errorf("saved file has zero values, want omitempty:\n%s", text)
	}

	got, err := Load(path)
	if err != nil {
		t.Fatalf("Load(saved) error = %v", err)
	}
	want := &File{CurrentContext: "prod", Contexts: contexts}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("round trip = %s, want %s", dump(got), dump(want))
	}
}

func assertOnlyFile(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if !reflect.DeepEqual(got, names) {
		t.Errorf("directory holds %q, want %q (temporary file left behind?)", got, names)
	}
}

func TestSaveEmpty(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := (&File{}).Save(path); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.CurrentContext != "" || len(got.Contexts) != 0 {
		t.Errorf("Load(saved empty) = %s", dump(got))
	}
}

func TestSaveReplacesExisting(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte("current-context: old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f := &File{}
	if err := f.Set("new", &Context{URL: "redis://h"}); err != nil {
		t.Fatal(err)
	}
	if err := f.Use("new"); err != nil {
		t.Fatal(err)
	}
	if err := f.Save(path); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := st.Mode().Perm(); mode != 0o600 {
		t.Errorf("mode after replacing a 0644 file = %o, want 600", mode)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.CurrentContext != "new" {
		t.Errorf("current-context = %q, want new", got.CurrentContext)
	}
	assertOnlyFile(t, dir, "config.yaml")
}

func TestSaveThroughSymlink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "dotfiles", "cachectl.yaml")
	if err := os.MkdirAll(filepath.Dir(target), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(target, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "config.yaml")
	if err := os.Symlink(target, link); err != nil {
		t.Skip("symlinks unsupported:", err)
	}
	f := &File{CurrentContext: "x"}
	if err := f.Save(link); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Lstat(link); err != nil || st.Mode()&fs.ModeSymlink == 0 {
		t.Fatalf("link replaced by a regular file (err %v)", err)
	}
	data, err := os.ReadFile(target)
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != "current-context: x\n" {
		t.Errorf("target holds %q", data)
	}
}

func TestSaveErrors(t *testing.T) {
	t.Run("invalid name", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "config.yaml")
		f := &File{Contexts: map[string]*Context{"bad name": {URL: "redis://h"}}}
		err := f.Save(path)
		if err == nil || !strings.Contains(err.Error(), `invalid context name "bad name"`) {
			t.Fatalf("Save() error = %v, want invalid name", err)
		}
		if !strings.HasPrefix(err.Error(), "write config "+path+": ") {
			t.Errorf("error %q lacks the write config prefix", err)
		}
		if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Save wrote a file despite the error")
		}
	})
	t.Run("parent is a file", func(t *testing.T) {
		dir := t.TempDir()
		blocker := filepath.Join(dir, "blocker")
		if err := os.WriteFile(blocker, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(blocker, "config.yaml")
		err := (&File{CurrentContext: "x"}).Save(path)
		if err == nil {
			t.Fatal("Save() under a regular file succeeded")
		}
		if !strings.HasPrefix(err.Error(), "write config "+path+": ") {
			t.Errorf("error %q lacks the write config prefix", err)
		}
		assertOnlyFile(t, dir, "blocker")
	})
	t.Run("path is a directory", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "config.yaml")
		if err := os.Mkdir(path, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := (&File{CurrentContext: "x"}).Save(path); err == nil {
			t.Fatal("Save() over a directory succeeded")
		}
		assertOnlyFile(t, dir, "config.yaml") // the temporary file is gone
		if st, err := os.Stat(path); err != nil || !st.IsDir() {
			t.Errorf("directory damaged: %v", err)
		}
	})
}

func TestNames(t *testing.T) {
	var nilFile *File
	if got := nilFile.Names(); len(got) != 0 {
		t.Errorf("nil.Names() = %q", got)
	}
	f := &File{Contexts: map[string]*Context{"b": {}, "a": {}, "C": {}, "a-2": {}}}
	want := []string{"C", "a", "a-2", "b"}
	if got := f.Names(); !reflect.DeepEqual(got, want) {
		t.Errorf("Names() = %q, want %q", got, want)
	}
}

func TestGetSet(t *testing.T) {
	f := &File{}
	if _, ok := f.Get("x"); ok {
		t.Fatal("Get on empty file found x")
	}
	c := &Context{URL: "redis://h", Label: "L"}
	if err := f.Set("x", c); err != nil {
		t.Fatal(err)
	}
	c.URL = "changed after Set"
	got, ok := f.Get("x")
	if !ok || got.URL != "redis://h" || got.Label != "L" {
		t.Fatalf("Get(x) = %+v, %v; want the stored copy", got, ok)
	}
	got.Namespace = "ns" // Get returns the stored context, editable in place
	if again, _ := f.Get("x"); again.Namespace != "ns" {
		t.Errorf("edit through Get pointer lost")
	}
	if err := f.Set("x", &Context{URL: "redis://other"}); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.Get("x"); got.URL != "redis://other" || got.Namespace != "" {
		t.Errorf("Set did not replace: %+v", got)
	}
	if err := f.Set("nil", nil); err != nil {
		t.Fatal(err)
	}
	if got, ok := f.Get("nil"); !ok || got == nil {
		t.Errorf("Set(nil ctx) stored %v, %v", got, ok)
	}
	for _, bad := range []string{"", "a b", "x\x1b"} {
		if err := f.Set(bad, &Context{}); err == nil {
			t.Errorf("Set(%q) succeeded", bad)
		}
		if _, ok := f.Get(bad); ok {
			t.Errorf("Set(%q) stored a context despite the error", bad)
		}
	}
	if want := []string{"nil", "x"}; !reflect.DeepEqual(f.Names(), want) {
		t.Errorf("Names() = %q, want %q", f.Names(), want)
	}
	// A nil context in the map (hand-built File) is returned as an empty one.
	h := &File{Contexts: map[string]*Context{"n": nil}}
	if got, ok := h.Get("n"); !ok || got == nil {
		t.Errorf("Get of nil entry = %v, %v", got, ok)
	}
}

func TestDeleteUse(t *testing.T) {
	newFile := func() *File {
		return &File{CurrentContext: "prod", Contexts: map[string]*Context{
			"prod": {URL: "redis://p"}, "dev": {URL: "redis://d"},
		}}
	}
	tests := []struct {
		name        string
		op          func(*File) error
		wantErr     string
		wantCurrent string
		wantNames   []string
	}{
		{"delete other", func(f *File) error { return f.Delete("dev") }, "", "prod", []string{"prod"}},
		{"delete current clears it", func(f *File) error { return f.Delete("prod") }, "", "", []string{"dev"}},
		{"delete unknown", func(f *File) error { return f.Delete("x") }, `no context "x"`, "prod", []string{"dev", "prod"}},
		{"delete empty name", func(f *File) error { return f.Delete("") }, `no context ""`, "prod", []string{"dev", "prod"}},
		{"use", func(f *File) error { return f.Use("dev") }, "", "dev", []string{"dev", "prod"}},
		{"use unknown", func(f *File) error { return f.Use("stage") }, `no context "stage"`, "prod", []string{"dev", "prod"}},
		{"use escapes name", func(f *File) error { return f.Use("a\x1bb") }, `no context "a\x1bb"`, "prod", []string{"dev", "prod"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFile()
			err := tt.op(f)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("error = %v", err)
				}
			} else {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				var nc *NoContextError
				if !errors.As(err, &nc) {
					t.Errorf("error %T is not a *NoContextError", err)
				}
			}
			if f.CurrentContext != tt.wantCurrent {
				t.Errorf("current = %q, want %q", f.CurrentContext, tt.wantCurrent)
			}
			if !reflect.DeepEqual(f.Names(), tt.wantNames) {
				t.Errorf("names = %q, want %q", f.Names(), tt.wantNames)
			}
		})
	}
	t.Run("on empty file", func(t *testing.T) {
		f := &File{}
		if err := f.Delete("x"); err == nil {
			t.Error("Delete on empty File succeeded")
		}
		if err := f.Use("x"); err == nil || f.CurrentContext != "" {
			t.Error("Use on empty File succeeded")
		}
	})
}

func TestDeleteCurrentThenSave(t *testing.T) {
	path := writeFile(t, fullYAML)
	f, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Delete("prod"); err != nil {
		t.Fatal(err)
	}
	if err := f.Save(path); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.CurrentContext != "" {
		t.Errorf("current-context = %q after deleting it", got.CurrentContext)
	}
	if want := []string{"empty", "local"}; !reflect.DeepEqual(got.Names(), want) {
		t.Errorf("names = %q, want %q", got.Names(), want)
	}
	data, _ := os.ReadFile(path)
	if strings.Contains(string(data), "current-context") {
		t.Errorf("saved file still names a current context:\n%s", data)
	}
}

func TestRedacted(t *testing.T) {
	f := &File{CurrentContext: "a", Contexts: map[string]*Context{
		"a":   {URL: "redis://u:hunter2@h:6379/0", PasswordEnv: "P", ReadOnly: true, Label: "L"},
		"b":   {URL: "redis://h:6379"},
		"nil": nil,
	}}
	r := f.Redacted()
	if r.CurrentContext != "a" {
		t.Errorf("current = %q", r.CurrentContext)
	}
	want := map[string]*Context{
		"a":   {URL: "redis://u:***@h:6379/0", PasswordEnv: "P", ReadOnly: true, Label: "L"},
		"b":   {URL: "redis://h:6379"},
		"nil": {},
	}
	if !reflect.DeepEqual(r.Contexts, want) {
		t.Errorf("Redacted() = %s", dump(r))
	}
	// Deep copy: editing the copy leaves the original alone, and vice versa.
	r.Contexts["a"].Label = "changed"
	delete(r.Contexts, "b")
	if f.Contexts["a"].Label != "L" || f.Contexts["a"].URL != "redis://u:hunter2@h:6379/0" || f.Contexts["b"] == nil {
		t.Errorf("Redacted() shares memory with the original")
	}
	var nilFile *File
	if got := nilFile.Redacted(); got == nil || len(got.Contexts) != 0 {
		t.Errorf("nil.Redacted() = %v", got)
	}
}

func TestSSHBlockRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	in := "contexts:\n  prod:\n    url: redis://10.0.0.5:6379/0\n    ssh:\n      host: bastion\n      user: deploy\n      port: 2222\n      identity_files:\n        - ~/.ssh/prod\n      known_hosts:\n        - ~/.ssh/known_hosts_prod\n      proxy_jump: gw1,gw2\n"
	if err := os.WriteFile(path, []byte(in), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	got := f.Contexts["prod"].SSH
	want := &SSH{Host: "bastion", User: "deploy", Port: 2222, IdentityFiles: []string{"~/.ssh/prod"}, KnownHosts: []string{"~/.ssh/known_hosts_prod"}, ProxyJump: "gw1,gw2"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("ssh = %+v, want %+v", got, want)
	}
	if err := f.Save(path); err != nil {
		t.Fatal(err)
	}
	again, _ := os.ReadFile(path)
	if !strings.Contains(string(again), "ssh:\n      host: bastion\n") || !strings.Contains(string(again), "proxy_jump: gw1,gw2") {
		t.Fatalf("saved:\n%s", again)
	}
	// A setting that skips host key checks is no setting at all.
	if err := os.WriteFile(path, []byte("contexts:\n  p:\n    url: redis://h\n    ssh:\n      host: b\n      insecure_ignore_host_key: true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), `unknown key "insecure_ignore_host_key"`) {
		t.Fatalf("err = %v", err)
	}
}
