package report

import (
	"testing"

	"github.com/cachectl/cachectl/internal/profiles"
)

func TestRouteShape(t *testing.T) {
	for in, want := range map[string]string{
		"GET /itemspage=11&size=20": "GET /itemspage=*&size=*",
		"GET /items":                "GET /items",
		"GET /a/b/cq=1":             "GET /a/b/cq=*",
		"(2.0) /search=x%2Fy":       "(2.0) /search=*",
		"GET /x&y":                  "GET /x&y",
	} {
		if got := routeShape(in); got != want {
			t.Errorf("routeShape(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLockOwner(t *testing.T) {
	redis, err := profiles.Lookup("aiocache", profiles.Options{Namespace: "app", Backend: "redis"})
	if err != nil {
		t.Fatal(err)
	}
	auto, err := profiles.Lookup("auto", profiles.Options{Backend: "redis"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		prof      *profiles.Profile
		key, want string
	}{
		// the lock of a cached result counts with its function
		{redis, "app:svc.mget_user(1,)[]-lock", "svc.mget_user"},
		// any other lock joins the one row of locks
		{redis, "app:report:1-lock", ""},
		{auto, "app:svc.mget_user(1,)[]-lock", "svc.mget_user"},
		{auto, "app:report:7-lock", ""},
	} {
		tag, ok := c.prof.Recognize(c.key, nil)
		if !ok || tag.What != "lock" {
			t.Fatalf("%s: %q is not a lock: %+v", c.prof.Name(), c.key, tag)
		}
		if got := lockOwner(c.prof, tag.Name); got != c.want {
			t.Errorf("%s: lockOwner(%q) = %q, want %q", c.prof.Name(), tag.Name, got, c.want)
		}
	}
}
