package cache_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/surgekit/surge/cache"
	"github.com/surgekit/surge/internal/redistest"
)

// Thundering herd (cache breakdown): thousands of concurrent misses on one
// hot key across several "processes" (Cache instances with their own
// singleflight). With Lease the source is read once cluster-wide; with the
// baseline at most once per process.
func TestThunderingHerd(t *testing.T) {
	for _, tc := range []struct {
		strategy cache.Strategy
		maxReads int64
	}{
		{cache.Lease, 1},
		{cache.DeleteAfterUpdate, 4},
	} {
		t.Run(tc.strategy.String(), func(t *testing.T) {
			rdb := redistest.Client(t)
			src := newSource(1)
			src.delay = 50 * time.Millisecond
			var procs []*cache.Cache[item]
			for i := 0; i < 4; i++ {
				procs = append(procs, newCache(t, rdb, cache.WithStrategy(tc.strategy), cache.WithLease(5*time.Second, 5*time.Second)))
			}
			const callers = 2000
			var wg sync.WaitGroup
			start := make(chan struct{})
			errs := make(chan error, callers)
			for i := 0; i < callers; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					v, err := procs[i%len(procs)].Get(context.Background(), "sku0", src.load)
					if err == nil && v.Price != 100 {
						err = errors.New("wrong value")
					}
					if err != nil {
						errs <- err
					}
				}()
			}
			close(start)
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			if n := src.total.Load(); n < 1 || n > tc.maxReads {
				t.Fatalf("%d callers caused %d source reads, want 1..%d", callers, n, tc.maxReads)
			}
			t.Logf("%d callers on %d processes: %d source reads", callers, len(procs), src.total.Load())
		})
	}
}

// Avalanche: keys filled together must not expire together. With 20% jitter
// the TTLs of 200 keys filled at once spread over (nearly) the whole
// [0.8, 1.2]·TTL band; without jitter they sit within a few ms.
func TestAvalancheExpirySpread(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Client(t)
	src := newSource(200)
	spread := func(c *cache.Cache[item], prefix string) (lo, hi time.Duration) {
		lo = time.Hour
		for i := 0; i < 200; i++ {
			key := "sku" + strconv.Itoa(i)
			if _, err := c.Get(ctx, key, src.load); err != nil {
				t.Fatal(err)
			}
			d, err := rdb.PTTL(ctx, prefix+"cache:{"+key+"}").Result()
			if err != nil || d <= 0 {
				t.Fatalf("pttl %v %v", d, err)
			}
			lo, hi = min(lo, d), max(hi, d)
		}
		return lo, hi
	}
	p := redistest.Prefix(t)
	jit, err := cache.New[item](rdb, cache.WithPrefix(p+"j:"), cache.WithTTL(100*time.Second), cache.WithJitter(0.2))
	if err != nil {
		t.Fatal(err)
	}
	lo, hi := spread(jit, p+"j:")
	if lo < 79*time.Second || hi > 121*time.Second || hi-lo < 30*time.Second {
		t.Fatalf("jittered TTLs in [%v, %v]; want a ~40s spread inside [80s, 120s]", lo, hi)
	}
	flat, err := cache.New[item](rdb, cache.WithPrefix(p+"f:"), cache.WithTTL(100*time.Second), cache.WithJitter(0))
	if err != nil {
		t.Fatal(err)
	}
	lo2, hi2 := spread(flat, p+"f:")
	if hi2-lo2 > 5*time.Second {
		t.Fatalf("unjittered TTLs in [%v, %v]", lo2, hi2)
	}
	t.Logf("jitter 0.2: TTLs %v..%v; jitter 0: %v..%v", lo, hi, lo2, hi2)

	// A tiny TTL with maximum jitter never rounds to zero (no PX 0 error,
	// no immortal key).
	tiny, err := cache.New[item](rdb, cache.WithPrefix(p+"t:"), cache.WithTTL(time.Millisecond), cache.WithJitter(0.9))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 50; i++ {
		if _, err := tiny.Get(ctx, "sku"+strconv.Itoa(i), src.load); err != nil {
			t.Fatal(err)
		}
	}
	if st := tiny.Stats(); st.FillErrors != 0 || st.Fills != 50 {
		t.Fatalf("tiny TTL fills: %+v", st)
	}
}

// Penetration: ids that do not exist reach the source once per placeholder
// TTL, whatever the request rate and the number of processes, then again
// after the placeholder expires.
func TestPenetrationPlaceholder(t *testing.T) {
	for _, s := range []cache.Strategy{cache.DeleteAfterUpdate, cache.Lease} {
		t.Run(s.String(), func(t *testing.T) {
			ctx := context.Background()
			rdb, advance := clientWithClock(t)
			src := newSource(0) // nothing exists
			src.delay = 10 * time.Millisecond
			var procs []*cache.Cache[item]
			for i := 0; i < 3; i++ {
				procs = append(procs, newCache(t, rdb, cache.WithStrategy(s), cache.WithNotFoundTTL(30*time.Second),
					cache.WithLease(5*time.Second, 5*time.Second)))
			}
			// Warm each id once, then hammer from all processes.
			const ids = 20
			for i := 0; i < ids; i++ {
				if _, err := procs[0].Get(ctx, "ghost"+strconv.Itoa(i), src.load); !errors.Is(err, cache.ErrNotFound) {
					t.Fatalf("want ErrNotFound, got %v", err)
				}
			}
			var wg sync.WaitGroup
			for g := 0; g < 300; g++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for r := 0; r < 10; r++ {
						id := "ghost" + strconv.Itoa((g+r)%ids)
						if _, err := procs[g%3].Get(ctx, id, src.load); !errors.Is(err, cache.ErrNotFound) {
							t.Errorf("want ErrNotFound, got %v", err)
							return
						}
					}
				}()
			}
			wg.Wait()
			for i := 0; i < ids; i++ {
				if n := src.readsOf("ghost" + strconv.Itoa(i)); n != 1 {
					t.Fatalf("ghost%d reached the source %d times within the placeholder TTL", i, n)
				}
			}
			// After the placeholder expires the source is asked again.
			short := newCache(t, rdb, cache.WithStrategy(s), cache.WithNotFoundTTL(300*time.Millisecond), cache.WithJitter(0.1))
			for i := 0; i < 2; i++ {
				if _, err := short.Get(ctx, "late", src.load); !errors.Is(err, cache.ErrNotFound) {
					t.Fatal(err)
				}
			}
			advance(400 * time.Millisecond)
			if _, err := short.Get(ctx, "late", src.load); !errors.Is(err, cache.ErrNotFound) {
				t.Fatal(err)
			}
			if n := src.readsOf("late"); n != 2 {
				t.Fatalf("reads of an expired placeholder's id = %d, want 2", n)
			}
		})
	}
}
