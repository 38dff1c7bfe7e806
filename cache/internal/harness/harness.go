// Package harness is the cache consistency harness: a versioned source of
// truth, writers that bump versions through a cache write strategy, readers
// through the cache, and loaders with injected delays between the source
// read and the cache fill. It counts stale reads (a read returning a version
// older than one acknowledged before the read began) and the final
// divergence between cache and source after quiescence.
//
// It is used by the cache tests and by cache/cmd/consistency.
package harness

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/surgekit/surge/cache"
)

// Source is a versioned source of truth.
type Source interface {
	// Read returns key's current version.
	Read(ctx context.Context, key string) (int64, error)
	// Bump increments key's version and returns the new version once it is
	// durable (committed).
	Bump(ctx context.Context, key string) (int64, error)
}

// MemorySource is an in-memory Source.
type MemorySource struct {
	mu sync.Mutex
	v  map[string]int64
}

// NewMemorySource returns an empty source (every key at version 0).
func NewMemorySource() *MemorySource { return &MemorySource{v: map[string]int64{}} }

// Read implements Source.
func (s *MemorySource) Read(_ context.Context, key string) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.v[key], nil
}

// Bump implements Source.
func (s *MemorySource) Bump(_ context.Context, key string) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.v[key]++
	return s.v[key], nil
}

// Strategies the harness knows, in report order.
var Strategies = []string{"delete-after-update", "setnx-backfill", "double-delete", "lease", "write-through"}

// Config of one run.
type Config struct {
	Strategy      string
	Client        redis.UniversalClient
	Prefix        string
	Locker        cache.Locker // required for write-through
	Source        Source       // default: a new MemorySource
	Keys          int          // default 8
	Readers       int          // default 32
	Writers       int          // default 4
	Reads         int64        // total reads (default 20000)
	MaxLoadDelay  time.Duration
	PauseEvery    int           // one load in PauseEvery pauses for Pause (0 = never)
	Pause         time.Duration // a long pause between source read and fill
	WriteInterval time.Duration // pause between a writer's writes
}

// Result of one run.
type Result struct {
	Strategy   string
	Reads      int64
	StaleReads int64
	Writes     int64
	Divergent  int // keys whose cached value differs from the source at the end
	Keys       int
	Elapsed    time.Duration
	Stats      cache.Stats
}

// StaleRate is StaleReads/Reads.
func (r Result) StaleRate() float64 {
	if r.Reads == 0 {
		return 0
	}
	return float64(r.StaleReads) / float64(r.Reads)
}

func (r Result) String() string {
	return fmt.Sprintf("%-20s reads=%d stale=%d (%.4f%%) writes=%d divergent=%d/%d in %v",
		r.Strategy, r.Reads, r.StaleReads, 100*r.StaleRate(), r.Writes, r.Divergent, r.Keys, r.Elapsed.Round(time.Millisecond))
}

func (c *Config) defaults() error {
	if c.Client == nil {
		return errors.New("harness: nil client")
	}
	if c.Source == nil {
		c.Source = NewMemorySource()
	}
	if c.Keys <= 0 {
		c.Keys = 8
	}
	if c.Readers <= 0 {
		c.Readers = 32
	}
	if c.Writers <= 0 {
		c.Writers = 4
	}
	if c.Reads <= 0 {
		c.Reads = 20000
	}
	if c.MaxLoadDelay <= 0 {
		c.MaxLoadDelay = 2 * time.Millisecond
	}
	if c.WriteInterval <= 0 {
		c.WriteInterval = time.Millisecond
	}
	return nil
}

// Run runs one strategy to completion.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if err := cfg.defaults(); err != nil {
		return Result{}, err
	}
	opts := []cache.Option{cache.WithPrefix(cfg.Prefix), cache.WithTTL(time.Hour)}
	ddDelay := 4*cfg.MaxLoadDelay + cfg.Pause + 20*time.Millisecond
	switch cfg.Strategy {
	case "delete-after-update":
		opts = append(opts, cache.WithStrategy(cache.DeleteAfterUpdate))
	case "setnx-backfill":
		opts = append(opts, cache.WithStrategy(cache.SetNXBackfill))
	case "double-delete":
		opts = append(opts, cache.WithStrategy(cache.DoubleDelete), cache.WithDoubleDeleteDelay(ddDelay))
	case "lease":
		opts = append(opts, cache.WithStrategy(cache.Lease), cache.WithLease(time.Second, 50*time.Millisecond))
	case "write-through":
		if cfg.Locker == nil {
			return Result{}, errors.New("harness: write-through needs a Locker")
		}
		opts = append(opts, cache.WithStrategy(cache.Lease), cache.WithLease(time.Second, 50*time.Millisecond),
			cache.WithLocker(cfg.Locker, 5*time.Second))
	default:
		return Result{}, fmt.Errorf("harness: unknown strategy %q", cfg.Strategy)
	}
	c, err := cache.New[int64](cfg.Client, opts...)
	if err != nil {
		return Result{}, err
	}
	var worker *cache.DeleteWorker
	if cfg.Strategy == "double-delete" {
		worker, err = cache.NewDeleteWorker(cfg.Client, cache.WithPrefix(cfg.Prefix), cache.WithPollInterval(5*time.Millisecond))
		if err != nil {
			return Result{}, err
		}
		if err := worker.Start(); err != nil {
			return Result{}, err
		}
		defer worker.Close()
	}

	keys := make([]string, cfg.Keys)
	acked := make([]atomic.Int64, cfg.Keys) // highest version acknowledged per key
	index := map[string]int{}
	for i := range keys {
		keys[i] = "k" + strconv.Itoa(i)
		index[keys[i]] = i
	}
	var loads atomic.Int64
	load := func(ctx context.Context, key string) (int64, error) {
		v, err := cfg.Source.Read(ctx, key)
		if err != nil {
			return 0, err
		}
		// The injected race window: between the source read and the fill.
		d := time.Duration(rand.Int64N(int64(cfg.MaxLoadDelay) + 1))
		if cfg.PauseEvery > 0 && loads.Add(1)%int64(cfg.PauseEvery) == 0 {
			d += cfg.Pause
		}
		time.Sleep(d)
		return v, nil
	}
	write := func(ctx context.Context, i int) error {
		key := keys[i]
		var ver int64
		bump := func(ctx context.Context) error {
			v, err := cfg.Source.Bump(ctx, key)
			ver = v
			return err
		}
		var err error
		if cfg.Strategy == "write-through" {
			_, err = c.WriteThrough(ctx, key, bump, func(ctx context.Context, key string) (int64, error) {
				return cfg.Source.Read(ctx, key)
			})
			if errors.Is(err, cache.ErrFenced) {
				err = nil
			}
		} else {
			err = c.Update(ctx, key, bump)
		}
		if err != nil {
			return err
		}
		for {
			cur := acked[i].Load()
			if ver <= cur || acked[i].CompareAndSwap(cur, ver) {
				return nil
			}
		}
	}

	start := time.Now()
	var reads, stale, writes atomic.Int64
	var firstErr error
	var errOnce sync.Once
	fail := func(err error) { errOnce.Do(func() { firstErr = err }) }
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < cfg.Writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				case <-ctx.Done():
					return
				default:
				}
				if err := write(ctx, rand.IntN(cfg.Keys)); err != nil {
					fail(err)
					return
				}
				writes.Add(1)
				time.Sleep(cfg.WriteInterval)
			}
		}()
	}
	var rg sync.WaitGroup
	for r := 0; r < cfg.Readers; r++ {
		rg.Add(1)
		go func() {
			defer rg.Done()
			for reads.Add(1) <= cfg.Reads {
				if ctx.Err() != nil {
					return
				}
				i := rand.IntN(cfg.Keys)
				low := acked[i].Load()
				v, err := c.Get(ctx, keys[i], load)
				if err != nil {
					fail(err)
					return
				}
				if v < low {
					stale.Add(1)
				}
			}
		}()
	}
	rg.Wait()
	close(stop)
	wg.Wait()
	if firstErr != nil {
		return Result{}, firstErr
	}
	// Quiescence: let scheduled deletes run, then compare cache with source.
	if worker != nil {
		time.Sleep(ddDelay + 50*time.Millisecond)
		for {
			n, err := worker.ProcessDue(ctx)
			if err != nil {
				return Result{}, err
			}
			if n == 0 {
				break
			}
		}
	}
	res := Result{Strategy: cfg.Strategy, Reads: min(reads.Load(), cfg.Reads), StaleReads: stale.Load(),
		Writes: writes.Load(), Keys: cfg.Keys, Elapsed: time.Since(start), Stats: c.Stats()}
	for _, key := range keys {
		v, ok, err := c.Peek(ctx, key)
		if err != nil {
			return res, err
		}
		src, err := cfg.Source.Read(ctx, key)
		if err != nil {
			return res, err
		}
		if ok && v != src {
			res.Divergent++
		}
	}
	_ = index
	return res, nil
}
