package serial

import (
	"math/big"

	"github.com/cachectl/cachectl/internal/serial/internal/serialtest"
)

// Short names for the tree builders the tests here use.

func str(s string) *Value      { return serialtest.Str(s) }
func dict(kv ...*Value) *Value { return serialtest.Dict(kv...) }
func bigPow2(n uint) *big.Int  { return serialtest.BigPow2(n) }
