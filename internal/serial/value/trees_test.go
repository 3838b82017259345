package value_test

import (
	"math/big"

	"github.com/cachectl/cachectl/internal/serial/internal/serialtest"
	"github.com/cachectl/cachectl/internal/serial/value"
)

// Short names for the tree builders the tests here use.

func str(s string) *value.Value            { return serialtest.Str(s) }
func dict(kv ...*value.Value) *value.Value { return serialtest.Dict(kv...) }
func bigPow2(n uint) *big.Int              { return serialtest.BigPow2(n) }
