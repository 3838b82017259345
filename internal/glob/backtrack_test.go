package glob

// backtrackMatch is the matcher Match used before it went linear: Redis'
// stringmatchlen as a loop that backtracks to the last '*' alone. It is
// O(len(pattern)·len(key)) at worst, which is why it left; it stays here as
// a second, simpler reference that needs no recursion, so the property test
// can compare on inputs the recursive transcription is too slow for.
func backtrackMatch(p, k string, maxStars int) bool {
	if len(k) == 0 {
		return len(p) == 0
	}
	pi, ki := 0, 0
	starP, starK := -1, 0
	stars := 0
	for {
		if ki == len(k) {
			for pi < len(p) && p[pi] == '*' {
				pi++
			}
			return pi == len(p)
		}
		if pi < len(p) && p[pi] == '*' {
			for pi < len(p) && p[pi] == '*' {
				pi++
			}
			if pi == len(p) {
				return true
			}
			stars++
			if stars > maxStars {
				return false
			}
			starP, starK = pi, ki
			continue
		}
		if pi < len(p) {
			if ok, next := oldMatchOne(p, pi, k[ki]); ok {
				pi, ki = next, ki+1
				continue
			}
		}
		if starP < 0 {
			return false
		}
		starK++
		pi, ki = starP, starK
	}
}

// oldMatchOne and oldMatchClass are the element matchers backtrackMatch
// had, kept apart from the package's own so that a change there is caught.
func oldMatchOne(p string, i int, c byte) (ok bool, next int) {
	switch p[i] {
	case '?':
		return true, i + 1
	case '[':
		return oldMatchClass(p, i+1, c)
	case '\\':
		if i+1 < len(p) {
			return p[i+1] == c, i + 2
		}
		return c == '\\', i + 1
	default:
		return p[i] == c, i + 1
	}
}

func oldMatchClass(p string, i int, c byte) (ok bool, next int) {
	neg := i < len(p) && p[i] == '^'
	if neg {
		i++
	}
	hit := false
	for {
		switch {
		case i+1 < len(p) && p[i] == '\\':
			i++
			hit = hit || p[i] == c
		case i < len(p) && p[i] == ']':
			return hit != neg, i + 1
		case i >= len(p):
			return hit != neg, len(p)
		case i+2 < len(p) && p[i+1] == '-':
			lo, hi, b := int8(p[i]), int8(p[i+2]), int8(c)
			if lo > hi {
				lo, hi = hi, lo
			}
			hit = hit || (lo <= b && b <= hi)
			i += 2
		default:
			hit = hit || p[i] == c
		}
		i++
	}
}
