package main

// In-process helpers. TEMPORARY stand-ins, each replaced by the surge package named
// in its comment once that package is committed.

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// soldOutGate remembers, per sale, that Redis said "sold out", so later buyers are
// rejected without a round trip. The memory is trusted for ttl only: a release or a
// restock on another instance reopens every gate within ttl (this instance reopens
// at once). Stand-in for the stock package's local sold-out gate.
type soldOutGate struct {
	ttl  time.Duration
	mu   sync.RWMutex
	m    map[string]time.Time // sale -> trusted until
	hits atomic.Int64
}

func newSoldOutGate(ttl time.Duration) *soldOutGate {
	return &soldOutGate{ttl: ttl, m: map[string]time.Time{}}
}

func (g *soldOutGate) SoldOut(sale string, now time.Time) bool {
	g.mu.RLock()
	until, ok := g.m[sale]
	g.mu.RUnlock()
	if ok && now.Before(until) {
		g.hits.Add(1)
		return true
	}
	return false
}

func (g *soldOutGate) MarkSoldOut(sale string, now time.Time) {
	g.mu.Lock()
	g.m[sale] = now.Add(g.ttl)
	g.mu.Unlock()
}

func (g *soldOutGate) Reopen(sale string) {
	g.mu.Lock()
	delete(g.m, sale)
	g.mu.Unlock()
}

// userLimiter is a per-user token bucket with bounded memory (the table is dropped
// when it grows past maxUsers, which only ever forgives). Stand-in for surge
// ratelimit; it limits per instance, not across instances.
type userLimiter struct {
	rate     float64
	burst    float64
	mu       sync.Mutex
	m        map[string]*bucket
	rejected atomic.Int64
	allowed  atomic.Int64
}

type bucket struct {
	tokens float64
	last   time.Time
}

const maxUsers = 1 << 20

func newUserLimiter(rate float64, burst int) *userLimiter {
	return &userLimiter{rate: rate, burst: float64(burst), m: map[string]*bucket{}}
}

func (l *userLimiter) Allow(user string, now time.Time) bool {
	l.mu.Lock()
	b := l.m[user]
	if b == nil {
		if len(l.m) >= maxUsers {
			l.m = map[string]*bucket{}
		}
		b = &bucket{tokens: l.burst, last: now}
		l.m[user] = b
	}
	b.tokens = min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	ok := b.tokens >= 1
	if ok {
		b.tokens--
	}
	l.mu.Unlock()
	if ok {
		l.allowed.Add(1)
	} else {
		l.rejected.Add(1)
	}
	return ok
}

// saleCache serves sale details from memory, filled from the DB, pre-warmed at
// creation and invalidated on change. Stand-in for surge cache (which adds
// singleflight and a shared Redis layer).
type saleCache struct {
	store        *Store
	ttl          time.Duration
	mu           sync.RWMutex
	m            map[string]cachedSale
	hits, misses atomic.Int64
}

type cachedSale struct {
	sale Sale
	at   time.Time
}

func newSaleCache(store *Store, ttl time.Duration) *saleCache {
	return &saleCache{store: store, ttl: ttl, m: map[string]cachedSale{}}
}

func (c *saleCache) Get(ctx context.Context, id string) (Sale, error) {
	c.mu.RLock()
	e, ok := c.m[id]
	c.mu.RUnlock()
	if ok && time.Since(e.at) < c.ttl {
		c.hits.Add(1)
		return e.sale, nil
	}
	c.misses.Add(1)
	sl, err := c.store.Sale(ctx, id)
	if errors.Is(err, errNotFound) {
		return Sale{}, ErrUnknownSale
	}
	if err != nil {
		return Sale{}, err
	}
	c.Put(sl)
	return sl, nil
}

func (c *saleCache) Put(sl Sale) {
	c.mu.Lock()
	c.m[sl.ID] = cachedSale{sale: sl, at: time.Now()}
	c.mu.Unlock()
}

func (c *saleCache) Invalidate(id string) {
	c.mu.Lock()
	delete(c.m, id)
	c.mu.Unlock()
}
