package dumpfile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cachectl/cachectl/internal/backends"
)

func write(t *testing.T, path, s string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), mode); err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func refused(t *testing.T, err error, want string) {
	t.Helper()
	var r *RefusedError
	if !errors.As(err, &r) || !strings.Contains(err.Error(), want) {
		t.Fatalf("%v, want a refusal saying %q", err, want)
	}
}

const oneLine = `{"key":"a","type":"string","ttl":null,"value":"1"}` + "\n"

func TestCreateNewIs0600AndRefusesAnExistingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bk.jsonl")
	f, err := Create(path, New)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(oneLine)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	// A re-run must not truncate the only copy of what the first run deleted.
	_, err = Create(path, New)
	refused(t, err, "refusing to overwrite")
	refused(t, Precheck(path, New), "refusing to overwrite")
	if read(t, path) != oneLine {
		t.Fatal("the existing file changed")
	}
	if err := Precheck(path, Append); err != nil {
		t.Fatal(err)
	}
}

func TestCreateRefusesLinksAndSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	write(t, target, "precious\n", 0o644)
	link := filepath.Join(dir, "link.jsonl")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	dangling := filepath.Join(dir, "dangling.jsonl")
	os.Symlink(filepath.Join(dir, "nowhere"), dangling)
	for _, m := range []Mode{New, Append, Replace} {
		_, err := Create(link, m)
		refused(t, err, "symbolic link")
		refused(t, Precheck(link, m), "symbolic link")
		_, err = Create(dangling, m)
		refused(t, err, "symbolic link")
	}
	if _, err := os.Stat(filepath.Join(dir, "nowhere")); !errors.Is(err, os.ErrNotExist) {
		t.Error("a dangling link's target was created")
	}
	if read(t, target) != "precious\n" {
		t.Fatal("the link's target changed")
	}
	_, err := Create(dir, Append)
	refused(t, err, "not a regular file")
}

func TestAppend(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "bk.jsonl")
	write(t, path, oneLine, 0o644)
	f, err := Create(path, Append)
	if err != nil {
		t.Fatal(err)
	}
	w := NewWriter(f)
	w.Write(Entry{Key: "b", Value: []byte("2")})
	w.Flush()
	f.Close()
	if got := read(t, path); got != oneLine+`{"key":"b","type":"string","ttl":null,"value":"2"}`+"\n" {
		t.Fatalf("appended file:\n%s", got)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v after append, want 0600", fi.Mode().Perm())
	}
	for name, content := range map[string]string{
		"not a dump":    "precious\n",
		"cut line":      oneLine + `{"key":"b","ty`,
		"bad line":      oneLine + `{"key":"b"}` + "\n",
		"not a regular": "",
	} {
		p := filepath.Join(dir, strings.ReplaceAll(name, " ", "_"))
		if name == "not a regular" {
			os.Mkdir(p, 0o700)
		} else {
			write(t, p, content, 0o600)
		}
		_, err := Create(p, Append)
		var r *RefusedError
		if !errors.As(err, &r) {
			t.Errorf("%s: %v, want refused", name, err)
		}
		if name != "not a regular" && read(t, p) != content {
			t.Errorf("%s: the file changed", name)
		}
	}
	// Killed while writing a collection: the parts are marked aborted and
	// the file reads whole again, then takes more entries.
	p := filepath.Join(dir, "killed.jsonl")
	write(t, p, oneLine+`{"key":"l","type":"list","ttl":null,"part":0,"more":true,"value":["x"]}`+"\n", 0o600)
	f, err = Create(p, Append)
	if err != nil {
		t.Fatal(err)
	}
	w = NewWriter(f)
	w.Write(Entry{Key: "c", Value: []byte("3"), TTL: backends.NoExpiry})
	w.Flush()
	f.Close()
	es, err := readAll(t, read(t, p))
	if err != nil || len(es) != 4 || !es[2].Aborted || es[2].Key != "l" || es[3].Key != "c" {
		t.Fatalf("%+v %v", es, err)
	}
}

func TestReplaceKeepsTheOldFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "d.jsonl")
	for i, content := range []string{"first\n", "second\n", "third\n"} {
		write(t, path, content, 0o600)
		f, err := Create(path, Replace)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString(oneLine)
		f.Close()
		want := path + ".~" + string(rune('1'+i)) + "~"
		if f.MovedAside != want || read(t, want) != content {
			t.Fatalf("moved aside to %q (want %q) holding %q", f.MovedAside, want, read(t, f.MovedAside))
		}
		os.Remove(path)
	}
}

// Two runs writing one backup at once would interleave their lines: the
// second is refused while the first holds the file, and may go once it closed.
func TestOneWriterAtATime(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "bk.jsonl")
	first, err := Create(path, New)
	if err != nil {
		t.Fatal(err)
	}
	var refused *RefusedError
	if _, err := Create(path, Append); !errors.As(err, &refused) || !strings.Contains(err.Error(), "another cachectl") {
		t.Fatalf("append while another writes: %v, want refused", err)
	}
	first.Close()
	second, err := Create(path, Append)
	if err != nil {
		t.Fatalf("append after the first closed: %v", err)
	}
	if _, err := Create(path, Append); !errors.As(err, &refused) {
		t.Fatalf("second append at once: %v, want refused", err)
	}
	second.Close()
}
