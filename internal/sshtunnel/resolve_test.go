package sshtunnel

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseDest(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Dest
		err  string
	}{
		{in: "bastion", want: Dest{Host: "bastion"}},
		{in: "deploy@bastion", want: Dest{User: "deploy", Host: "bastion"}},
		{in: "deploy@bastion:2222", want: Dest{User: "deploy", Host: "bastion", Port: 2222}},
		{in: "10.0.0.1:22", want: Dest{Host: "10.0.0.1", Port: 22}},
		{in: "[::1]:2200", want: Dest{Host: "::1", Port: 2200}},
		{in: "me@[fe80::1]", want: Dest{User: "me", Host: "fe80::1"}},
		{in: "ssh://a@b:3", want: Dest{User: "a", Host: "b", Port: 3}},
		{in: "user@corp@bastion", want: Dest{User: "user@corp", Host: "bastion"}},
		{in: "", err: "empty"},
		{in: "@host", err: "empty user"},
		{in: "host:", err: "empty port"},
		{in: "host:0", err: "port must be"},
		{in: "host:65536", err: "port must be"},
		{in: "host:ssh", err: "port must be"},
		{in: "::1", err: "needs brackets"},
		{in: "[::1", err: "missing ]"},
		{in: "[bastion]:22", err: "not an IP"},
		{in: "-oProxyCommand=x", err: "starts with -"},
		{in: "a b", err: "space"},
		{in: "host/x", err: "no host name has"},
		{in: "evil\x1b[2J", err: "control"},
	} {
		got, err := ParseDest(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseDest(%q) = %v, %v; want error with %q", tc.in, got, err, tc.err)
			}
			if err != nil && strings.ContainsRune(err.Error(), 0x1b) {
				t.Errorf("ParseDest(%q): error holds a raw escape: %q", tc.in, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseDest(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

func FuzzParseDest(f *testing.F) {
	for _, s := range []string{"a@b:1", "[::1]:22", "ssh://x@y", "host", "@", "[", "a:b:c", "u@[::1]:65535"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDest(s)
		if err != nil {
			return
		}
		if d.Host == "" || d.Port < 0 || d.Port > 65535 {
			t.Fatalf("ParseDest(%q) = %+v", s, d)
		}
		// What it prints parses back to itself.
		again, err := ParseDest(d.String())
		if err != nil || again != d {
			t.Fatalf("ParseDest(%q) = %+v prints %q, which parses as %+v, %v", s, d, d.String(), again, err)
		}
	})
}

func mapEnv(home string, more ...string) Env {
	vars := map[string]string{"HOME": home, "USER": "local"}
	for i := 0; i+1 < len(more); i += 2 {
		vars[more[i]] = more[i+1]
	}
	return Env{Getenv: func(k string) (string, bool) { v, ok := vars[k]; return v, ok }}
}

func TestResolve(t *testing.T) {
	home := t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, ".ssh"), 0o700); err != nil {
		t.Fatal(err)
	}
	config := `Host prod
  HostName bastion.example.com
  User deploy
  Port 2222
  IdentityFile ~/.ssh/prod_key
  IdentityFile %d/.ssh/second_%r
  UserKnownHostsFile ~/.ssh/kh_prod ~/.ssh/kh_more
  ProxyJump gw

Host gw
  HostName gw.example.com
  User jumper

Host *.internal
  User internal-user

Host *
  Port 2022
`
	if err := os.WriteFile(filepath.Join(home, ".ssh", "config"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	j := func(p string) string { return filepath.Join(home, p) }
	for _, tc := range []struct {
		name string
		s    Settings
		env  Env
		want Plan
	}{
		{
			name: "config alias, its jump host resolved by the config too",
			s:    Settings{Host: "prod"},
			want: Plan{
				Jumps: []Hop{{Alias: "gw", Host: "gw.example.com", User: "jumper", Port: 2022,
					IdentityFiles: []string{j(".ssh/id_ed25519"), j(".ssh/id_ecdsa"), j(".ssh/id_rsa")}, KnownHosts: []string{j(".ssh/known_hosts")}}},
				Target: Hop{Alias: "prod", Host: "bastion.example.com", User: "deploy", Port: 2222,
					IdentityFiles: []string{j(".ssh/prod_key"), j(".ssh/second_deploy")}, ExplicitIdentity: true,
					KnownHosts: []string{j(".ssh/kh_prod"), j(".ssh/kh_more")}},
			},
		},
		{
			name: "explicit settings beat the config",
			s: Settings{Host: "root@prod:22", Port: 2200, IdentityFiles: []string{"/keys/k"}, KnownHosts: []string{"/kh"},
				ProxyJump: "none"},
			want: Plan{Target: Hop{Alias: "prod", Host: "bastion.example.com", User: "root", Port: 2200,
				IdentityFiles: []string{"/keys/k"}, ExplicitIdentity: true, KnownHosts: []string{"/kh"}}},
		},
		{
			name: "User beats user@ from the config's pattern",
			s:    Settings{Host: "cache.internal", User: "me", ProxyJump: "a@j1:1, j2"},
			env:  mapEnv(home, "SSH_AUTH_SOCK", "/tmp/agent.sock"),
			want: Plan{
				Jumps: []Hop{
					{Alias: "j1", Host: "j1", User: "a", Port: 1, IdentityFiles: []string{j(".ssh/id_ed25519"), j(".ssh/id_ecdsa"), j(".ssh/id_rsa")}, KnownHosts: []string{j(".ssh/known_hosts")}},
					{Alias: "j2", Host: "j2", User: "local", Port: 2022, IdentityFiles: []string{j(".ssh/id_ed25519"), j(".ssh/id_ecdsa"), j(".ssh/id_rsa")}, KnownHosts: []string{j(".ssh/known_hosts")}},
				},
				Target:      Hop{Alias: "cache.internal", Host: "cache.internal", User: "me", Port: 2022, IdentityFiles: []string{j(".ssh/id_ed25519"), j(".ssh/id_ecdsa"), j(".ssh/id_rsa")}, KnownHosts: []string{j(".ssh/known_hosts")}},
				AgentSocket: "/tmp/agent.sock",
			},
		},
		{
			name: "defaults without a config",
			s:    Settings{Host: "10.1.2.3"},
			env:  mapEnv(t.TempDir()),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := tc.env
			if e.Getenv == nil {
				e = mapEnv(home)
			}
			got, err := Resolve(tc.s, e)
			if err != nil {
				t.Fatal(err)
			}
			if tc.name == "defaults without a config" {
				h, _ := e.Getenv("HOME")
				if got.Target.User != "local" || got.Target.Port != 22 || got.Target.Host != "10.1.2.3" ||
					got.Target.IdentityFiles[0] != filepath.Join(h, ".ssh", "id_ed25519") || got.Target.KnownHosts[0] != filepath.Join(h, ".ssh", "known_hosts") {
					t.Fatalf("got %+v", got.Target)
				}
				return
			}
			if !reflect.DeepEqual(*got, tc.want) {
				t.Fatalf("got  %+v\nwant %+v", *got, tc.want)
			}
		})
	}
}

func TestResolveErrors(t *testing.T) {
	home := t.TempDir()
	os.MkdirAll(filepath.Join(home, ".ssh"), 0o700)
	os.WriteFile(filepath.Join(home, ".ssh", "config"), []byte("Host badport\n  Port twenty\n"), 0o600)
	noUser := Env{Getenv: func(k string) (string, bool) {
		if k == "HOME" {
			return home, true
		}
		return "", false
	}}
	for _, tc := range []struct {
		s   Settings
		env Env
		err string
	}{
		{s: Settings{Host: "badport"}, env: mapEnv(home), err: "bad Port"},
		{s: Settings{Host: "h", Port: 70000}, env: mapEnv(home), err: "bad SSH port"},
		{s: Settings{Host: "h"}, env: noUser, err: "no SSH user for h"},
		{s: Settings{Host: "h", ProxyJump: "a@"}, env: mapEnv(home), err: "ProxyJump: bad SSH destination"},
		{s: Settings{Host: ""}, env: mapEnv(home), err: "empty"},
	} {
		_, err := Resolve(tc.s, tc.env)
		var se *SettingsError
		if err == nil || !strings.Contains(err.Error(), tc.err) || !asSettings(err, &se) {
			t.Errorf("Resolve(%+v) = %v, want a SettingsError with %q", tc.s, err, tc.err)
		}
	}
}

func asSettings(err error, se **SettingsError) bool {
	e, ok := err.(*SettingsError)
	*se = e
	return ok
}

func TestPlanString(t *testing.T) {
	p := Plan{Target: Hop{User: "u", Host: "::1", Port: 22}, Jumps: []Hop{{User: "a", Host: "j", Port: 2}}}
	if got := p.String(); got != "u@[::1]:22 (jump a@j:2)" {
		t.Fatal(got)
	}
}
