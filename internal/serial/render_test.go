package serial

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/cachectl/cachectl/internal/role"
	"github.com/cachectl/cachectl/internal/serial/internal/serialtest"
)

func sgrStyle(codes map[role.Role]string) role.Styler { return serialtest.SGRStyle(codes) }

var ansiStyle = serialtest.ANSIStyle()

func render(t *testing.T, d Decoded, opts TextOptions) (string, bool) {
	t.Helper()
	var buf bytes.Buffer
	truncated, err := RenderText(&buf, d, opts)
	if err != nil {
		t.Fatalf("RenderText: %v", err)
	}
	return buf.String(), truncated
}

func detect(s string) Decoded { return Detect([]byte(s)) }

func TestRenderTextByFormat(t *testing.T) {
	tests := []struct {
		name string
		d    Decoded
		want string
	}{
		{"string prints as itself", detect("hello world"), "hello world\n"},
		{"empty string prints an empty line", detect(""), "\n"},
		{"multi-line string keeps newlines and tabs", detect("a\tb\nc"), "a\tb\nc\n"},
		{"terminal escapes in a string are escaped", detect("\x1b[31mred\x07\r"), `\x1b[31mred\x07\r` + "\n"},
		{"bidi override in a string is escaped", detect("a\u202eb"), `a\u202eb` + "\n"},
		{"int prints its digits", detect("007"), "7\n"},
		{"big int prints its digits", Decoded{Format: FormatInt, Value: NewBigInt(bigPow2(100))}, "1267650600228229401496703205376\n"},
		{"bytes print as a Python literal", detect("\xff\x00abc'\n"), `b"\xff\x00abc'\n"` + "\n"},
		{"bytes fallback with a reason prints only the bytes",
			Decoded{Format: FormatBytes, Value: NewBytes([]byte("{x")), Err: errors.New("not valid JSON")}, "b'{x'\n"},
		{"JSON scalar", detect("123"), "123\n"},
		{"JSON top-level string keeps its quotes", detect(`"hi"`), "\"hi\"\n"},
		{"JSON float", detect("1E2"), "100.0\n"},
		{"JSON NaN as Python writes it", detect("[NaN,-Infinity]"), "[\n  NaN,\n  -Infinity\n]\n"},
		{"JSON empty containers", detect(`{"a":{},"b":[]}`), "{\n  \"a\": {},\n  \"b\": []\n}\n"},
		{"JSON indented like json.tool, order kept, non-ASCII as is",
			detect(`{"z":{"id":1,"tags":["a","é"]},"a":null,"t":true}`),
			"{\n  \"z\": {\n    \"id\": 1,\n    \"tags\": [\n      \"a\",\n      \"é\"\n    ]\n  },\n  \"a\": null,\n  \"t\": true\n}\n"},
		{"JSON strings escape control characters", detect(`["\u001b[31m\n"]`), "[\n  \"\\u001b[31m\\n\"\n]\n"},
		{"non-JSON node in a JSON value uses the JSON mapping",
			Decoded{Format: FormatJSON, Value: NewList(NewBytes([]byte("hi")))}, "[\n  {\n    \"$bytes\": \"aGk=\"\n  }\n]\n"},
		{"nil value", Decoded{}, "None\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, truncated := render(t, tt.d, TextOptions{})
			if got != tt.want {
				t.Errorf("RenderText =\n%q\nwant\n%q", got, tt.want)
			}
			if truncated {
				t.Error("truncated = true without bounds")
			}
		})
	}
}

func TestRenderPythonForm(t *testing.T) {
	v := dict(
		str("list"), NewList(NewInt(1), NewFloat(2.0), None(), NewBool(true)),
		str("long"), NewList(str(strings.Repeat("word ", 10)), str(strings.Repeat("word ", 10)), NewTuple(NewInt(1))),
		str("obj"), NewObject("app.models.User", nil, dict(
			str("id"), NewInt(7),
			str("email"), str("someone@example.com"),
			str("created"), NewDateTime(DateTime{Year: 2024, Month: 1, Day: 2, Hour: 3, Minute: 4, HasOffset: true}))),
		NewTuple(NewInt(1), NewInt(2)), NewSet(NewInt(1), NewInt(2)),
	)
	want := `{
  'list': [1, 2.0, None, True],
  'long': [
    'word word word word word word word word word word ',
    'word word word word word word word word word word ',
    (1,),
  ],
  'obj': app.models.User{
    'id': 7,
    'email': 'someone@example.com',
    'created': datetime.datetime(2024, 1, 2, 3, 4, tzinfo=datetime.timezone.utc),
  },
  (1, 2): {1, 2},
}
`
	got, _ := render(t, Decoded{Format: "pickle", Value: v}, TextOptions{})
	if got != want {
		t.Errorf("Python form =\n%s\nwant\n%s", got, want)
	}
	// A small value stays on one line.
	got, _ = render(t, Decoded{Format: "pickle", Value: NewTuple(str("a"), NewBytes([]byte("b")))}, TextOptions{})
	if got != "('a', b'b')\n" {
		t.Errorf("small tuple = %q", got)
	}
	// Indent and Width are honoured.
	got, _ = render(t, Decoded{Format: "pickle", Value: NewList(NewInt(1), NewInt(2))}, TextOptions{Indent: 4, Width: 5})
	if got != "[\n    1,\n    2,\n]\n" {
		t.Errorf("narrow list with indent 4 = %q", got)
	}
}

func TestRenderBounds(t *testing.T) {
	list := make([]*Value, 10)
	for i := range list {
		list[i] = NewInt(int64(i))
	}
	tests := []struct {
		name      string
		d         Decoded
		opts      TextOptions
		want      string
		truncated bool
	}{
		{"JSON list cut after MaxItems", Decoded{Format: FormatJSON, Value: NewList(list...)}, TextOptions{MaxItems: 3},
			"[\n  0,\n  1,\n  2,\n  … (7 more items)\n]\n", true},
		{"JSON object cut after MaxItems", detect(`{"a":1,"b":2,"c":3}`), TextOptions{MaxItems: 2},
			"{\n  \"a\": 1,\n  \"b\": 2,\n  … (1 more item)\n}\n", true},
		{"MaxItems equal to the length cuts nothing", Decoded{Format: FormatJSON, Value: NewList(list...)}, TextOptions{MaxItems: 10},
			"[\n  0,\n  1,\n  2,\n  3,\n  4,\n  5,\n  6,\n  7,\n  8,\n  9\n]\n", false},
		{"Python list cut after MaxItems", Decoded{Format: "pickle", Value: NewList(list...)}, TextOptions{MaxItems: 2},
			"[0, 1, … (8 more items)]\n", true},
		{"Python dict cut after MaxItems", Decoded{Format: "pickle", Value: dict(NewInt(1), NewInt(1), NewInt(2), NewInt(2))}, TextOptions{MaxItems: 1},
			"{1: 1, … (1 more item)}\n", true},
		{"plain string cut after MaxBytes", detect(strings.Repeat("x", 3000)), TextOptions{MaxBytes: 10},
			"xxxxxxxxxx… (2.9 KiB more)\n", true},
		{"string cut at a character boundary", detect("ééé"), TextOptions{MaxBytes: 3},
			"é… (4 bytes more)\n", true},
		{"JSON string cut after MaxBytes", detect(`["abcdef"]`), TextOptions{MaxBytes: 2},
			"[\n  \"ab\"… (4 bytes more)\n]\n", true},
		{"bytes cut after MaxBytes", detect("\xff\xff\xff"), TextOptions{MaxBytes: 2},
			"b'\\xff\\xff'… (1 byte more)\n", true},
		{"decoder truncation shows a marker but is not a render cut", Decoded{Format: "pickle", Value: NewList(NewInt(1), NewTruncated(5))}, TextOptions{},
			"[1, … (5 more items)]\n", false},
		{"decoder truncation in a JSON-form dict", Decoded{Format: FormatJSON, Value: dict(str("a"), NewInt(1), NewTruncated(2), None())}, TextOptions{},
			"{\n  \"a\": 1,\n  … (2 more items)\n}\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, truncated := render(t, tt.d, tt.opts)
			if got != tt.want {
				t.Errorf("RenderText =\n%q\nwant\n%q", got, tt.want)
			}
			if truncated != tt.truncated {
				t.Errorf("truncated = %v, want %v", truncated, tt.truncated)
			}
		})
	}
}

func TestHumanBytes(t *testing.T) {
	for n, want := range map[int64]string{1: "1 byte", 2: "2 bytes", 1023: "1023 bytes", 1024: "1.0 KiB", 5325: "5.2 KiB", 3 << 20: "3.0 MiB", 5 << 30: "5.0 GiB"} {
		if got := HumanBytes(n); got != want {
			t.Errorf("HumanBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestRenderColour(t *testing.T) {
	rich := dict(str("s"), str("x"), str("n"), NewFloat(1.5), str("b"), NewBool(true), str("z"), None(),
		str("l"), NewList(NewInt(1), NewTruncated(2)), str("o"), NewObject("m.C", nil, nil))
	inputs := []Decoded{
		detect(`{"s":"x","n":1.5,"b":true,"z":null,"l":[1]}`),
		{Format: "pickle", Value: rich},
		detect("007"),
		detect("text"),
		detect("\xff"),
	}
	for _, d := range inputs {
		plain, _ := render(t, d, TextOptions{MaxItems: 1, MaxBytes: 1})
		if strings.IndexByte(plain, 0x1b) >= 0 {
			t.Errorf("%s value without Style has an ESC byte: %q", d.Format, plain)
		}
	}
	got, _ := render(t, inputs[0], TextOptions{Style: ansiStyle})
	want := "{\n  \x1b[36m\"s\"\x1b[0m: \x1b[32m\"x\"\x1b[0m,\n  \x1b[36m\"n\"\x1b[0m: \x1b[33m1.5\x1b[0m,\n" +
		"  \x1b[36m\"b\"\x1b[0m: \x1b[35mtrue\x1b[0m,\n  \x1b[36m\"z\"\x1b[0m: \x1b[35mnull\x1b[0m,\n  \x1b[36m\"l\"\x1b[0m: [\n    \x1b[33m1\x1b[0m\n  ]\n}\n"
	if got != want {
		t.Errorf("coloured JSON =\n%q\nwant\n%q", got, want)
	}
	got, _ = render(t, Decoded{Format: "pickle", Value: NewList(None(), str("a"))}, TextOptions{Style: ansiStyle})
	if got != "[\x1b[35mNone\x1b[0m, \x1b[32m'a'\x1b[0m]\n" {
		t.Errorf("coloured Python form = %q", got)
	}
	// Colour never changes the line breaking: escapes take no columns.
	long := NewList(str(strings.Repeat("a", 30)), str(strings.Repeat("b", 30)))
	plain, _ := render(t, Decoded{Format: "pickle", Value: long}, TextOptions{})
	coloured, _ := render(t, Decoded{Format: "pickle", Value: long}, TextOptions{Style: ansiStyle})
	if strings.Count(plain, "\n") != strings.Count(coloured, "\n") {
		t.Errorf("colour changed line breaks:\n%s\n%s", plain, coloured)
	}
	// A plain string is never coloured, so the text stays exact.
	got, _ = render(t, detect("text"), TextOptions{Style: ansiStyle})
	if got != "text\n" {
		t.Errorf("coloured plain string = %q", got)
	}
	// A custom style.
	got, _ = render(t, detect("1"), TextOptions{Style: sgrStyle(map[role.Role]string{role.Number: "1;34"})})
	if got != "\x1b[1;34m1\x1b[0m\n" {
		t.Errorf("custom palette = %q", got)
	}
}

func TestRenderDeepAndWideValuesStaySmallAndFast(t *testing.T) {
	// Nesting at the decoder's limit: output grows with depth², which MaxDepth keeps small.
	deep := strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth)
	out, _ := render(t, detect(deep), TextOptions{})
	if len(out) > 4<<20 {
		t.Errorf("rendering depth %d gave %d bytes", MaxDepth, len(out))
	}
	var b strings.Builder
	b.WriteString("[")
	for i := 0; i < 100000; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`"` + strings.Repeat("y", 50) + `"`)
	}
	b.WriteString("]")
	d := detect(b.String())
	d.Format = "pickle" // the Python form tries one line first
	out, _ = render(t, d, TextOptions{})
	if strings.Count(out, "\n") != 100002 {
		t.Errorf("wide list rendered in %d lines", strings.Count(out, "\n"))
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

func TestRenderReportsWriteErrors(t *testing.T) {
	if _, err := RenderText(failingWriter{}, detect("x"), TextOptions{}); err == nil {
		t.Error("RenderText to a failing writer returned no error")
	}
}

func TestRenderTextEndsWithExactlyOneNewline(t *testing.T) {
	for in, want := range map[string]string{"": "\n", "a": "a\n", "a\nb\n": "a\nb\n", "a\n\n": "a\n\n", "x\n": "x\n"} {
		var b strings.Builder
		if _, err := RenderText(&b, Detect([]byte(in)), TextOptions{}); err != nil {
			t.Fatal(err)
		}
		if b.String() != want {
			t.Errorf("RenderText(%q) = %q, want %q", in, b.String(), want)
		}
	}
}

func TestRenderObjectClassNameIsEscaped(t *testing.T) {
	got, _ := render(t, Decoded{Format: "pickle", Value: NewObject("evil\x1b[2J.C", nil, nil)}, TextOptions{})
	if strings.IndexByte(got, 0x1b) >= 0 || !strings.Contains(got, `"evil\x1b[2J.C"()`) {
		t.Errorf("object with a control byte in its class name rendered as %q", got)
	}
}
