package backends

import (
	"context"
	"net/url"
	"slices"
	"strings"

	"github.com/cachectl/cachectl/internal/redact"
)

// Opener connects to the cache a parsed URL names.
type Opener func(ctx context.Context, u *url.URL, opts Options) (Backend, error)

// Driver is one kind of backend as its package declares it: the kind's
// name, the URL schemes that lead to it and how to open them. The table of
// every driver is internal/backends/drivers.
type Driver struct {
	// Kind is what Info.Kind reports and what profiles lay keys out for:
	// "redis", "memcached", "http".
	Kind string
	// Schemes are the URL schemes it opens, in the order messages list them.
	Schemes []string
	// Unlisted are schemes it opens too that messages leave out for
	// brevity (the TLS spellings beside their plain ones).
	Unlisted []string
	Open     Opener
}

// Drivers is a table of backend kinds, in the order messages list them.
type Drivers []Driver

// Lookup finds the driver of a URL scheme (lower case).
func (ds Drivers) Lookup(scheme string) (Driver, bool) {
	for _, d := range ds {
		if slices.Contains(d.Schemes, scheme) || slices.Contains(d.Unlisted, scheme) {
			return d, true
		}
	}
	return Driver{}, false
}

// Open parses rawURL and hands it to the driver of its scheme.
func (ds Drivers) Open(ctx context.Context, rawURL string, opts Options) (Backend, error) {
	u, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	d, ok := ds.Lookup(u.Scheme)
	if !ok {
		return nil, &URLError{URL: redact.URL(rawURL), Reason: "unknown scheme " + quoteScheme(u.Scheme) + " (want " + ds.schemes() + ")"}
	}
	return d.Open(ctx, u, opts.WithDefaults())
}

// Kind names the backend a URL leads to, before anything is opened (the
// dashboard's header, a profile's layout): its driver's kind, else the
// scheme itself, or "" when raw does not parse.
func (ds Drivers) Kind(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	s := strings.ToLower(u.Scheme)
	if d, ok := ds.Lookup(s); ok {
		return d.Kind
	}
	return s
}

// schemes lists the listed schemes for an error message: "redis://, ...".
func (ds Drivers) schemes() string {
	var have []string
	for _, d := range ds {
		for _, s := range d.Schemes {
			have = append(have, s+"://")
		}
	}
	return strings.Join(have, ", ")
}

func quoteScheme(s string) string {
	if s == "" {
		return "(none)"
	}
	return `"` + s + `"`
}
