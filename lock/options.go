package lock

import (
	"strings"
	"time"
)

// MinTTL is the shortest lease accepted. Below it the clock-drift margin, one
// round trip and the watchdog's refresh interval no longer fit in the lease.
const MinTTL = 20 * time.Millisecond

// DefaultPrefix starts every key this package writes.
const DefaultPrefix = "surge:"

// Option configures a Client.
type Option func(*config)

type config struct {
	prefix         string
	drift          float64
	releaseTimeout time.Duration
	fence          bool
	defaults       []AcquireOption
}

func defaultConfig() config {
	return config{prefix: DefaultPrefix, drift: 0.01, releaseTimeout: 5 * time.Second, fence: true}
}

// WithPrefix sets the key prefix (default "surge:"). It must not contain '{'
// or '}': the lock's hash tag is the lock name, and a brace in the prefix
// could move it.
func WithPrefix(p string) Option { return func(c *config) { c.prefix = p } }

// WithDriftFactor sets the clock drift allowance, as a fraction of the TTL,
// subtracted (plus 2ms) from a lease to get its local validity (default 0.01,
// the Redlock paper's value). Valid range [0, 0.5).
func WithDriftFactor(f float64) Option { return func(c *config) { c.drift = f } }

// WithReleaseTimeout bounds Release, which runs on a context detached from the
// caller's cancellation (default 5s).
func WithReleaseTimeout(d time.Duration) Option { return func(c *config) { c.releaseTimeout = d } }

// WithoutFencing (Redlock only) skips the fencing round trip: Lock.Fence
// returns 0. Use it only when nothing downstream checks tokens.
func WithoutFencing() Option { return func(c *config) { c.fence = false } }

// WithDefaults sets AcquireOptions applied to every Acquire before its own.
func WithDefaults(opts ...AcquireOption) Option {
	return func(c *config) { c.defaults = append(c.defaults, opts...) }
}

func (c *config) validate() error {
	if strings.ContainsAny(c.prefix, "{}") {
		return argErr("prefix", "%q contains a brace", c.prefix)
	}
	if !(c.drift >= 0 && c.drift < 0.5) {
		return argErr("drift factor", "%v is outside [0, 0.5)", c.drift)
	}
	if c.releaseTimeout <= 0 {
		return argErr("release timeout", "%v is not positive", c.releaseTimeout)
	}
	return nil
}

// AcquireOption configures one Acquire.
type AcquireOption func(*acquireConfig)

type acquireConfig struct {
	retry          Retry
	wait           time.Duration // 0: bounded by ctx and retry only
	watchdog       bool
	refreshEvery   time.Duration // 0: ttl/3
	maxHold        time.Duration // 0: unlimited
	replicas       int
	replicaTimeout time.Duration
}

// WithRetry sets how to wait for a lock held by someone else (default NoRetry).
func WithRetry(r Retry) AcquireOption { return func(c *acquireConfig) { c.retry = r } }

// WithWait bounds the total time Acquire spends obtaining the lock,
// independently of the lease TTL. When it passes, Acquire returns
// ErrNotObtained. 0 means no bound other than the context and the Retry.
func WithWait(d time.Duration) AcquireOption { return func(c *acquireConfig) { c.wait = d } }

// WithWatchdog keeps the lock alive while it is held: it refreshes the lease
// every `every` (0 = TTL/3) and cancels Lock.Context with ErrLost the moment
// the lock is found gone or cannot be confirmed before it would expire.
func WithWatchdog(every time.Duration) AcquireOption {
	return func(c *acquireConfig) { c.watchdog, c.refreshEvery = true, every }
}

// WithMaxHold caps the total hold time: at acquisition+d Lock.Context is
// cancelled with ErrMaxHold and no refresh extends the lease past that point.
func WithMaxHold(d time.Duration) AcquireOption { return func(c *acquireConfig) { c.maxHold = d } }

// WithReplicas runs WAIT n timeout on the acquiring connection after a
// successful single-node acquisition and reports the count in
// Lock.Replicas. The lock is granted whatever the count: the number is a
// fact to act on, not a guarantee (Redis replication is asynchronous and a
// failover can still lose the lock). Not supported by Redlock.
func WithReplicas(n int, timeout time.Duration) AcquireOption {
	return func(c *acquireConfig) { c.replicas, c.replicaTimeout = n, timeout }
}

func (c *acquireConfig) validate(ttl time.Duration) error {
	if c.retry == nil {
		c.retry = NoRetry()
	}
	if c.wait < 0 {
		return argErr("wait", "%v is negative", c.wait)
	}
	if c.maxHold < 0 {
		return argErr("max hold", "%v is negative", c.maxHold)
	}
	if c.maxHold > 0 && c.maxHold < MinTTL {
		return argErr("max hold", "%v is below the minimum %v", c.maxHold, MinTTL)
	}
	if c.watchdog {
		if c.refreshEvery == 0 {
			c.refreshEvery = ttl / 3
		}
		if c.refreshEvery < time.Millisecond || c.refreshEvery > ttl/2 {
			return argErr("refresh interval", "%v must be in [1ms, ttl/2=%v]", c.refreshEvery, ttl/2)
		}
	}
	if c.replicas < 0 {
		return argErr("replicas", "%d is negative", c.replicas)
	}
	if c.replicas > 0 && c.replicaTimeout < time.Millisecond {
		return argErr("replica timeout", "%v must be at least 1ms", c.replicaTimeout)
	}
	return nil
}

func validateKey(key string) error {
	switch {
	case key == "":
		return argErr("key", "empty")
	case len(key) > 1024:
		return argErr("key", "%d bytes, more than 1024", len(key))
	case strings.ContainsAny(key, "{}"):
		// The key becomes the hash tag {key}; a brace inside would change
		// the tag and split the lock and its fencing counter across slots.
		return argErr("key", "%q contains a brace", key)
	}
	return nil
}

func validateTTL(ttl time.Duration) error {
	switch {
	case ttl <= 0:
		return argErr("ttl", "%v is not positive", ttl)
	case ttl < MinTTL:
		return argErr("ttl", "%v is below the safe minimum %v", ttl, MinTTL)
	case ttl > 365*24*time.Hour:
		return argErr("ttl", "%v is longer than a year", ttl)
	}
	return nil
}
