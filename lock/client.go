package lock

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Client hands out locks. Build it with New (one Redis, or a Redis Cluster) or
// NewRedlock (N independent masters); both return the same type, so switching
// is a change of constructor. A Client is safe for concurrent use.
type Client struct {
	cfg     config
	be      backend
	scripts *scripts
	stats   counters

	mu     sync.Mutex
	closed bool
	held   map[*Lock]struct{}
	wg     sync.WaitGroup // watchdog goroutines
}

// backend is one way of holding a lease: a single Redis or a Redlock quorum.
type backend interface {
	// acquire makes one attempt. It returns errContended when another owner
	// holds the lock; other errors are Redis failures (wrapping ErrNoQuorum
	// when a Redlock majority could not be reached).
	acquire(ctx context.Context, k keys, token string, ttl time.Duration, ac *acquireConfig) (grant, error)
	// release deletes the lock if token owns it; ErrNotHeld otherwise.
	release(ctx context.Context, k keys, token string) error
	// refresh sets a new lease if token owns it and returns the new local
	// validity; ErrNotHeld when the lock is definitely gone.
	refresh(ctx context.Context, k keys, token string, ttl time.Duration) (time.Time, error)
	// pttl is the owner-checked remaining lease; ErrNotHeld when not owned.
	pttl(ctx context.Context, k keys, token string) (time.Duration, error)
	redlock() bool
}

type grant struct {
	fence    int64
	until    time.Time // local time before which the lease is certainly ours
	replicas int
}

// errContended is internal: one attempt found the lock held.
var errContended = errors.New("lock: held by another owner")

type keys struct {
	lock, fence string
}

// keysFor builds the cluster-safe layout: the lock name is the hash tag, so
// the lock and its fencing counter live in one slot.
func (c *Client) keysFor(name string) keys {
	lk := c.cfg.prefix + "lock:{" + name + "}"
	return keys{lock: lk, fence: lk + ":fence"}
}

// New returns a Client for single-node locks on rdb (a *redis.Client, a
// *redis.ClusterClient, a Sentinel failover client, ...).
func New(rdb redis.UniversalClient, opts ...Option) (*Client, error) {
	if rdb == nil {
		return nil, argErr("client", "nil redis client")
	}
	c, err := newClient(opts)
	if err != nil {
		return nil, err
	}
	c.be = &single{rdb: rdb, s: c.scripts, drift: c.cfg.drift}
	return c, nil
}

// NewRedlock returns a Client whose locks need a majority of nodes, which must
// be independent masters (not replicas of each other, not one cluster). At
// least 3 nodes; an odd number is the sensible choice.
func NewRedlock(nodes []redis.UniversalClient, opts ...Option) (*Client, error) {
	if len(nodes) < 3 {
		return nil, argErr("nodes", "%d given, Redlock needs at least 3", len(nodes))
	}
	for i, n := range nodes {
		if n == nil {
			return nil, argErr("nodes", "node %d is nil", i)
		}
	}
	c, err := newClient(opts)
	if err != nil {
		return nil, err
	}
	c.be = &redlock{nodes: append([]redis.UniversalClient(nil), nodes...), s: c.scripts,
		quorum: len(nodes)/2 + 1, drift: c.cfg.drift, fence: c.cfg.fence}
	return c, nil
}

func newClient(opts []Option) (*Client, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Client{cfg: cfg, scripts: newScripts(), held: make(map[*Lock]struct{})}, nil
}

// Stats returns a snapshot of the counters.
func (c *Client) Stats() Stats { return c.stats.snapshot() }

// Acquire obtains the lock named key for a lease of ttl. On contention it
// waits as the Retry (WithRetry, default NoRetry) and WithWait allow; the
// error then matches ErrNotObtained, and also ctx.Err() when the context
// ended first. The returned Lock's Context is cancelled when the lock is
// lost, released, past its validity or past its maximum hold time.
func (c *Client) Acquire(ctx context.Context, key string, ttl time.Duration, opts ...AcquireOption) (*Lock, error) {
	if err := validateKey(key); err != nil {
		return nil, err
	}
	if err := validateTTL(ttl); err != nil {
		return nil, err
	}
	ttl = ttl.Truncate(time.Millisecond)
	ac := acquireConfig{}
	for _, o := range c.cfg.defaults {
		o(&ac)
	}
	for _, o := range opts {
		if o != nil {
			o(&ac)
		}
	}
	if err := ac.validate(ttl); err != nil {
		return nil, err
	}
	if ac.replicas > 0 {
		if err := c.be.(interface{ canWait() error }).canWait(); err != nil {
			return nil, err
		}
	}
	if ctx == nil {
		return nil, argErr("context", "nil")
	}
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}

	k := c.keysFor(key)
	start := time.Now()
	var deadline time.Time
	if ac.wait > 0 {
		deadline = start.Add(ac.wait)
	}
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			c.stats.notObtained.Add(1)
			return nil, fmt.Errorf("lock %q: %w: %w", key, ErrNotObtained, err)
		}
		// A fresh token per attempt: a late reply to an abandoned attempt
		// can never be mistaken for this one.
		token := rand.Text()
		g, err := c.be.acquire(ctx, k, token, ttl, &ac)
		if err == nil && !time.Now().Before(g.until) {
			// Granted, but the reply came too late to be sure of any of
			// the lease: give it back and treat it as not obtained.
			c.releaseDetached(ctx, k, token)
			err = errContended
		}
		if err == nil {
			l := c.newLock(ctx, key, k, token, ttl, start, g, &ac)
			if l == nil { // closed meanwhile
				c.releaseDetached(ctx, k, token)
				return nil, ErrClosed
			}
			c.stats.observeAcquire(time.Since(start))
			return l, nil
		}
		if cerr := ctx.Err(); cerr != nil {
			c.stats.notObtained.Add(1)
			return nil, fmt.Errorf("lock %q: %w: %w", key, ErrNotObtained, cerr)
		}
		var final error
		switch {
		case errors.Is(err, errContended):
			c.stats.contended.Add(1)
			final = fmt.Errorf("lock %q: %w", key, ErrNotObtained)
		case errors.Is(err, ErrNoQuorum):
			// Redlock: a minority of masters failing is transient by
			// design, so the retry strategy applies to it too.
			c.stats.errors.Add(1)
			final = fmt.Errorf("lock %q: %w", key, err)
		default:
			c.stats.errors.Add(1)
			return nil, fmt.Errorf("lock %q: %w", key, err)
		}
		wait, ok := ac.retry.Backoff(attempt)
		if ok && !deadline.IsZero() {
			left := time.Until(deadline)
			if left <= 0 {
				ok = false
			} else if wait > left {
				wait = left // one last attempt at the deadline
			}
		}
		if !ok {
			c.stats.notObtained.Add(1)
			return nil, final
		}
		if timer == nil {
			timer = time.NewTimer(wait)
		} else {
			timer.Reset(wait)
		}
		select {
		case <-ctx.Done():
			c.stats.notObtained.Add(1)
			return nil, fmt.Errorf("lock %q: %w: %w", key, ErrNotObtained, ctx.Err())
		case <-timer.C:
		}
	}
}

// releaseDetached deletes a lock that will never be handed out.
func (c *Client) releaseDetached(ctx context.Context, k keys, token string) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.releaseTimeout)
	defer cancel()
	_ = c.be.release(rctx, k, token)
}

// Close releases every lock this Client still holds (their contexts are
// cancelled with ErrClosed), stops their watchdogs and waits for them. Later
// Acquire calls return ErrClosed. Close does not close the Redis clients.
func (c *Client) Close() error {
	c.mu.Lock()
	c.closed = true
	locks := make([]*Lock, 0, len(c.held))
	for l := range c.held {
		locks = append(locks, l)
	}
	c.mu.Unlock()
	var errs []error
	for _, l := range locks {
		if err := l.release(context.Background(), ErrClosed); err != nil && !errors.Is(err, ErrNotHeld) {
			errs = append(errs, err)
		}
	}
	c.wg.Wait()
	return errors.Join(errs...)
}

func (c *Client) forget(l *Lock) {
	c.mu.Lock()
	delete(c.held, l)
	c.mu.Unlock()
}

func margin(ttl time.Duration, drift float64) time.Duration {
	// The Redlock paper's drift allowance: a fraction of the TTL plus 2ms for
	// the granularity of expiry on the server.
	return time.Duration(float64(ttl)*drift) + 2*time.Millisecond
}
