package value

import (
	"fmt"
	"strings"
	"time"

	"github.com/cachectl/cachectl/internal/pyrepr"
)

// DateTime holds the fields of a Python datetime, date or time. Python keeps
// the wall-clock fields plus a tzinfo object; the offset of a named zone is
// not stored in a pickle, so a named zone may come without an offset.
type DateTime struct {
	Year, Month, Day                  int // KindDateTime, KindDate
	Hour, Minute, Second, Microsecond int // KindDateTime, KindTime
	Fold                              bool
	HasOffset                         bool          // aware, with a known UTC offset
	Offset                            time.Duration // east of UTC, when HasOffset
	Zone                              string        // named zone ("Europe/Paris"), "" when none
}

// TimeDelta is a Python timedelta, normalized like Python's:
// 0 <= Seconds < 86400, 0 <= Microseconds < 1000000, Days carries the sign.
type TimeDelta struct {
	Days         int64
	Seconds      int64
	Microseconds int64
}

// NormalizeTimeDelta carries microseconds into seconds and seconds into days
// with floor division, as Python's timedelta constructor does.
func NormalizeTimeDelta(days, seconds, microseconds int64) TimeDelta {
	s, us := floorDivMod(microseconds, 1_000_000)
	seconds += s
	d, sec := floorDivMod(seconds, 86400)
	return TimeDelta{Days: days + d, Seconds: sec, Microseconds: us}
}

func floorDivMod(a, b int64) (q, r int64) {
	q, r = a/b, a%b
	if r < 0 {
		q--
		r += b
	}
	return q, r
}

// isoDate is Python's date.isoformat().
func (dt *DateTime) isoDate() string {
	return fmt.Sprintf("%04d-%02d-%02d", dt.Year, dt.Month, dt.Day)
}

// isoTime is Python's time.isoformat() followed by the zone name in the
// bracketed suffix of RFC 9557 when the zone is named.
func (dt *DateTime) isoTime() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%02d:%02d:%02d", dt.Hour, dt.Minute, dt.Second)
	if dt.Microsecond != 0 {
		fmt.Fprintf(&b, ".%06d", dt.Microsecond)
	}
	if dt.HasOffset {
		b.WriteString(ISOOffset(dt.Offset))
	}
	if dt.Zone != "" {
		b.WriteString("[" + dt.Zone + "]")
	}
	return b.String()
}

// ISOOffset formats a UTC offset like Python's isoformat: +HH:MM, with :SS and
// .ffffff only when needed.
func ISOOffset(off time.Duration) string {
	sign := "+"
	if off < 0 {
		sign = "-"
		off = -off
	}
	us := off.Microseconds()
	h, m, s, frac := us/3_600_000_000, us/60_000_000%60, us/1_000_000%60, us%1_000_000
	out := fmt.Sprintf("%s%02d:%02d", sign, h, m)
	if s != 0 || frac != 0 {
		out += fmt.Sprintf(":%02d", s)
		if frac != 0 {
			out += fmt.Sprintf(".%06d", frac)
		}
	}
	return out
}

// ISOTemporal returns the ISO 8601 text of a DateTime, Date or Time node's
// value (Python's isoformat(), plus "[Zone]" as in RFC 9557 for a named zone).
func ISOTemporal(k Kind, dt *DateTime) string {
	switch k {
	case KindDate:
		return dt.isoDate()
	case KindTime:
		return dt.isoTime()
	default:
		return dt.isoDate() + "T" + dt.isoTime()
	}
}

// ISO returns the duration as ISO 8601 "[-]PnDTnHnMn.nS": days stay days
// (never folded into months or weeks), zero parts are left out, the seconds
// fraction has no trailing zeros, a negative duration gets a leading minus
// (Python: timedelta(days=-1, seconds=86399) is "-PT1S"), zero is "PT0S".
func (td TimeDelta) ISO() string {
	days, secs, us := td.Days, td.Seconds, td.Microseconds
	neg := days < 0
	if neg {
		// total = days*86400 + secs + us/1e6 < 0; negate part by part.
		total := days*86400 + secs
		if us > 0 {
			total, us = -total-1, 1_000_000-us
		} else {
			total = -total
		}
		days, secs = total/86400, total%86400
	}
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	b.WriteByte('P')
	if days != 0 {
		fmt.Fprintf(&b, "%dD", days)
	}
	h, m, s := secs/3600, secs/60%60, secs%60
	if h == 0 && m == 0 && s == 0 && us == 0 {
		if days == 0 {
			b.WriteString("T0S")
		}
		return b.String()
	}
	b.WriteByte('T')
	if h != 0 {
		fmt.Fprintf(&b, "%dH", h)
	}
	if m != 0 {
		fmt.Fprintf(&b, "%dM", m)
	}
	if s != 0 || us != 0 {
		fmt.Fprintf(&b, "%d", s)
		if us != 0 {
			b.WriteString(strings.TrimRight(fmt.Sprintf(".%06d", us), "0"))
		}
		b.WriteByte('S')
	}
	return b.String()
}

// Repr is Python's repr(timedelta).
func (td TimeDelta) Repr() string {
	var args []string
	if td.Days != 0 {
		args = append(args, fmt.Sprintf("days=%d", td.Days))
	}
	if td.Seconds != 0 {
		args = append(args, fmt.Sprintf("seconds=%d", td.Seconds))
	}
	if td.Microseconds != 0 {
		args = append(args, fmt.Sprintf("microseconds=%d", td.Microseconds))
	}
	if len(args) == 0 {
		args = append(args, "0")
	}
	return "datetime.timedelta(" + strings.Join(args, ", ") + ")"
}

// tzRepr is the repr of the tzinfo: zoneinfo.ZoneInfo for a named zone,
// datetime.timezone for a fixed offset; "" for a naive value.
func (dt *DateTime) tzRepr() string {
	switch {
	case dt.Zone != "":
		return "zoneinfo.ZoneInfo(key=" + pyrepr.Str(dt.Zone) + ")"
	case !dt.HasOffset:
		return ""
	case dt.Offset == 0:
		return "datetime.timezone.utc"
	default:
		return "datetime.timezone(" + NormalizeTimeDelta(0, 0, dt.Offset.Microseconds()).Repr() + ")"
	}
}

// ReprTemporal is Python's repr of a datetime, date or time.
func ReprTemporal(k Kind, dt *DateTime) string {
	var b strings.Builder
	switch k {
	case KindDate:
		fmt.Fprintf(&b, "datetime.date(%d, %d, %d)", dt.Year, dt.Month, dt.Day)
		return b.String()
	case KindTime:
		fmt.Fprintf(&b, "datetime.time(%d, %d", dt.Hour, dt.Minute)
	default:
		fmt.Fprintf(&b, "datetime.datetime(%d, %d, %d, %d, %d", dt.Year, dt.Month, dt.Day, dt.Hour, dt.Minute)
	}
	switch {
	case dt.Microsecond != 0:
		fmt.Fprintf(&b, ", %d, %d", dt.Second, dt.Microsecond)
	case dt.Second != 0:
		fmt.Fprintf(&b, ", %d", dt.Second)
	}
	// CPython's C implementation puts fold before tzinfo for datetime and
	// after it for time.
	tz := dt.tzRepr()
	if dt.Fold && k == KindDateTime {
		b.WriteString(", fold=1")
	}
	if tz != "" {
		b.WriteString(", tzinfo=" + tz)
	}
	if dt.Fold && k == KindTime {
		b.WriteString(", fold=1")
	}
	b.WriteByte(')')
	return b.String()
}
