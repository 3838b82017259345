// Package build holds the version stamped into the binary by the linker:
//
//	-X github.com/cachectl/cachectl/internal/build.Version=v1.2.3
//	-X github.com/cachectl/cachectl/internal/build.Commit=abc1234
//	-X github.com/cachectl/cachectl/internal/build.Date=2026-11-23T10:00:00Z
//
// `go install …@vX` builds get no ldflags, so the module's build info fills in.
package build

import (
	"fmt"
	"runtime/debug"
)

var (
	Version = "dev"
	Commit  = ""
	Date    = ""
)

func init() {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return
	}
	if Version == "dev" && info.Main.Version != "" && info.Main.Version != "(devel)" {
		Version = info.Main.Version
	}
	for _, s := range info.Settings {
		switch {
		case s.Key == "vcs.revision" && Commit == "":
			Commit = s.Value
			if len(Commit) > 7 {
				Commit = Commit[:7]
			}
		case s.Key == "vcs.time" && Date == "":
			Date = s.Value
		}
	}
}

// String is the one-line version: "v1.2.3 (commit abc1234, built 2026-11-23T10:00:00Z)".
func String() string {
	s := Version
	switch {
	case Commit != "" && Date != "":
		s += fmt.Sprintf(" (commit %s, built %s)", Commit, Date)
	case Commit != "":
		s += fmt.Sprintf(" (commit %s)", Commit)
	}
	return s
}
