package serial

import (
	"strings"
	"testing"

	"github.com/cachectl/cachectl/internal/serial/internal/serialtest"
	"github.com/cachectl/cachectl/internal/serial/msgpack"
	"github.com/cachectl/cachectl/internal/serial/pickle"
)

// TestValueStringMatchesRenderText: Value.String (package value) is the text
// RenderText writes with every container on one line, for every tree the
// vectors decode to and the hand-built kinds no decoder makes.
func TestValueStringMatchesRenderText(t *testing.T) {
	var trees []*Value
	for _, vec := range serialtest.LoadPickleVectors(t) {
		if v, err := pickle.Decode(vec.Data, pickle.DefaultLimits); err == nil {
			trees = append(trees, v)
		}
	}
	for _, vec := range serialtest.ReadJSONL[serialtest.MsgpackVector](t, "msgpack.jsonl") {
		if v, err := msgpack.Decode(serialtest.Unhex(t, vec.Hex), msgpack.Limits{}); err == nil {
			trees = append(trees, v)
		}
	}
	deep := NewList()
	for i := 0; i < 2*renderDepthLimit; i++ {
		deep = NewList(deep)
	}
	trees = append(trees, nil, deep, NewTruncated(1), NewTuple(NewStr("x")), NewSet(), NewFrozenSet(),
		NewObject("app.A", nil, NewInt(5)), NewGlobal("builtins.list"), &Value{Kind: kindShape},
		&Value{Kind: KindDateTime}, &Value{Kind: KindTimeDelta},
		NewDict(Pair{Key: NewTruncated(3), Value: None()}), &Value{Kind: KindDict, Str: "collections.defaultdict",
			Items: []*Value{NewGlobal("builtins.list")}, Pairs: []Pair{{Key: NewStr("a"), Value: NewList()}}})
	if len(trees) < 500 {
		t.Fatalf("only %d trees", len(trees))
	}
	for _, v := range trees {
		var out strings.Builder
		if _, err := RenderText(&out, Decoded{Format: FormatPickle, Value: v}, TextOptions{Width: -1}); err != nil {
			t.Fatal(err)
		}
		if got, want := v.String(), strings.TrimSuffix(out.String(), "\n"); got != want {
			t.Errorf("String() =\n%.300s\nRenderText =\n%.300s", got, want)
		}
	}
}
