package redact

import (
	"strings"
	"testing"
)

func TestRedactTable(t *testing.T) {
	tests := []struct {
		name, in, want string
		secret         string // must not survive; "" = nothing secret
	}{
		{"empty", "", "", ""},
		{"no userinfo", "redis://redis.internal:6379/0", "redis://redis.internal:6379/0", ""},
		{"user only", "redis://app@redis.internal:6379/0", "redis://app@redis.internal:6379/0", ""},
		{"user and password", "redis://app:s3cret@redis.internal:6379/0", "redis://app:***@redis.internal:6379/0", "s3cret"},
		{"password only", "redis://:s3cret@h:6379", "redis://:***@h:6379", "s3cret"},
		{"empty password", "redis://u:@h", "redis://u:***@h", ""},
		{"rediss", "rediss://default:pa55@h:6380?tls=1", "rediss://default:***@h:6380?tls=1", "pa55"},
		{"percent-encoded", "redis://u:p%40ss%2Fw@h", "redis://u:***@h", "p%40ss"},
		{"password with @", "redis://u:p@ss@h:6379/0", "redis://u:***@h:6379/0", "p@ss"},
		{"password with two @", "redis://u:a@b@c@h", "redis://u:***@h", "a@b@c"},
		{"password with /", "redis://u:ab/cd@h:6379/0", "redis://u:***@h:6379/0", "ab/cd"},
		{"password with #", "redis://u:ab#cd@h:6379", "redis://u:***@h:6379", "ab#cd"},
		{"password with ?", "redis://u:ab?cd@h", "redis://u:***@h", "ab?cd"},
		{"password with :", "redis://u:a:b:c@h:6379", "redis://u:***@h:6379", "a:b:c"},
		{"password with ://", "redis://u:x://y@h", "redis://u:***@h", "x://y"},
		{"password with space", "redis://u:a b@h", "redis://u:***@h", "a b"},
		{"digits password with # parses as host", "redis://u:12#34@h", "redis://u:***@h", "12#34"},
		{"digits password with / parses as host", "redis://u:12/34@h", "redis://u:***@h", "12/34"},
		{"username with @ and password with /", "redis://a@b:12/x:pw@host", "redis://a@b:***@host", "12/x:pw"},
		{"password continues past a parsable host", "redis://u:pw@host/x@y", "redis://u:***@y", "pw@host/x"},
		{"memcached", "memcached://u:pw@m1:11211,m2:11211", "memcached://u:***@m1:11211,m2:11211", "pw"},
		{"http basic auth", "https://user:tok3n@cache.example/api", "https://***@cache.example/api", "tok3n"},
		{"sentinel", "redis+sentinel://:pw@s1:26379,s2:26379/mymaster", "redis+sentinel://:***@s1:26379,s2:26379/mymaster", "pw"},
		{"unix socket", "unix://:pw@/tmp/redis.sock?db=1", "unix://:***@/tmp/redis.sock?db=1", "pw"},
		{"unix socket no password", "unix:///tmp/redis.sock", "unix:///tmp/redis.sock", ""},
		{"ipv6 host", "redis://u:pw@[::1]:6379", "redis://u:***@[::1]:6379", "pw"},
		{"no scheme", "u:pw@h:6379", "u:***@h:6379", "pw"},
		{"no scheme no password", "h:6379", "h:6379", ""},
		{"single slash scheme", "redis:/u:pw@h", "redis:***@h", "pw"},
		{"@ in query without password", "http://h/p?mail=a@b.c", "http://h/p?mail=a@b.c", ""},
		{"@ in query with port over-masks", "http://h:80/p?mail=a@b.c", "http://***@b.c", ""},
		{"control characters", "redis://u:p\x1b[2J@h", "redis://u:***@h", "p\x1b"},
		{"just @", "@", "@", ""},
		{"scheme only", "redis://", "redis://", ""},
		{"colon at end", "redis://u:", "redis://u:", ""},
		{"no scheme, :// in password", "u:a://b@h", "u:***@h", "a://b"},
		// Ambiguous: this is also scheme "u" with user "b"; a lone user part outside Redis is masked.
		{"valid scheme, user only", "u://b@h", "u://***@h", "b"},
		{"invalid scheme", "1x://u:pw@h", "1x:***@h", "pw"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := URL(tt.in)
			if got != tt.want {
				t.Errorf("redact.URL(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if tt.secret != "" && strings.Contains(got, tt.secret) {
				t.Errorf("redact.URL(%q) = %q leaks %q", tt.in, got, tt.secret)
			}
			if again := URL(got); again != got {
				t.Errorf("redact.URL not idempotent: %q then %q", got, again)
			}
		})
	}
}

// TestRedactURLNeverLeaks builds URLs from awkward passwords and checks that
// no password of two or more bytes survives.
func TestRedactURLNeverLeaks(t *testing.T) {
	passwords := []string{"pw", "p@ss", "a/b", "a#b", "a?b", "a:b", "@@", "/x/", "x@y/z#w?v:u", "]:[", "%zz", "p w", "ü@ñ"}
	users := []string{"", "u", "user.name", "a@b"}
	forms := []string{"redis://%s:%s@h:6379/0", "rediss://%s:%s@h", "%s:%s@h", "https://%s:%s@h/p?q=1#f"}
	for _, form := range forms {
		for _, user := range users {
			for _, pw := range passwords {
				in := strings.Replace(strings.Replace(form, "%s", user, 1), "%s", pw, 1)
				got := URL(in)
				if strings.Contains(got, pw) {
					t.Errorf("redact.URL(%q) = %q leaks %q", in, got, pw)
				}
				if !strings.Contains(got, "***") {
					t.Errorf("redact.URL(%q) = %q has no mask", in, got)
				}
			}
		}
	}
}

func FuzzRedact(f *testing.F) {
	f.Add("redis", "u", "pw", "h:6379/0")
	f.Add("", "u", "p@ss/x", "h")
	f.Add("https", "", "a://b#c?d", "cache.example/x?y=1")
	f.Add("", "", "//x", "h")
	f.Fuzz(func(t *testing.T, scheme, user, pw, host string) {
		// A user name has no ':' or '@', a host no '@'; the password is
		// anything. Then the mask must cover exactly the password.
		if strings.ContainsAny(user, ":@") || strings.Contains(user, "://") || strings.Contains(host, "@") {
			return
		}
		prefix := ""
		if scheme == "" && validScheme(user) && strings.HasPrefix(pw, "//") {
			return // "user://pw@host" reads as a scheme
		}
		if scheme != "" {
			if !validScheme(scheme) {
				return
			}
			prefix = scheme + "://"
		}
		in := prefix + user + ":" + pw + "@" + host
		want := prefix + user + ":***@" + host
		if s := strings.ToLower(scheme); s == "http" || s == "https" {
			want = prefix + "***@" + host // no user names: the user part may be the token
		}
		if got := URL(in); got != want {
			t.Errorf("redact.URL(%q) = %q, want %q", in, got, want)
		}
		_ = URL(scheme + user + pw + host) // must not panic
	})
}

func TestRedactSecretsOutsideThePasswordField(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"query password", "redis://127.0.0.1:6379/0?password=S3cret", "redis://127.0.0.1:6379/0?password=***"},
		{"query password among others", "redis://h/0?db=1&Password=S3cret&timeout=1", "redis://h/0?db=1&Password=***&timeout=1"},
		{"query token before fragment", "http://h/?token=S3cret#x", "http://h/?token=***#x"},
		{"encoded name", "redis://h?pass%77ord=S3cret", "redis://h?pass%77ord=***"},
		{"sentinel password", "redis+sentinel://s1/m?sentinel_password=S3cret", "redis+sentinel://s1/m?sentinel_password=***"},
		{"env names are kept", "redis+sentinel://s1/m?sentinel_password_env=PW", "redis+sentinel://s1/m?sentinel_password_env=PW"},
		{"http token as user", "http://S3cret@127.0.0.1:1/", "http://***@127.0.0.1:1/"},
		{"https token as user", "HTTPS://S3cret@h/base", "HTTPS://***@h/base"},
		{"http token with slash", "http://ab/S3cret@h/", "http://***@h/"},
		{"http user and token", "http://user:S3cret@h/", "http://***@h/"},
		{"http token before a colon", "http://S3cret:x@127.0.0.1:1", "http://***@127.0.0.1:1"},
		{"https token and empty password", "https://S3cret:@h/", "https://***@h/"},
		{"http @ in query is a value", "http://h/p?mail=a@b.c", "http://h/p?mail=a@b.c"},
		{"redis user name kept", "redis://app@h/0", "redis://app@h/0"},
		{"both", "redis://u:S3cret@h/0?password=S3cret", "redis://u:***@h/0?password=***"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := URL(tt.in)
			if got != tt.want {
				t.Errorf("redact.URL(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if strings.Contains(got, "S3cret") {
				t.Errorf("redact.URL(%q) = %q leaks the secret", tt.in, got)
			}
			if again := URL(got); again != got {
				t.Errorf("not idempotent: %q then %q", got, again)
			}
		})
	}
}

func TestSecrets(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"redis://h:6379/0", nil},
		{"redis://u:S3cret@h/0", []string{"S3cret"}},
		{"redis://u:S3c%2Fret@h/0", []string{"S3c%2Fret", "S3c/ret"}},
		{"redis://u:12/S3cret@h/0", []string{"12/S3cret", "S3cret"}},
		{"redis://u:p@ss@h", []string{"p@ss"}},
		{"http://S3cret@h:1/", []string{"S3cret"}},
		{"redis://h/0?db=1&password=S3cret&x=1", []string{"S3cret"}},
		{"redis://u:pw1@h/0?password=pw2#f", []string{"pw1", "pw2"}},
	}
	for _, tt := range tests {
		got := Secrets(tt.in)
		if strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("Secrets(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestRedact(t *testing.T) {
	tests := []struct{ in, want string }{
		{"redis://host:6379/0", "redis://host:6379/0"},
		{"redis://user@host", "redis://user@host"},
		{"redis://user:pw@host:6379/0", "redis://user:***@host:6379/0"},
		{"redis://:pw@host", "redis://:***@host"},
		{"redis://u:p%40ss@h", "redis://u:***@h"},
		{"redis://u:pa/ss@h", "redis://u:***@h"},
		{"redis://u:pa#ss@h", "redis://u:***@h"},
		{"redis://u:p@ss@h/0", "redis://u:***@h/0"},
		{"not a url:pw@x", "not a url:***@x"},
	}
	for _, tt := range tests {
		got := URL(tt.in)
		if got != tt.want {
			t.Errorf("redact.URL(%q) = %q, want %q", tt.in, got, tt.want)
		}
		for _, secret := range []string{"pw", "pa/ss", "pa#ss", "p@ss", "p%40ss"} {
			if strings.Contains(tt.in, ":"+secret+"@") && strings.Contains(got, secret) {
				t.Errorf("redact.URL(%q) leaks %q: %q", tt.in, secret, got)
			}
		}
	}
}
