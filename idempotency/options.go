package idempotency

import (
	"strings"
	"time"
)

// Defaults. Each is safe for production; change them with the With* options.
const (
	DefaultPrefix         = "surge:"
	DefaultLease          = 15 * time.Second
	DefaultRetention      = 24 * time.Hour
	DefaultTokenTTL       = 30 * time.Minute
	DefaultMaxKeyBytes    = 255
	DefaultMaxResultBytes = 1 << 20
)

// maxFingerprintBytes bounds what a caller can make us store per key.
const maxFingerprintBytes = 512

type config struct {
	prefix         string
	lease          time.Duration
	retention      time.Duration
	tokenTTL       time.Duration
	wait           time.Duration
	maxKeyBytes    int
	maxResultBytes int
	policy         func(error) Decision
}

func defaultConfig() config {
	return config{
		prefix:         DefaultPrefix,
		lease:          DefaultLease,
		retention:      DefaultRetention,
		tokenTTL:       DefaultTokenTTL,
		maxKeyBytes:    DefaultMaxKeyBytes,
		maxResultBytes: DefaultMaxResultBytes,
		policy:         DefaultPolicy,
	}
}

// Option configures a Store.
type Option func(*config) error

// WithPrefix sets the key prefix (default "surge:"). It may not contain '{' or '}'
// because the package owns the hash tag of every key.
func WithPrefix(p string) Option {
	return func(c *config) error {
		if strings.ContainsAny(p, "{}") {
			return badOption("prefix %q contains a hash-tag brace", p)
		}
		c.prefix = p
		return nil
	}
}

// WithLease sets how long a claim survives without a heartbeat (default 15s). The
// owner renews it every lease/3 while its function runs; a crashed owner's key can
// be taken over by the next duplicate once the lease lapses. Minimum 100ms.
func WithLease(d time.Duration) Option {
	return func(c *config) error {
		if d < 100*time.Millisecond {
			return badOption("lease %v below 100ms", d)
		}
		c.lease = d
		return nil
	}
}

// WithRetention sets how long a completed outcome is kept and replayed (default 24h),
// counted from completion. This is the key expiry policy to publish to clients.
func WithRetention(d time.Duration) Option {
	return func(c *config) error {
		if d < time.Millisecond {
			return badOption("retention %v below 1ms", d)
		}
		c.retention = d
		return nil
	}
}

// WithTokenTTL sets how long an issued, unredeemed pre-order token stays valid
// (default 30m).
func WithTokenTTL(d time.Duration) Option {
	return func(c *config) error {
		if d < time.Millisecond {
			return badOption("token TTL %v below 1ms", d)
		}
		c.tokenTTL = d
		return nil
	}
}

// WithWait lets a concurrent duplicate wait up to d for the owner to finish and then
// get the replayed outcome, instead of ErrInProgress at once (default 0: no wait,
// as the IETF draft's 409). It polls with backoff (10ms doubling to 250ms).
func WithWait(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return badOption("wait %v is negative", d)
		}
		c.wait = d
		return nil
	}
}

// WithMaxKeyBytes bounds the key and the scope, each (default 255).
func WithMaxKeyBytes(n int) Option {
	return func(c *config) error {
		if n < 1 || n > 64<<10 {
			return badOption("max key bytes %d not in [1, 65536]", n)
		}
		c.maxKeyBytes = n
		return nil
	}
}

// WithMaxResultBytes bounds a stored result (default 1 MiB) so that the replay store
// cannot be blown up. A larger result is returned to its caller with
// ErrResultTooLarge and not stored; the key is released.
func WithMaxResultBytes(n int) Option {
	return func(c *config) error {
		if n < 0 || n > 512<<20 {
			return badOption("max result bytes %d not in [0, 512MiB]", n)
		}
		c.maxResultBytes = n
		return nil
	}
}

// WithPolicy replaces DefaultPolicy: it decides, for a non-nil error returned by the
// function, whether the failure is stored (and replayed) or the key released.
// Successes are always stored.
func WithPolicy(p func(error) Decision) Option {
	return func(c *config) error {
		if p == nil {
			return badOption("nil policy")
		}
		c.policy = p
		return nil
	}
}
