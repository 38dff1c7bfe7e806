package cache

import (
	"fmt"
	"strings"
)

// MaxKeyLen bounds a user key. Redis accepts far longer keys, but a key this
// long is almost always a bug (a serialized object used as a key).
const MaxKeyLen = 1024

// validateKey rejects what would break the key layout. Braces are refused
// because the entry's keys are built as "<prefix>cache:{<key>}..." and a brace
// inside key would move the hash tag, splitting value and lease across slots.
func validateKey(key string) error {
	if key == "" {
		return fmt.Errorf("%w: empty", ErrInvalidKey)
	}
	if len(key) > MaxKeyLen {
		return fmt.Errorf("%w: %d bytes > %d", ErrInvalidKey, len(key), MaxKeyLen)
	}
	if strings.ContainsAny(key, "{}") {
		return fmt.Errorf("%w: %q contains a brace", ErrInvalidKey, key)
	}
	return nil
}

func validatePrefix(p string) error {
	if strings.ContainsAny(p, "{}") {
		return fmt.Errorf("%w: prefix %q contains a brace", ErrInvalidOption, p)
	}
	if len(p) > 256 {
		return fmt.Errorf("%w: prefix longer than 256 bytes", ErrInvalidOption)
	}
	return nil
}

// entryKeys names the keys of one cache entry. All three share the hash tag
// {<key>} so the lease and fenced-set scripts touch a single slot.
type entryKeys struct {
	key                 string // the user's key
	value, lease, fence string
}

func (c *config) entry(key string) entryKeys {
	base := c.valueKey(key)
	return entryKeys{key: key, value: base, lease: base + ":lease", fence: base + ":fence"}
}

// valueKey is the hit path's only key: built alone to spare two allocations.
func (c *config) valueKey(key string) string { return c.prefix + "cache:{" + key + "}" }

// Double-delete schedule keys, one hash tag per prefix.
func (c *config) ddKeys() (due, inflight, tries, failed string) {
	base := c.prefix + "cache:{dd}:"
	return base + "due", base + "inflight", base + "tries", base + "failed"
}
