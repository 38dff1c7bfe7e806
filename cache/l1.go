package cache

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// WithL1 adds an in-process tier in front of Redis: at most maxEntries
// values, each kept for at most ttl. Invalidations by this Cache (Update,
// Invalidate, WriteThrough) drop the local entry at once and are published
// on "<prefix>cache:l1"; other instances drop theirs when they receive it,
// which needs StartL1Sync. The L1 weakens every strategy's guarantee: a read
// served from L1 may be stale for the pub/sub delivery delay, and for up to
// ttl if a message is lost (the subscriber clears the whole L1 whenever its
// subscription is re-established, but Redis pub/sub itself is at-most-once).
// Keep ttl short (default use: 100ms–5s for the hottest keys).
func WithL1(maxEntries int, ttl time.Duration) Option {
	return func(c *config) {
		if maxEntries < 1 || maxEntries > 1<<24 {
			c.bad("L1 size %d outside [1, 2^24]", maxEntries)
			return
		}
		if positive(c, "L1 TTL", ttl, time.Millisecond) {
			c.l1Size, c.l1TTL = maxEntries, ttl
		}
	}
}

// l1NotFound marks a cached absence (distinct from any user value).
type l1NotFound struct{}

type l1Entry struct {
	val     any
	expires time.Time
}

// l1Cache is a bounded map with random eviction: O(1), no per-hit writes,
// and good enough for a tier that only holds the hottest keys briefly.
type l1Cache struct {
	mu   sync.RWMutex
	gen  uint64 // bumped by every drop/clear, under mu
	m    map[string]l1Entry
	max  int
	ttl  time.Duration
	stop context.CancelFunc
	sub  *redis.PubSub
	done chan struct{}
}

func newL1(max int, ttl time.Duration) *l1Cache {
	return &l1Cache{m: make(map[string]l1Entry, max), max: max, ttl: ttl}
}

func (l *l1Cache) get(key string) (any, bool) {
	l.mu.RLock()
	e, ok := l.m[key]
	l.mu.RUnlock()
	if !ok || time.Now().After(e.expires) {
		return nil, false
	}
	return e.val, true
}

// generation is read before a lower-tier read; putIf stores the result only
// if no invalidation arrived meanwhile (else the value may predate it).
func (l *l1Cache) generation() uint64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.gen
}

func (l *l1Cache) putIf(gen uint64, key string, v any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.gen != gen {
		return
	}
	if _, ok := l.m[key]; !ok && len(l.m) >= l.max {
		for k := range l.m { // random victim (map order)
			delete(l.m, k)
			break
		}
	}
	l.m[key] = l1Entry{val: v, expires: time.Now().Add(l.ttl)}
}

func (l *l1Cache) drop(key string) {
	l.mu.Lock()
	l.gen++
	delete(l.m, key)
	l.mu.Unlock()
}

func (l *l1Cache) clear() {
	l.mu.Lock()
	l.gen++
	clear(l.m)
	l.mu.Unlock()
}

func (c *config) l1Channel() string { return c.prefix + "cache:l1" }

// l1Invalidate drops key locally and tells the other instances.
func (c *Cache[T]) l1Invalidate(ctx context.Context, key string) {
	if c.l1 == nil {
		return
	}
	c.l1.drop(key)
	if err := c.rdb.Publish(ctx, c.cfg.l1Channel(), key).Err(); err != nil {
		c.stats.errors.Add(1)
	}
}

// StartL1Sync subscribes to other instances' invalidations until Close. It
// returns once the subscription is confirmed. Without WithL1 it is an error.
func (c *Cache[T]) StartL1Sync(ctx context.Context) error {
	if c.l1 == nil {
		return fmt.Errorf("%w: StartL1Sync without WithL1", ErrInvalidOption)
	}
	c.l1mu.Lock()
	defer c.l1mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	if c.l1.stop != nil {
		return errors.New("cache: L1 sync already started")
	}
	sub := c.rdb.Subscribe(ctx, c.cfg.l1Channel())
	if _, err := sub.Receive(ctx); err != nil { // the subscribe confirmation
		_ = sub.Close()
		return fmt.Errorf("cache: L1 subscribe: %w", err)
	}
	// Anything cached before the subscription existed may have missed an
	// invalidation.
	c.l1.clear()
	sctx, stop := context.WithCancel(context.Background())
	c.l1.stop, c.l1.sub, c.l1.done = stop, sub, make(chan struct{})
	go c.l1Loop(sctx, sub)
	return nil
}

func (c *Cache[T]) l1Loop(ctx context.Context, sub *redis.PubSub) {
	defer close(c.l1.done)
	for {
		msg, err := sub.Receive(ctx)
		if ctx.Err() != nil {
			return
		}
		switch m := msg.(type) {
		case *redis.Message:
			c.l1.drop(m.Payload)
		case *redis.Subscription:
			// (Re)subscribed after a reconnect: messages may have been lost.
			c.l1.clear()
		}
		if err != nil {
			// go-redis reconnects on the next Receive; until then nothing is
			// known, so forget everything.
			c.l1.clear()
			select {
			case <-ctx.Done():
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
}

// Close stops the L1 subscriber (if started) and waits for it. The Cache
// must not be used afterwards for L1 sync; Get keeps working.
func (c *Cache[T]) Close() error {
	c.l1mu.Lock()
	c.closed = true
	var stop context.CancelFunc
	var sub *redis.PubSub
	var done chan struct{}
	if c.l1 != nil {
		stop, sub, done = c.l1.stop, c.l1.sub, c.l1.done
	}
	c.l1mu.Unlock()
	if stop != nil {
		stop()
		_ = sub.Close() // interrupts a blocked Receive
		<-done
	}
	return nil
}
