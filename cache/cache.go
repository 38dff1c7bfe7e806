package cache

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Loader reads one key from the source of truth. It returns ErrNotFound (or
// an error wrapping it) when the source has no such key. It runs on a context
// detached from the caller and bounded by WithLoadTimeout.
type Loader[T any] func(ctx context.Context, key string) (T, error)

// Cache is a cache-aside layer over Redis for values of type T. It is safe
// for concurrent use. Values returned to callers that shared one load are the
// same T (copy pointers/maps/slices before mutating them).
type Cache[T any] struct {
	rdb   redis.UniversalClient
	cfg   config
	codec Codec[T]
	group flights
	stats counters
	l1    *l1Cache // nil without WithL1

	l1mu   sync.Mutex
	closed bool
}

// New returns a Cache over rdb (a *redis.Client, *redis.ClusterClient, ...).
func New[T any](rdb redis.UniversalClient, opts ...Option) (*Cache[T], error) {
	if rdb == nil {
		return nil, fmt.Errorf("%w: nil redis client", ErrInvalidOption)
	}
	cfg, err := build(opts)
	if err != nil {
		return nil, err
	}
	c := &Cache[T]{rdb: rdb, cfg: cfg, codec: JSON[T]{}}
	if cfg.codec != nil {
		cd, ok := cfg.codec.(Codec[T])
		if !ok {
			return nil, fmt.Errorf("%w: codec %T is not a Codec for this type", ErrInvalidOption, cfg.codec)
		}
		c.codec = cd
	}
	if cfg.l1Size > 0 {
		c.l1 = newL1(cfg.l1Size, cfg.l1TTL)
	}
	return c, nil
}

// Strategy reports the configured write strategy.
func (c *Cache[T]) Strategy() Strategy { return c.cfg.strategy }

// ttl draws a jittered TTL: uniform in [base*(1-f), base*(1+f)], never below 1ms.
func jitter(base time.Duration, f float64) time.Duration {
	d := base
	if f > 0 {
		d = time.Duration(float64(base) * (1 + f*(2*rand.Float64()-1)))
	}
	if d < time.Millisecond {
		d = time.Millisecond
	}
	return d
}

// Get returns the value of key: from Redis on a hit, else from load, which
// runs once per key per process at a time (singleflight) and, with the Lease
// strategy, once per key across all processes. A source miss is cached as a
// placeholder and returned as ErrNotFound.
func (c *Cache[T]) Get(ctx context.Context, key string, load Loader[T]) (T, error) {
	var zero T
	if err := validateKey(key); err != nil {
		return zero, err
	}
	if load == nil {
		return zero, fmt.Errorf("%w: nil loader", ErrInvalidOption)
	}
	if c.l1 != nil {
		if v, ok := c.l1.get(key); ok {
			c.stats.l1Hits.Add(1)
			if _, nf := v.(l1NotFound); nf {
				return zero, ErrNotFound
			}
			return v.(T), nil
		}
		gen := c.l1.generation()
		v, err := c.getL2(ctx, key, load)
		switch {
		case err == nil:
			c.l1.putIf(gen, key, v)
		case errors.Is(err, ErrNotFound):
			c.l1.putIf(gen, key, l1NotFound{})
		}
		return v, err
	}
	return c.getL2(ctx, key, load)
}

// getL2 is Get below the L1 tier: Redis, then the filter and the load.
func (c *Cache[T]) getL2(ctx context.Context, key string, load Loader[T]) (T, error) {
	var zero T
	vk := c.cfg.valueKey(key)
	raw, err := c.rdb.Get(ctx, vk).Result()
	switch {
	case err == nil:
		return c.decodeHit(raw)
	case !errors.Is(err, redis.Nil):
		c.stats.errors.Add(1)
		return zero, fmt.Errorf("cache: get %q: %w", key, err)
	}
	c.stats.misses.Add(1)
	if f := c.cfg.filter; f != nil {
		ok, ferr := f.MayContain(ctx, key)
		if ferr != nil {
			c.stats.filterErrors.Add(1) // fail open: the source decides
		} else if !ok {
			c.stats.filterRejects.Add(1)
			return zero, ErrNotFound
		}
	}
	return c.miss(ctx, key, c.cfg.entry(key), load)
}

// miss runs or joins the key's flight. The leader's load runs in its own
// goroutine on a context detached from every caller and bounded by
// WithLoadTimeout, so a cancelled caller (even the leader) fails only itself.
func (c *Cache[T]) miss(ctx context.Context, key string, ek entryKeys, load Loader[T]) (T, error) {
	var zero T
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			// A late joiner reads Redis again: usually the flight it waited
			// for has just filled the entry, and this read began after we did.
			raw, err := c.rdb.Get(ctx, ek.value).Result()
			if err == nil {
				return c.decodeHit(raw)
			}
			if !errors.Is(err, redis.Nil) {
				c.stats.errors.Add(1)
				return zero, fmt.Errorf("cache: get %q: %w", key, err)
			}
		}
		f, joined, leader := c.group.join(key)
		if leader {
			lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.loadTimeout)
			go func() {
				defer cancel()
				defer c.group.finish(key, f)
				defer func() {
					if p := recover(); p != nil { // e.g. a panicking codec
						f.val, f.err = nil, fmt.Errorf("%w: %v", ErrLoaderPanic, p)
					}
				}()
				f.val, f.err = c.loadAndFill(lctx, key, ek, load, f)
			}()
		}
		select {
		case <-ctx.Done():
			return zero, ctx.Err()
		case <-f.done:
		}
		if !leader {
			if va := f.validAt.Load(); va == 0 || joined >= va {
				// Joined after the flight fixed its value: a write acknowledged
				// before we arrived may be missing from it. Read Redis again or
				// join a new flight (twice), then read the source for ourselves
				// without filling.
				c.stats.rejoins.Add(1)
				if attempt < 2 {
					continue
				}
				v, err := c.callLoader(ctx, key, load)
				return v, err
			}
			c.stats.sharedLoads.Add(1)
		}
		if f.err != nil {
			return zero, f.err
		}
		v, _ := f.val.(T)
		return v, nil
	}
}

func (c *Cache[T]) decodeHit(raw string) (T, error) {
	var v T
	payload, nf, err := unframe(raw)
	if err != nil {
		c.stats.errors.Add(1)
		return v, err
	}
	if nf {
		c.stats.notFoundHits.Add(1)
		return v, ErrNotFound
	}
	if err := c.codec.Unmarshal([]byte(payload), &v); err != nil {
		c.stats.errors.Add(1)
		return v, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	c.stats.hits.Add(1)
	return v, nil
}

// callLoader runs the user's loader, turning a panic into ErrLoaderPanic so
// that one bad loader cannot crash the process through singleflight.
func (c *Cache[T]) callLoader(ctx context.Context, key string, load Loader[T]) (v T, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: %v", ErrLoaderPanic, p)
		}
	}()
	c.stats.loads.Add(1)
	return load(ctx, key)
}

// loadAndFill is the singleflight leader's work.
func (c *Cache[T]) loadAndFill(ctx context.Context, key string, ek entryKeys, load Loader[T], f *flight) (any, error) {
	if c.cfg.strategy == Lease {
		return c.leaseLoad(ctx, key, ek, load, f)
	}
	// Re-check Redis: a flight that follows a rejoin usually finds the
	// value the previous flight filled.
	c.group.stamp(f)
	if raw, err := c.rdb.Get(ctx, ek.value).Result(); err == nil {
		v, err := c.decodeHit(raw)
		return v, err
	}
	c.group.stamp(f)
	v, err := c.callLoader(ctx, key, load)
	if errors.Is(err, ErrNotFound) {
		// NX: a placeholder must never overwrite a value a writer just set.
		ok, ferr := c.rdb.SetNX(ctx, ek.value, notFoundFrame, jitter(c.cfg.notFoundTTL, c.cfg.jitter)).Result()
		c.countFill(ok, ferr)
		return v, ErrNotFound
	}
	if err != nil {
		c.stats.loadErrors.Add(1)
		return v, err
	}
	payload, err := c.codec.Marshal(v)
	if err != nil {
		c.stats.errors.Add(1)
		return v, fmt.Errorf("cache: encode %q: %w", key, err)
	}
	ttl := jitter(c.cfg.ttl, c.cfg.jitter)
	if c.cfg.strategy == SetNXBackfill {
		ok, ferr := c.rdb.SetNX(ctx, ek.value, frame(payload), ttl).Result()
		c.countFill(ok, ferr)
	} else {
		ferr := c.rdb.Set(ctx, ek.value, frame(payload), ttl).Err()
		c.countFill(ferr == nil, ferr)
	}
	// A failed fill does not fail the read: the caller has the source value.
	return v, nil
}

func (c *Cache[T]) countFill(ok bool, err error) {
	switch {
	case err != nil:
		c.stats.fillErrors.Add(1)
	case ok:
		c.stats.fills.Add(1)
	default:
		c.stats.fillsRefused.Add(1)
	}
}

// Peek returns what Redis holds for key without loading: ok=false on a miss,
// ErrNotFound for a placeholder. It is meant for diagnostics and for the
// consistency harness's divergence check.
func (c *Cache[T]) Peek(ctx context.Context, key string) (v T, ok bool, err error) {
	if err := validateKey(key); err != nil {
		return v, false, err
	}
	raw, err := c.rdb.Get(ctx, c.cfg.entry(key).value).Result()
	if errors.Is(err, redis.Nil) {
		return v, false, nil
	}
	if err != nil {
		return v, false, fmt.Errorf("cache: peek %q: %w", key, err)
	}
	payload, nf, err := unframe(raw)
	if err != nil {
		return v, false, err
	}
	if nf {
		return v, true, ErrNotFound
	}
	if err := c.codec.Unmarshal([]byte(payload), &v); err != nil {
		return v, false, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return v, true, nil
}
