package config

import "github.com/cachectl/cachectl/internal/backends"

// RedactURL returns raw with any password replaced by "***"; see
// backends.Redact for the rule, which errs on the side of masking too much.
func RedactURL(raw string) string { return backends.Redact(raw) }

// RedactEnvName returns name, the password_env or token_env of a context,
// or "***" when it is not a variable name: then it is probably the secret
// itself, pasted into the wrong setting.
func RedactEnvName(name string) string {
	if name == "" || ValidVarName(name) {
		return name
	}
	return "***"
}
