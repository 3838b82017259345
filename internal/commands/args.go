package commands

import (
	"github.com/spf13/cobra"

	"github.com/cachectl/cachectl/internal/profiles"
	"github.com/cachectl/cachectl/internal/textesc"
)

// exactArgs and friends make cobra's argument errors usage errors (exit 2).
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usagef("%s takes %d argument(s), got %d (see %s --help)", cmd.CommandPath(), n, len(args), cmd.CommandPath())
		}
		return nil
	}
}

func minArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < n {
			return usagef("%s needs at least %d argument(s) (see %s --help)", cmd.CommandPath(), n, cmd.CommandPath())
		}
		return nil
	}
}

func rangeArgs(lo, hi int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < lo || len(args) > hi {
			return usagef("%s takes %d to %d arguments, got %d (see %s --help)", cmd.CommandPath(), lo, hi, len(args), cmd.CommandPath())
		}
		return nil
	}
}

// keyMapper turns the key arguments a user types into the keys stored:
// the escaped form read back under --escaped-keys, then the profile's
// layout (Django's ":1:" prefix, an aiocache namespace, ...). Every command
// that takes keys, globs or --prefix maps them here, so all spell a key the
// same way.
type keyMapper struct {
	// Escaped reports --escaped-keys; it is read when a key is parsed, after
	// the flags are.
	Escaped func() bool
	// Profile is the framework layout in use, looked up on first need.
	Profile func() (*profiles.Profile, error)
}

// Parse reads one key argument: literal, or in the escaped form with
// --escaped-keys.
func (m keyMapper) Parse(arg string) (string, error) {
	if !m.Escaped() {
		return arg, nil
	}
	k, err := textesc.ParseKey(arg)
	if err != nil {
		return "", &UsageError{Msg: err.Error()}
	}
	return k, nil
}

// Key is the stored key a key argument names.
func (m keyMapper) Key(arg string) (string, error) {
	return m.via(arg, (*profiles.Profile).Key)
}

// Keys applies Key to each argument.
func (m keyMapper) Keys(args []string) ([]string, error) {
	keys := make([]string, len(args))
	for i, a := range args {
		k, err := m.Key(a)
		if err != nil {
			return nil, err
		}
		keys[i] = k
	}
	return keys, nil
}

// Pattern turns a glob argument into a stored-key glob under the profile.
func (m keyMapper) Pattern(arg string) (string, error) {
	return m.via(arg, (*profiles.Profile).Pattern)
}

// Patterns maps each argument with Pattern.
func (m keyMapper) Patterns(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		p, err := m.Pattern(a)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// PrefixPattern turns a literal prefix (--prefix) into the glob of the
// stored keys that start with it.
func (m keyMapper) PrefixPattern(arg string) (string, error) {
	return m.via(arg, (*profiles.Profile).PrefixPattern)
}

// via parses a key-like argument and maps it through the profile.
func (m keyMapper) via(arg string, mapping func(*profiles.Profile, string) string) (string, error) {
	k, err := m.Parse(arg)
	if err != nil {
		return "", err
	}
	p, err := m.Profile()
	if err != nil {
		return "", err
	}
	return mapping(p, k), nil
}

// addReadFromReplicas gives a listing-only command --read-from-replicas.
func addReadFromReplicas(cmd *cobra.Command, f *Factory) {
	cmd.Flags().BoolVar(&f.Global.ReadFromReplicas, "read-from-replicas", false, "Redis Cluster and Sentinel: list keys on replicas, sparing the primaries (a replica may lag behind)")
}
