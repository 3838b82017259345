package commands

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/cachectl/cachectl/internal/build"
)

// NewCmdVersion builds `cachectl version`.
func NewCmdVersion(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of cachectl",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.Output().JSON() {
				return writeJSON(f.IO.Out, f.IO.IsStdoutTTY(), struct {
					Version string `json:"version"`
					Commit  string `json:"commit"`
					Date    string `json:"date"`
					Go      string `json:"go"`
				}{build.Version, build.Commit, build.Date, runtime.Version()})
			}
			_, err := fmt.Fprintf(f.IO.Out, "cachectl version %s\n", build.String())
			return err
		},
	}
}
