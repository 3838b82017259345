package keystore

import "strings"

// The tree view orders labels naturally, as people read numbers: "2" < "18" < "19" <
// "20", "v9" < "v10". A run of ASCII digits compares by its value (shorter once leading
// zeros are dropped is smaller, then digit by digit); any other byte compares as a
// byte, a digit run counting as the digit byte it starts with. Labels equal by that
// rule ("01", "1") fall back to byte order, so distinct labels never tie and the order
// is total.
//
// Why "tree order" is still one order of the full keys: a branch's prefix ends with the
// delimiter, so when that ends in a non-digit no digit run spans a prefix and its
// label, and comparing two full keys below one branch is comparing their labels. A
// delimiter ending in a digit would break that, so such a tree keeps byte order.

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// naturalOrder reports whether a tree split on delim can order labels naturally.
func naturalOrder(delim string) bool { return delim == "" || !isDigit(delim[len(delim)-1]) }

// natCompare returns -1, 0 or +1 as a sorts before, equal to or after b naturally.
func natCompare(a, b string) int {
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		ca, cb := a[i], b[j]
		if !isDigit(ca) || !isDigit(cb) {
			if ca != cb {
				if ca < cb {
					return -1
				}
				return 1
			}
			i++
			j++
			continue
		}
		// Both at a digit run: drop leading zeros, then the longer number is larger.
		for i < len(a) && a[i] == '0' {
			i++
		}
		for j < len(b) && b[j] == '0' {
			j++
		}
		ei, ej := i, j
		for ei < len(a) && isDigit(a[ei]) {
			ei++
		}
		for ej < len(b) && isDigit(b[ej]) {
			ej++
		}
		if la, lb := ei-i, ej-j; la != lb {
			if la < lb {
				return -1
			}
			return 1
		}
		if c := strings.Compare(a[i:ei], b[j:ej]); c != 0 {
			return c
		}
		i, j = ei, ej
	}
	switch {
	case i < len(a):
		return 1
	case j < len(b):
		return -1
	}
	return strings.Compare(a, b)
}

// natHead is head for natural order: the first 8 bytes of the label with each digit
// run written as '0', its length without leading zeros, and those digits. Encoded like
// that, unequal heads order labels as natCompare does (a digit run sits between the
// bytes below '0' and above '9', shorter numbers first), so most comparisons in a big
// list read no key bytes even when the labels are numbers. Equal heads say nothing and
// fall back to natCompare.
func natHead(s string) uint64 {
	var h [8]byte
	n := 0
	for i := 0; i < len(s) && n < len(h); {
		if !isDigit(s[i]) {
			h[n] = s[i]
			n++
			i++
			continue
		}
		for i < len(s) && s[i] == '0' {
			i++
		}
		e := i
		for e < len(s) && isDigit(s[e]) {
			e++
		}
		h[n] = '0'
		n++
		if n == len(h) {
			break
		}
		if e-i >= 0xff {
			h[n] = 0xff // a number this long: the rest of the head says nothing
			break
		}
		h[n] = byte(e - i)
		n++
		n += copy(h[n:], s[i:e])
		i = e
	}
	var v uint64
	for _, c := range h {
		v = v<<8 | uint64(c)
	}
	return v
}

// compare orders two labels, or two full keys, as this tree shows them.
func (t *tree) compare(a, b string) int {
	if t.natural {
		return natCompare(a, b)
	}
	return strings.Compare(a, b)
}

// headOf returns the head of a label for this tree's order.
func (t *tree) headOf(s string) uint64 {
	if t.natural {
		return natHead(s)
	}
	return head(s)
}
