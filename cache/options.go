package cache

import (
	"fmt"
	"time"
)

// Strategy selects how reads fill the cache and how Update invalidates it.
// Each strategy's exact guarantee is stated in doc.go and measured by the
// consistency harness (see README).
type Strategy int

const (
	// DeleteAfterUpdate is the textbook baseline: a read miss fills with a
	// plain SET; Update writes the source, then deletes the entry. A slow
	// reader that read the source before the write and fills after the delete
	// leaves a stale value until the TTL expires.
	DeleteAfterUpdate Strategy = iota
	// DoubleDelete deletes, writes the source, deletes again, and schedules a
	// durable third delete after WithDoubleDeleteDelay, executed by a
	// DeleteWorker. It bounds (does not close) the stale window.
	DoubleDelete
	// SetNXBackfill fills with SET NX, so a fill never overwrites what is
	// already cached. It does not close the race against delete-style writers.
	SetNXBackfill
	// Lease is the strong mode: a read miss takes a lease before reading the
	// source, Update voids leases, and a fill succeeds only with a valid lease.
	// Other readers of a leased key wait briefly or read the source without
	// filling. WriteThrough writers pair with this strategy.
	Lease
)

func (s Strategy) String() string {
	switch s {
	case DeleteAfterUpdate:
		return "delete-after-update"
	case DoubleDelete:
		return "double-delete"
	case SetNXBackfill:
		return "setnx-backfill"
	case Lease:
		return "lease"
	}
	return fmt.Sprintf("Strategy(%d)", int(s))
}

// Option configures a Cache, a DeleteWorker or a RedisBloom. Options that do
// not apply to the thing being built are ignored.
type Option func(*config)

type config struct {
	prefix      string
	ttl         time.Duration
	jitter      float64
	notFoundTTL time.Duration
	loadTimeout time.Duration
	strategy    Strategy
	leaseTTL    time.Duration
	leaseWait   time.Duration
	ddDelay     time.Duration
	filter      Filter
	locker      Locker
	lockTTL     time.Duration
	fenceTTL    time.Duration
	codec       any
	l1Size      int
	l1TTL       time.Duration

	// DeleteWorker.
	pollInterval time.Duration
	maxAttempts  int
	retryBackoff time.Duration
	visibility   time.Duration
	batch        int
	onFailure    func(key string, err error)

	// RedisBloom.
	shardBits uint64

	errs []error
}

func defaults() config {
	return config{
		prefix:       "surge:",
		ttl:          10 * time.Minute,
		jitter:       0.1,
		notFoundTTL:  30 * time.Second,
		loadTimeout:  5 * time.Second,
		strategy:     DeleteAfterUpdate,
		leaseTTL:     5 * time.Second,
		leaseWait:    500 * time.Millisecond,
		ddDelay:      time.Second,
		lockTTL:      10 * time.Second,
		fenceTTL:     24 * time.Hour,
		pollInterval: 100 * time.Millisecond,
		maxAttempts:  8,
		retryBackoff: 100 * time.Millisecond,
		visibility:   30 * time.Second,
		batch:        100,
		shardBits:    1 << 23,
	}
}

func (c *config) bad(format string, a ...any) {
	c.errs = append(c.errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalidOption}, a...)...))
}

func positive(c *config, name string, d time.Duration, min time.Duration) bool {
	if d < min {
		c.bad("%s %v < %v", name, d, min)
		return false
	}
	return true
}

func build(opts []Option) (config, error) {
	c := defaults()
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	if err := validatePrefix(c.prefix); err != nil {
		c.errs = append(c.errs, err)
	}
	if len(c.errs) > 0 {
		return c, c.errs[0]
	}
	return c, nil
}

// WithPrefix sets the key prefix (default "surge:"). It must not contain
// braces. Caches, DeleteWorkers and Bloom filters that cooperate must share it.
func WithPrefix(p string) Option { return func(c *config) { c.prefix = p } }

// WithTTL sets the base TTL of cached values (default 10m, minimum 1ms).
func WithTTL(d time.Duration) Option {
	return func(c *config) {
		if positive(c, "TTL", d, time.Millisecond) {
			c.ttl = d
		}
	}
}

// WithJitter sets the symmetric TTL jitter fraction f in [0, 0.9]: each TTL is
// drawn uniformly from [ttl*(1-f), ttl*(1+f)] and never below 1ms, so keys
// written together do not expire together (cache avalanche). Default 0.1.
func WithJitter(f float64) Option {
	return func(c *config) {
		if !(f >= 0 && f <= 0.9) {
			c.bad("jitter %v outside [0, 0.9]", f)
			return
		}
		c.jitter = f
	}
}

// WithNotFoundTTL sets the TTL of not-found placeholders (default 30s; jittered).
func WithNotFoundTTL(d time.Duration) Option {
	return func(c *config) {
		if positive(c, "not-found TTL", d, time.Millisecond) {
			c.notFoundTTL = d
		}
	}
}

// WithLoadTimeout bounds one loader call (default 5s). The load runs on a
// context detached from the callers so one cancelled caller cannot fail the
// others sharing it; this timeout is what stops it.
func WithLoadTimeout(d time.Duration) Option {
	return func(c *config) {
		if positive(c, "load timeout", d, time.Millisecond) {
			c.loadTimeout = d
		}
	}
}

// WithStrategy selects the write strategy (default DeleteAfterUpdate).
func WithStrategy(s Strategy) Option {
	return func(c *config) {
		if s < DeleteAfterUpdate || s > Lease {
			c.bad("unknown strategy %d", int(s))
			return
		}
		c.strategy = s
	}
}

// WithLease sets the lease TTL (how long a reader may take between its lease
// and its fill; default 5s) and how long other readers wait for the
// leaseholder's fill before reading the source themselves (default 500ms).
func WithLease(ttl, wait time.Duration) Option {
	return func(c *config) {
		if positive(c, "lease TTL", ttl, time.Millisecond) && positive(c, "lease wait", wait, 0) {
			c.leaseTTL, c.leaseWait = ttl, wait
		}
	}
}

// WithDoubleDeleteDelay sets the delay of the durable delete of the
// DoubleDelete strategy (default 1s). Choose it longer than a slow read
// (source read + fill).
func WithDoubleDeleteDelay(d time.Duration) Option {
	return func(c *config) {
		if positive(c, "double-delete delay", d, time.Millisecond) {
			c.ddDelay = d
		}
	}
}

// WithFilter puts a membership filter (e.g. a Bloom filter) in front of the
// loader: a miss for a key the filter proves absent returns ErrNotFound
// without reading the source. Filter errors fail open (the source is read).
func WithFilter(f Filter) Option { return func(c *config) { c.filter = f } }

// WithLocker enables WriteThrough; lockTTL bounds each write (default 10s).
func WithLocker(l Locker, lockTTL time.Duration) Option {
	return func(c *config) {
		if l == nil {
			c.bad("nil locker")
			return
		}
		if positive(c, "lock TTL", lockTTL, time.Millisecond) {
			c.locker, c.lockTTL = l, lockTTL
		}
	}
}

// WithFenceTTL sets how long an entry remembers the last fencing token that
// rebuilt it (default 24h). It must exceed the longest a paused writer can
// stay paused, else its late rebuild is no longer refused.
func WithFenceTTL(d time.Duration) Option {
	return func(c *config) {
		if positive(c, "fence TTL", d, time.Second) {
			c.fenceTTL = d
		}
	}
}

// WithCodec replaces the JSON codec. T must match the Cache's type parameter;
// a mismatch is reported by New.
func WithCodec[T any](cd Codec[T]) Option {
	return func(c *config) {
		if cd == nil {
			c.bad("nil codec")
			return
		}
		c.codec = cd
	}
}

// WithPollInterval sets how often a DeleteWorker looks for due deletes (default 100ms).
func WithPollInterval(d time.Duration) Option {
	return func(c *config) {
		if positive(c, "poll interval", d, time.Millisecond) {
			c.pollInterval = d
		}
	}
}

// WithRetry sets how many times a DeleteWorker tries one delete (default 8)
// and the first retry backoff (default 100ms, doubling, capped at 30s).
func WithRetry(maxAttempts int, backoff time.Duration) Option {
	return func(c *config) {
		if maxAttempts < 1 || maxAttempts > 1000 {
			c.bad("max attempts %d outside [1, 1000]", maxAttempts)
			return
		}
		if positive(c, "retry backoff", backoff, time.Millisecond) {
			c.maxAttempts, c.retryBackoff = maxAttempts, backoff
		}
	}
}

// WithVisibility sets how long a claimed delete stays invisible to other
// workers before it is retried (the crash-recovery delay; default 30s).
func WithVisibility(d time.Duration) Option {
	return func(c *config) {
		if positive(c, "visibility", d, 10*time.Millisecond) {
			c.visibility = d
		}
	}
}

// WithFailureHandler receives deletes that failed WithRetry's attempts; they
// are also kept (the latest 1000) in the "<prefix>cache:{dd}:failed" list.
func WithFailureHandler(f func(key string, err error)) Option {
	return func(c *config) { c.onFailure = f }
}

// WithShardBits sets the bits per Redis bitmap shard of a RedisBloom
// (default 2^23 = 1 MiB per key, range [1024, 2^32]).
func WithShardBits(bits uint64) Option {
	return func(c *config) {
		if bits < 1024 || bits > 1<<32 {
			c.bad("shard bits %d outside [1024, 2^32]", bits)
			return
		}
		c.shardBits = bits
	}
}
