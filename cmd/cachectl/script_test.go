package main

import (
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/cachectl/cachectl/internal/commands"
	"github.com/cachectl/cachectl/internal/testenv"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"cachectl": func() { os.Exit(commands.Main()) },
	})
}

// TestScripts runs the end-to-end scripts in testdata/script against the real
// binary and a real Redis. Each script gets its own empty database ($REDIS_URL),
// its own config dir, and no inherited CACHECTL_*/CACHE_URL variables.
func TestScripts(t *testing.T) {
	base := os.Getenv("CACHECTL_TEST_REDIS_URL")
	if base == "" {
		if testenv.Required() {
			t.Fatal("CACHECTL_TEST_REDIS_URL is not set but CACHECTL_REQUIRE_SERVERS is")
		}
		t.Skip("no Redis server: set CACHECTL_TEST_REDIS_URL (scripts/test-servers.sh prints it)")
	}
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		Setup: func(env *testscript.Env) error {
			u, cleanup, err := testenv.NewRedisDB(base)
			if err != nil {
				return err
			}
			env.Defer(cleanup)
			env.Setenv("REDIS_URL", u)
			env.Setenv("REDIS_DB", u[strings.LastIndex(u, "/")+1:])
			env.Setenv("REDIS_BASE", base)
			env.Setenv("REDIS_SOCKET", os.Getenv("CACHECTL_TEST_REDIS_SOCKET"))
			env.Setenv("TLS_ADDR", os.Getenv("CACHECTL_TEST_REDIS_TLS_ADDR"))
			env.Setenv("TLS_DIR", os.Getenv("CACHECTL_TEST_TLS_DIR"))
			env.Setenv("XDG_CONFIG_HOME", filepath.Join(env.WorkDir, ".config"))
			env.Setenv("HOME", env.WorkDir)
			for _, k := range []string{"CACHECTL_URL", "CACHE_URL", "CACHECTL_CONTEXT", "CACHECTL_PASSWORD", "CACHECTL_CONFIG", "NO_COLOR", "CLICOLOR_FORCE"} {
				env.Setenv(k, "")
			}
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			// unhex IN OUT: write the bytes spelled in hex by file IN (whitespace
			// ignored) to file OUT, so scripts can hold binary values.
			"unhex": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) != 2 {
					ts.Fatalf("usage: unhex IN OUT")
				}
				b, err := hex.DecodeString(strings.Join(strings.Fields(ts.ReadFile(args[0])), ""))
				ts.Check(err)
				ts.Check(os.WriteFile(ts.MkAbs(args[1]), b, 0o644))
			},
			// exits N PROG ARGS...: run PROG and require exit status N.
			"exits": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) < 2 {
					ts.Fatalf("usage: exits CODE PROG [ARGS...]")
				}
				want, err := strconv.Atoi(args[0])
				if err != nil {
					ts.Fatalf("exits: bad code %q", args[0])
				}
				err = ts.Exec(args[1], args[2:]...)
				got := 0
				var ee *exec.ExitError
				if errors.As(err, &ee) {
					got = ee.ExitCode()
				} else if err != nil {
					ts.Fatalf("exits: %v", err)
				}
				if got != want {
					ts.Fatalf("%s exited %d, want %d", args[1], got, want)
				}
			},
		},
	})
}
