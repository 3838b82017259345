package pickle

import (
	"github.com/cachectl/cachectl/internal/serial/internal/serialtest"
	"github.com/cachectl/cachectl/internal/serial/value"
)

// Short names for the tree builders the tests here use.

func dict(kv ...*value.Value) *value.Value   { return serialtest.Dict(kv...) }
func kv(k string, v *value.Value) value.Pair { return serialtest.KV(k, v) }
func strs(ss ...string) []*value.Value       { return serialtest.Strs(ss...) }
