package render

import (
	"errors"
	"strings"
	"testing"

	"github.com/cachectl/cachectl/internal/backends"
	"github.com/cachectl/cachectl/internal/role"
)

func collection(t *testing.T, c *backends.Collection, opts CollectionOptions) string {
	t.Helper()
	var b strings.Builder
	if err := Collection(&b, c, opts); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// tagged shows each role in the text, so a test sees what is styled how.
func tagged(r role.Role, s string) string { return "<" + r.String() + ">" + s + "</>" }

func TestCollectionByKind(t *testing.T) {
	items := func(vs ...string) []backends.Item {
		var out []backends.Item
		for _, v := range vs {
			out = append(out, backends.Item{Value: []byte(v)})
		}
		return out
	}
	tests := []struct {
		name          string
		c             backends.Collection
		plain, styled string
	}{
		{"hash", backends.Collection{Kind: "hash", Length: 2, Items: []backends.Item{
			{Field: []byte("f1"), Value: []byte("v1")}, {Field: []byte("f 2"), Value: []byte("")}}},
			"f1: v1\nf 2: \"\"\n",
			"<key>f1</>: v1\n<key>f 2</>: \"\"\n"},
		{"list", backends.Collection{Kind: "list", Length: 2, Items: items("a", "b")},
			"0) a\n1) b\n",
			"<index>0)</> a\n<index>1)</> b\n"},
		{"set", backends.Collection{Kind: "set", Length: 1, Items: items("only")},
			"only\n", "only\n"},
		{"zset", backends.Collection{Kind: "zset", Length: 2, Items: []backends.Item{
			{Value: []byte("m"), Score: 1.5}, {Value: []byte("n"), Score: 1e21}}},
			"1.5 m\n1e+21 n\n",
			"<number>1.5</> m\n<number>1e+21</> n\n"},
		{"stream", backends.Collection{Kind: "stream", Length: 1, Items: []backends.Item{
			{ID: "1-0", Fields: []backends.FieldValue{{Field: []byte("f"), Value: []byte("v")}, {Field: []byte("g"), Value: []byte("w")}}}}},
			"1-0 f=v g=w\n",
			"<index>1-0</> <key>f</>=v <key>g</>=w\n"},
		{"module type", backends.Collection{Kind: "ReJSON-RL"},
			"(values of type ReJSON-RL cannot be shown)\n",
			"<note>(values of type ReJSON-RL cannot be shown)</>\n"},
		{"shortened", backends.Collection{Kind: "list", Length: 150, Truncated: true, Items: items("a")},
			"0) a\n… showing 1 of 150 elements\n",
			"<index>0)</> a\n<note>… showing 1 of 150 elements</>\n"},
		{"empty stream (XDEL of its last entry)", backends.Collection{Kind: "stream"}, "(empty stream)\n", "<note>(empty stream)</>\n"},
	}
	for _, tt := range tests {
		if got := collection(t, &tt.c, CollectionOptions{}); got != tt.plain {
			t.Errorf("%s plain = %q, want %q", tt.name, got, tt.plain)
		}
		if got := collection(t, &tt.c, CollectionOptions{Style: tagged}); got != tt.styled {
			t.Errorf("%s styled = %q, want %q", tt.name, got, tt.styled)
		}
	}
}

// The dashboard, where strings can be edited, says a collection is read-only.
func TestCollectionReadOnlyNote(t *testing.T) {
	c := &backends.Collection{Kind: "set", Length: 3, Truncated: true, Items: []backends.Item{{Value: []byte("a")}}}
	if got := collection(t, c, CollectionOptions{ReadOnly: true}); got != "a\n… showing 1 of 3 elements (read-only view)\n" {
		t.Errorf("got %q", got)
	}
}

// Whatever the server sends — fields, members, stream IDs, a type name —
// reaches the terminal escaped.
func TestCollectionEscapesServerBytes(t *testing.T) {
	bad := "x\x1b[2J\u202e"
	for _, c := range []*backends.Collection{
		{Kind: "hash", Length: 1, Items: []backends.Item{{Field: []byte(bad), Value: []byte(bad)}}},
		{Kind: "set", Length: 1, Items: []backends.Item{{Value: []byte("\xff" + bad)}}},
		{Kind: "stream", Length: 1, Items: []backends.Item{{ID: bad, Fields: []backends.FieldValue{{Field: []byte(bad), Value: []byte(bad)}}}}},
		{Kind: bad},
	} {
		got := collection(t, c, CollectionOptions{})
		if strings.ContainsAny(got, "\x1b\u202e\xff") || !strings.Contains(got, `x\x1b[2J\u202e"`) {
			t.Errorf("%s rendered as %q", c.Kind, got)
		}
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

func TestCollectionReportsWriteErrors(t *testing.T) {
	if err := Collection(failingWriter{}, &backends.Collection{Kind: "set"}, CollectionOptions{}); err == nil {
		t.Error("no error from a failing writer")
	}
}
