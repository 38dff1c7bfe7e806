package main

// The in-process sale cache of the hot path.

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/surgekit/surge/cache"
)

// saleCache serves sale details on the hot path in two levels: an in-process map
// (every buy reads the sale, so even one Redis round trip per buy would be too much;
// entries are trusted for ttl, which bounds how long another instance's close or
// restock takes to be seen here) in front of surge cache on Redis (Lease strategy:
// singleflight, no stale fill after an Update), which is filled from the database.
// A sale is pre-warmed in both at creation, before its start.
type saleCache struct {
	store        *Store
	l2           *cache.Cache[saleRecord]
	ttl          time.Duration
	mu           sync.RWMutex
	m            map[string]cachedSale
	hits, misses atomic.Int64
}

type cachedSale struct {
	sale Sale
	at   time.Time
}

func newSaleCache(rdb redis.UniversalClient, prefix string, store *Store, ttl time.Duration) (*saleCache, error) {
	l2, err := cache.New[saleRecord](rdb, cache.WithPrefix(prefix), cache.WithStrategy(cache.Lease), cache.WithTTL(10*time.Minute))
	if err != nil {
		return nil, err
	}
	return &saleCache{store: store, l2: l2, ttl: ttl, m: map[string]cachedSale{}}, nil
}

// saleRecord is what the Redis level stores: the sale including its buy path secret,
// which Sale's JSON form (the public API) leaves out.
type saleRecord struct {
	Sale    Sale   `json:"sale"`
	BuyPath string `json:"buy_path"`
}

func (c *saleCache) load(ctx context.Context, key string) (saleRecord, error) {
	sl, err := c.store.Sale(ctx, strings.TrimPrefix(key, "sale:"))
	if errors.Is(err, errNotFound) {
		return saleRecord{}, cache.ErrNotFound
	}
	return saleRecord{Sale: sl, BuyPath: sl.BuyPath}, err
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
	rec, err := c.l2.Get(ctx, "sale:"+id, c.load)
	if errors.Is(err, cache.ErrNotFound) {
		return Sale{}, ErrUnknownSale
	}
	if err != nil {
		return Sale{}, err
	}
	sl := rec.Sale
	sl.BuyPath = rec.BuyPath
	c.put(sl)
	return sl, nil
}

// Warm loads a just-created sale into both levels.
func (c *saleCache) Warm(ctx context.Context, id string) error {
	if err := c.l2.Invalidate(ctx, "sale:"+id); err != nil { // drop a not-found placeholder
		return err
	}
	c.Invalidate(id)
	_, err := c.Get(ctx, id)
	return err
}

// Update changes the sale in the database through write and keeps both levels
// consistent (this instance at once, others within ttl).
func (c *saleCache) Update(ctx context.Context, id string, write func(context.Context) error) error {
	err := c.l2.Update(ctx, "sale:"+id, write)
	c.Invalidate(id)
	return err
}

func (c *saleCache) put(sl Sale) {
	c.mu.Lock()
	c.m[sl.ID] = cachedSale{sale: sl, at: time.Now()}
	c.mu.Unlock()
}

func (c *saleCache) Invalidate(id string) {
	c.mu.Lock()
	delete(c.m, id)
	c.mu.Unlock()
}
