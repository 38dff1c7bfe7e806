package cache

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"
)

// GetMany returns the values of keys. Hits are read with one pipeline of
// single-key GETs (go-redis splits it by node on a cluster, so it is
// cluster-safe without a cross-slot MGET); each miss goes through Get's miss
// path (singleflight, filter, strategy fill), at most 16 at a time. Keys the
// source does not have are absent from the map. The first error other than
// ErrNotFound is returned with whatever was read.
func (c *Cache[T]) GetMany(ctx context.Context, keys []string, load Loader[T]) (map[string]T, error) {
	if load == nil {
		return nil, fmt.Errorf("%w: nil loader", ErrInvalidOption)
	}
	for _, k := range keys {
		if err := validateKey(k); err != nil {
			return nil, err
		}
	}
	out := make(map[string]T, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	pipe := c.rdb.Pipeline()
	cmds := make([]*redis.StringCmd, len(keys))
	for i, k := range keys {
		cmds[i] = pipe.Get(ctx, c.cfg.entry(k).value)
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		c.stats.errors.Add(1)
		return out, fmt.Errorf("cache: get many: %w", err)
	}
	var misses []string
	seen := make(map[string]bool, len(keys))
	for i, cmd := range cmds {
		raw, err := cmd.Result()
		if err != nil {
			if !seen[keys[i]] {
				seen[keys[i]] = true
				misses = append(misses, keys[i])
			}
			continue
		}
		v, derr := c.decodeHit(raw)
		switch {
		case derr == nil:
			out[keys[i]] = v
		case errors.Is(derr, ErrNotFound):
		default:
			return out, derr
		}
	}
	if len(misses) == 0 {
		return out, nil
	}
	vals := make([]T, len(misses))
	found := make([]bool, len(misses))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(16)
	for i, k := range misses {
		g.Go(func() error {
			v, err := c.Get(gctx, k, load)
			if errors.Is(err, ErrNotFound) {
				return nil
			}
			if err != nil {
				return err
			}
			vals[i], found[i] = v, true
			return nil
		})
	}
	err := g.Wait()
	for i, k := range misses {
		if found[i] {
			out[k] = vals[i]
		}
	}
	return out, err
}
