package httpresp

import (
	"sort"
	"strconv"
	"strings"

	"github.com/cachectl/cachectl/internal/serial"
)

// Cookies become Set-Cookie header values the way Python's http.cookies
// writes them (Morsel.OutputString), which both Django and Starlite use.

// morselNames are the attributes a Morsel accepts, with the names it writes.
var morselNames = map[string]string{
	"expires": "expires", "path": "Path", "comment": "Comment", "domain": "Domain", "max-age": "Max-Age",
	"secure": "Secure", "httponly": "HttpOnly", "version": "Version", "samesite": "SameSite",
}

type morselAttr struct {
	name string
	val  *serial.Value
}

// cookieMorsels returns the Set-Cookie values of a pickled
// http.cookies.SimpleCookie, in its order. The decoder shows the cookie (a
// dict subclass) as an object whose last argument is the dict SETITEMS
// filled, name -> Morsel; a Morsel is in turn an object with its attributes
// in that dict and {key, value, coded_value} as state (Morsel.__getstate__).
// What is not shaped like that is left out.
func cookieMorsels(c *serial.Value) []string {
	entries := objectDict(c)
	if entries == nil {
		return nil
	}
	var out []string
	for _, p := range entries.Pairs {
		m := p.Value
		if m == nil || m.Kind != serial.KindObject || m.State == nil {
			continue
		}
		key, ok1 := text(get(m.State, "key"))
		coded, ok2 := text(get(m.State, "coded_value"))
		if !ok1 || !ok2 {
			continue
		}
		var list []morselAttr
		if a := objectDict(m); a != nil {
			for _, q := range a.Pairs {
				if name, ok := text(q.Key); ok {
					list = append(list, morselAttr{name, q.Value})
				}
			}
		}
		out = append(out, morselString(key, coded, list))
	}
	return out
}

// objectDict returns the dict of a dict subclass: the dict itself, or the
// dict the decoder appended to an object's arguments.
func objectDict(v *serial.Value) *serial.Value {
	if v == nil {
		return nil
	}
	switch v.Kind {
	case serial.KindDict:
		return v
	case serial.KindObject:
		if n := len(v.Items); n > 0 && v.Items[n-1] != nil && v.Items[n-1].Kind == serial.KindDict {
			return v.Items[n-1]
		}
	}
	return nil
}

// starliteCookie is Cookie.to_header(header="") of a pickled Starlite
// cookie (a dataclass; a pydantic model keeps its fields in "__dict__"):
// a SimpleCookie morsel with every field but key, value, description and
// documentation_only that is not None.
func starliteCookie(v *serial.Value) (string, bool) {
	st := attrs(v)
	if d := get(st, "__dict__"); d != nil && d.Kind == serial.KindDict {
		st = d
	}
	key, ok := text(get(st, "key"))
	if !ok || st == nil {
		return "", false
	}
	value := ""
	if val := get(st, "value"); val != nil && val.Kind != serial.KindNone {
		value = pyStr(val)
	}
	var list []morselAttr
	for _, p := range st.Pairs {
		name, ok := text(p.Key)
		if !ok || p.Value == nil || p.Value.Kind == serial.KindNone {
			continue
		}
		switch name {
		case "key", "value", "description", "documentation_only":
			continue
		case "max_age":
			name = "max-age"
		}
		list = append(list, morselAttr{name, p.Value})
	}
	return morselString(key, cookieQuote(value), list), true
}

// morselString is Morsel.OutputString: key=coded_value, then the attributes
// sorted by name, leaving out empty ones and false flags. An int expires is
// written as it is (Python writes the date that many seconds from now).
func morselString(key, coded string, list []morselAttr) string {
	sort.SliceStable(list, func(i, j int) bool { return list[i].name < list[j].name })
	parts := []string{key + "=" + coded}
	for _, a := range list {
		v := a.val
		if v == nil || (v.Kind == serial.KindStr && v.Str == "") {
			continue
		}
		shown, ok := morselNames[a.name]
		if !ok {
			continue
		}
		switch {
		case a.name == "comment" && v.Kind == serial.KindStr:
			parts = append(parts, shown+"="+cookieQuote(v.Str))
		case a.name == "secure" || a.name == "httponly":
			if truthy(v) {
				parts = append(parts, shown)
			}
		default:
			parts = append(parts, shown+"="+pyStr(v))
		}
	}
	return strings.Join(parts, "; ")
}

// pyStr is Python's str() of a simple value.
func pyStr(v *serial.Value) string {
	switch v.Kind {
	case serial.KindStr:
		return v.Str
	case serial.KindInt:
		return v.IntString()
	case serial.KindBool:
		if v.Bool {
			return "True"
		}
		return "False"
	case serial.KindNone:
		return "None"
	}
	return v.String()
}

func truthy(v *serial.Value) bool {
	switch v.Kind {
	case serial.KindBool:
		return v.Bool
	case serial.KindInt:
		return v.Big != nil || v.Int != 0
	case serial.KindStr:
		return v.Str != ""
	case serial.KindNone:
		return false
	}
	return true
}

// cookieQuote is http.cookies._quote: a value made only of the legal
// characters stays as it is; anything else is double-quoted, with \" and \\,
// and octal escapes for controls, bytes 127-255, ',' and ';'.
func cookieQuote(s string) string {
	legal := s != ""
	for _, r := range s {
		if !legalCookieRune(r) {
			legal = false
			break
		}
	}
	if legal {
		return s
	}
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || (r >= 0x7f && r <= 0xff) || r == ',' || r == ';':
			b.WriteByte('\\')
			o := strconv.FormatInt(int64(r), 8)
			b.WriteString(strings.Repeat("0", 3-len(o)) + o)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func legalCookieRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
		strings.ContainsRune("!#$%&'*+-.^_`|~:", r)
}
