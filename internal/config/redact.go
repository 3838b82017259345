package config

import "github.com/cachectl/cachectl/internal/backends"

// RedactURL returns raw with any password replaced by "***"; see
// backends.Redact for the rule, which errs on the side of masking too much.
func RedactURL(raw string) string { return backends.Redact(raw) }
