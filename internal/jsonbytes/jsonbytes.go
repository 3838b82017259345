// Package jsonbytes maps byte strings to JSON the way cachectl does
// everywhere (keys and values in -o json, dump files, the HTTP protocol): a
// JSON string when the bytes are valid UTF-8, else {"$bytes": "<base64>"}.
package jsonbytes

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"
)

// Bytes is a byte string in that JSON form.
type Bytes []byte

// MarshalJSON writes a string or {"$bytes": base64}.
func (b Bytes) MarshalJSON() ([]byte, error) {
	if utf8.Valid(b) {
		return json.Marshal(string(b))
	}
	return json.Marshal(map[string]string{"$bytes": base64.StdEncoding.EncodeToString(b)})
}

// UnmarshalJSON reads a string or {"$bytes": base64}.
func (b *Bytes) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err == nil {
		*b = []byte(s)
		return nil
	}
	var o struct {
		Bytes *string `json:"$bytes"`
	}
	if err := json.Unmarshal(data, &o); err != nil || o.Bytes == nil {
		return errors.New(`want a string or {"$bytes": base64}`)
	}
	v, err := base64.StdEncoding.DecodeString(*o.Bytes)
	if err != nil {
		return fmt.Errorf("bad base64: %w", err)
	}
	*b = v
	return nil
}
