package ratelimit

import (
	"fmt"
	"time"
)

// Option configures a Limiter (New) or a Local limiter (NewLocal). Options that do
// not apply to a constructor are ignored by it.
type Option func(*config)

type config struct {
	prefix      string
	instances   int
	fallback    bool
	onState     func(StateChange)
	probe       time.Duration
	lanes       int
	batchScript bool
	maxWait     time.Duration
	maxKeys     int
	clock       func() time.Time
	overrides   map[string]Limit
	err         error
}

func defaults() config {
	return config{
		prefix:  "surge:",
		probe:   time.Second,
		lanes:   2,
		maxWait: 5 * time.Second,
		maxKeys: 1 << 20,
		clock:   time.Now,
	}
}

func (c *config) apply(opts []Option) error {
	for _, o := range opts {
		if o != nil {
			o(c)
		}
	}
	return c.err
}

func (c *config) fail(format string, a ...any) {
	if c.err == nil {
		c.err = fmt.Errorf("%w: "+format, append([]any{ErrInvalidOption}, a...)...)
	}
}

// WithPrefix sets the Redis key prefix (default "surge:"). Keys are
// <prefix>ratelimit:<key>.
func WithPrefix(p string) Option { return func(c *config) { c.prefix = p } }

// WithFallback makes the Redis limiter fall back to an in-process limiter while
// Redis is unreachable. instances is how many processes share the limit: each
// falls back to limit/instances (interval × instances, burst / instances, at
// least 1), so together they stay within the limit.
func WithFallback(instances int) Option {
	return func(c *config) {
		if instances < 1 {
			c.fail("fallback instances %d < 1", instances)
			return
		}
		c.fallback, c.instances = true, instances
	}
}

// WithOnStateChange registers a callback run (synchronously, on the goroutine that
// saw the change) when the limiter switches between Redis and its fallback.
func WithOnStateChange(f func(StateChange)) Option { return func(c *config) { c.onState = f } }

// WithProbeInterval sets how often a limiter in fallback tries Redis again
// (default 1s). One request per interval is sent to Redis; the others stay local.
func WithProbeInterval(d time.Duration) Option {
	return func(c *config) {
		if d <= 0 {
			c.fail("probe interval %v", d)
			return
		}
		c.probe = d
	}
}

// WithPipelining sets how many pipelines of concurrent decisions may be in flight
// at once (default 2: on a private server, 2 lanes gave the most decisions per
// second and per server CPU second of 1, 2, 4, 8 and 16). Concurrent calls are combined into one pipeline per round
// trip; 0 sends one EVALSHA per decision.
func WithPipelining(lanes int) Option {
	return func(c *config) {
		if lanes < 0 {
			c.fail("pipelining lanes %d < 0", lanes)
			return
		}
		c.lanes = lanes
	}
}

// WithBatchScript makes each pipeline of combined decisions run as one multi-key
// script per hash slot (gcra_batch.lua: one script call and one clock reading for
// many decisions) instead of one script call per decision. Each decision is the
// same GCRA step on its own key; only the number of script invocations changes.
// It applies only when the client is a *redis.Client (standalone or Sentinel) or
// a *redis.ClusterClient (keys are grouped by hash slot), and only with
// pipelining; other clients, and Redis proxies that route a script by its first
// key, keep one single-key script per decision, which is why it is off by
// default.
func WithBatchScript(on bool) Option { return func(c *config) { c.batchScript = on } }

// WithMaxWait bounds how long Wait sleeps in total (default 5s), on top of the
// context deadline.
func WithMaxWait(d time.Duration) Option {
	return func(c *config) {
		if d < 0 {
			c.fail("max wait %v", d)
			return
		}
		c.maxWait = d
	}
}

// WithMaxKeys is the hard cap on keys a local limiter holds (default 1<<20). Keys
// whose bucket is full again are evicted without loss; when the cap is reached and
// nothing can be evicted, new keys are refused (fail closed) until one can.
func WithMaxKeys(n int) Option {
	return func(c *config) {
		if n < 1 {
			c.fail("max keys %d < 1", n)
			return
		}
		c.maxKeys = n
	}
}

// WithClock replaces time.Now for the local limiter (tests, simulations). The
// Redis limiter always uses the Redis server's clock.
func WithClock(now func() time.Time) Option {
	return func(c *config) {
		if now == nil {
			c.fail("nil clock")
			return
		}
		c.clock = now
	}
}

// WithOverrides sets per-key limits (a hot SKU, a VIP user) that replace the
// default limit for those keys. They can be changed later with SetOverride.
func WithOverrides(m map[string]Limit) Option {
	return func(c *config) {
		for k, l := range m {
			if err := validKey(k); err != nil {
				c.fail("override key: %v", err)
				return
			}
			if err := l.Validate(); err != nil {
				c.fail("override %q: %v", k, err)
				return
			}
			if c.overrides == nil {
				c.overrides = make(map[string]Limit, len(m))
			}
			c.overrides[k] = l
		}
	}
}
