package commands

import (
	"context"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cachectl/cachectl/internal/textesc"
)

// completionLimit bounds how many key names a shell completion fetches.
const completionLimit = 200

// completeKeys completes key names from the server by prefix. maxArgs is how
// many key arguments the command takes (-1: any). It gives up quietly: a
// completion must never hang a shell or print an error into it.
//
// Key bytes come from the server and may be hostile, and a shell prints
// candidates raw, so a candidate must be both safe on a terminal and the
// exact argument that names its key; keys that cannot be both are left out
// (see completionCandidate).
func (f *Factory) completeKeys(maxArgs int) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if maxArgs >= 0 && len(args) >= maxArgs {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		f.Global.URLSet = cmd.Flags().Changed("url")
		escaped := f.Global.EscapedKeys
		prefix, ok := completionPrefix(toComplete, escaped)
		if !ok {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		prof, err := f.Profile()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		b, err := f.Backend(ctx)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		defer b.Close()
		var keys []string
		errEnough := context.Canceled
		_ = b.Scan(ctx, prof.PrefixPattern(prefix), func(batch []string) error {
			for _, k := range batch {
				u, ok := prof.UserKey(k)
				if !ok {
					continue
				}
				if c, ok := completionCandidate(u, escaped); ok {
					keys = append(keys, c)
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

// completionCandidate is what the shell is offered for key. Without -E a key
// is offered as itself only when it prints as itself (textesc.Key leaves it
// alone): its escaped form would name a different key, and its raw bytes
// could drive the terminal (ESC, BEL), so keys with control bytes, invalid
// UTF-8 or a leading '"' are left out. Under -E every key has an exact
// printable name, its escaped form, which is offered. Either way a candidate
// holding whitespace is left out: shells split it into words.
func completionCandidate(key string, escaped bool) (string, bool) {
	c := key
	switch {
	case !escaped && textesc.NeedsQuoting(key):
		return "", false
	case escaped && (textesc.NeedsQuoting(key) || strings.Contains(key, `\`)):
		// Under -E a bare backslash starts an escape: quote it as \\.
		c = textesc.Quote(key)
	}
	if strings.ContainsAny(c, " \t\n\r\x00") {
		return "", false
	}
	if escaped {
		if k, err := textesc.ParseKey(c); err != nil || k != key {
			return "", false // cannot happen; never offer a name for another key
		}
	}
	return c, true
}

// completionPrefix is the key prefix the word being completed stands for:
// itself, or under -E its escaped form read back; a word cut inside an
// escape (`"\x1`) stands for what comes before that escape.
func completionPrefix(word string, escaped bool) (string, bool) {
	if !escaped {
		return word, true
	}
	// Under -E a word starting with '"' is a quoted form, whole or begun.
	if len(word) >= 2 && word[0] == '"' && word[len(word)-1] == '"' {
		if k, err := textesc.ParseKey(word); err == nil {
			return k, true
		}
	}
	s := strings.TrimPrefix(word, `"`)
	for {
		if k, err := textesc.ParseKey(s); err == nil {
			return k, true
		}
		i := strings.LastIndexByte(s, '\\')
		if i < 0 {
			return "", false
		}
		s = s[:i]
	}
}

func (f *Factory) completeContexts(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	file, _, err := f.Config()
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return file.Names(), cobra.ShellCompDirectiveNoFileComp
}

// fixedCompletion offers a flag's fixed choices.
func fixedCompletion(values ...string) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return values, cobra.ShellCompDirectiveNoFileComp
	}
}
