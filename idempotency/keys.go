package idempotency

import "strings"

// Key names one idempotent operation. Scope isolates callers from each other (a
// user id, an API client id, a tenant): two scopes never share a record even when
// their IDs are equal. Scope may be empty for a global key space.
type Key struct {
	Scope string
	ID    string
}

// validate checks a key before any I/O.
func (c *config) validate(k Key, fingerprint string) error {
	if k.ID == "" {
		return ErrEmptyKey
	}
	if len(k.ID) > c.maxKeyBytes {
		return ErrKeyTooLong
	}
	if len(k.Scope) > c.maxKeyBytes {
		return ErrScopeTooLong
	}
	if fingerprint == "" {
		return ErrMissingFingerprint
	}
	if len(fingerprint) > maxFingerprintBytes {
		return ErrFingerprintTooLong
	}
	return nil
}

// escaper makes scope and id safe inside a hash tag and unambiguous when joined:
// no brace can end the tag early and no ':' inside a part can fake a separator.
var escaper = strings.NewReplacer("%", "%25", "{", "%7B", "}", "%7D", ":", "%3A")

// recordKeys returns the record hash and the lease key of one operation. Both share
// the hash tag {<ns>:<scope>:<id>} so that the scripts touching both are
// cluster-safe. ns is "k" for Do keys and "t" for pre-order tokens.
func (c *config) recordKeys(ns string, k Key) (rec, lease string) {
	base := c.prefix + "idem:{" + ns + ":" + escaper.Replace(k.Scope) + ":" + escaper.Replace(k.ID) + "}"
	return base + ":r", base + ":l"
}
