package commands

import (
	"context"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// completionLimit bounds how many key names a shell completion fetches.
const completionLimit = 200

// completeKeys completes key names from the server by prefix. maxArgs is how
// many key arguments the command takes (-1: any). It gives up quietly: a
// completion must never hang a shell or print an error into it.
func (f *Factory) completeKeys(maxArgs int) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if maxArgs >= 0 && len(args) >= maxArgs {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		f.Global.URLSet = cmd.Flags().Changed("url")
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		b, err := f.Backend(ctx)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		defer b.Close()
		var keys []string
		errEnough := context.Canceled
		_ = b.Scan(ctx, globEscape(toComplete)+"*", func(batch []string) error {
			for _, k := range batch {
				if !strings.ContainsAny(k, " \t\n\r\x00") {
					keys = append(keys, k)
				}
			}
			if len(keys) >= completionLimit {
				return errEnough
			}
			return nil
		})
		if len(keys) > completionLimit {
			keys = keys[:completionLimit]
		}
		return keys, cobra.ShellCompDirectiveNoFileComp
	}
}

func (f *Factory) completeContexts(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	file, _, err := f.Config()
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return file.Names(), cobra.ShellCompDirectiveNoFileComp
}

// globEscape quotes Redis glob metacharacters so s matches literally.
func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '*', '?', '[', ']', '\\':
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
