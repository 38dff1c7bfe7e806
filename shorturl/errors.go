package shorturl

import (
	"errors"
	"fmt"
)

// Errors returned by the allocator, the store and the constructors.
var (
	// ErrConfig wraps every invalid option.
	ErrConfig = errors.New("shorturl: invalid configuration")
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("shorturl: closed")
	// ErrExhausted: the ID space (2^53, or the permutation's domain) is used up.
	ErrExhausted = errors.New("shorturl: ID space exhausted")
	// ErrNotFound: no link under this code (never created, or forgotten after
	// its tombstone period).
	ErrNotFound = errors.New("shorturl: link not found")
	// ErrExpired: the link existed and has expired.
	ErrExpired = errors.New("shorturl: link expired")
	// ErrAliasTaken: a custom alias is already in use.
	ErrAliasTaken = errors.New("shorturl: alias already taken")
	// ErrInvalidAlias: an alias must be 1..64 bytes of [A-Za-z0-9_-].
	ErrInvalidAlias = errors.New("shorturl: invalid alias")
	// ErrInvalidOwner: an owner must be at most 256 bytes.
	ErrInvalidOwner = errors.New("shorturl: invalid owner")
	// ErrInvalidTTL: a link TTL must be positive (omit it for no expiry).
	ErrInvalidTTL = errors.New("shorturl: invalid TTL")
	// ErrInvalidURL wraps every URL validation failure.
	ErrInvalidURL = errors.New("shorturl: invalid URL")
	// ErrURLTooLong: longer than the configured limit.
	ErrURLTooLong = fmt.Errorf("%w: too long", ErrInvalidURL)
	// ErrSchemeNotAllowed: the scheme is not in the allow-list.
	ErrSchemeNotAllowed = fmt.Errorf("%w: scheme not allowed", ErrInvalidURL)
)

func errorf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...)
}
