package config

import (
	"regexp"
	"strings"

	"github.com/cachectl/cachectl/internal/redact"
)

// RedactURL returns raw with any password replaced by "***"; see
// redact.URL for the rule, which errs on the side of masking too much.
// Text without a scheme that is not a plain host:port is masked whole: it is
// no URL, and may be a password pasted in the wrong place.
func RedactURL(raw string) string {
	if raw != "" && !strings.Contains(raw, "://") && !plainHostPort.MatchString(raw) {
		return "***"
	}
	return redact.URL(raw)
}

var plainHostPort = regexp.MustCompile(`^[A-Za-z0-9.-]+:[0-9]{1,5}$`)

// RedactEnvName returns name, the password_env or token_env of a context,
// or "***" when it is not a variable name: then it is probably the secret
// itself, pasted into the wrong setting.
func RedactEnvName(name string) string {
	if name == "" || ValidVarName(name) {
		return name
	}
	return "***"
}
