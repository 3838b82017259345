package httpresp

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/cachectl/cachectl/internal/serial"
)

// FuzzFrom: whatever bytes a cache holds, detection then From, RenderText
// and JSON never panic, JSON is valid, and the body stays within the cap.
func FuzzFrom(f *testing.F) {
	f.Add(litestarRef(f))
	files, err := filepath.Glob(filepath.Join("testdata", "*.*"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	const limit = 1 << 20
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := serial.Decode(b, serial.DecodeOptions{MaxInflate: limit})
		if err != nil {
			t.Fatal(err)
		}
		r, ok := FromWith(d.Value, Options{MaxInflate: limit})
		if !ok {
			return
		}
		if len(r.Body) > limit {
			t.Fatalf("body of %d bytes over the %d cap", len(r.Body), limit)
		}
		for _, opts := range []serial.TextOptions{{}, {MaxItems: 3, MaxBytes: 16, Style: ansiStyle}} {
			if _, err := r.RenderText(io.Discard, opts); err != nil {
				t.Fatal(err)
			}
		}
		if js := r.JSON(); !json.Valid(js) {
			t.Fatalf("invalid JSON: %s", js)
		}
	})
}
