package shorturl

import (
	"net/url"
	"strings"
)

// ValidateURL checks a long URL before it is stored: at most maxLen bytes, no
// whitespace or control bytes, parseable, an absolute URL whose lower-cased
// scheme is in schemes, a non-empty host and no user:password@ part (a favourite
// of phishing links: http://bank.example@evil.example/). Every error wraps
// ErrInvalidURL.
func ValidateURL(raw string, maxLen int, schemes ...string) error {
	if raw == "" {
		return ErrInvalidURL
	}
	if len(raw) > maxLen {
		return ErrURLTooLong
	}
	for i := 0; i < len(raw); i++ {
		if c := raw[i]; c <= ' ' || c == 0x7f {
			return errorURL("whitespace or control character")
		}
	}
	u, err := url.Parse(raw)
	if err != nil {
		return errorURL("does not parse")
	}
	scheme := strings.ToLower(u.Scheme)
	allowed := false
	for _, s := range schemes {
		if s == scheme {
			allowed = true
			break
		}
	}
	if !allowed {
		return ErrSchemeNotAllowed
	}
	if u.Opaque != "" || u.Host == "" {
		return errorURL("no host")
	}
	if u.User != nil {
		return errorURL("user info is not allowed")
	}
	return nil
}

func errorURL(why string) error { return &urlError{why} }

type urlError struct{ why string }

func (e *urlError) Error() string { return ErrInvalidURL.Error() + ": " + e.why }
func (e *urlError) Unwrap() error { return ErrInvalidURL }

// validAlias reports whether s can be a code or alias: 1..64 bytes of
// [A-Za-z0-9_-]. It is what the handler checks before any Redis call.
func validAlias(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if decodeTable[c] == 0xFF && c != '-' && c != '_' {
			return false
		}
	}
	return true
}
