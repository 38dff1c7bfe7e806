package cache_test

import (
	"context"
	"encoding/json"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/surgekit/surge/cache"
	"github.com/surgekit/surge/internal/redistest"
)

// pair runs a and b n times each, interleaved in chunks of 64 so that load
// changes on a shared machine hit both alike, and returns ns/op and
// allocs/op of each.
func pair(n int, a, b func()) (aNs, aAl, bNs, bAl float64) {
	var at, bt time.Duration
	var am, bm uint64
	var m0, m1 runtime.MemStats
	for done := 0; done < n; {
		k := min(64, n-done)
		for _, side := range []int{0, 1} {
			f, t, m := a, &at, &am
			if side == 1 {
				f, t, m = b, &bt, &bm
			}
			runtime.ReadMemStats(&m0)
			start := time.Now()
			for i := 0; i < k; i++ {
				f()
			}
			*t += time.Since(start)
			runtime.ReadMemStats(&m1)
			*m += m1.Mallocs - m0.Mallocs
		}
		done += k
	}
	fn := float64(n)
	return float64(at.Nanoseconds()) / fn, float64(am) / fn, float64(bt.Nanoseconds()) / fn, float64(bm) / fn
}

// BenchmarkHitPath: Cache.Get on a hit against the naive GET + json.Unmarshal
// in the same run. ratio = surge / baseline (1.0 = no overhead).
func BenchmarkHitPath(b *testing.B) {
	ctx := context.Background()
	rdb := redistest.Client(b)
	p := redistest.Prefix(b)
	c, err := cache.New[item](rdb, cache.WithPrefix(p))
	if err != nil {
		b.Fatal(err)
	}
	src := newSource(1)
	if _, err := c.Get(ctx, "sku0", src.load); err != nil {
		b.Fatal(err)
	}
	raw, _ := json.Marshal(item{ID: "sku0", Price: 100})
	if err := rdb.Set(ctx, p+"plain:sku0", raw, time.Hour).Err(); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	sNs, sAl, bNs, bAl := pair(b.N, func() {
		if _, err := c.Get(ctx, "sku0", src.load); err != nil {
			b.Fatal(err)
		}
	}, func() {
		data, err := rdb.Get(ctx, p+"plain:sku0").Bytes()
		if err != nil {
			b.Fatal(err)
		}
		var v item
		if err := json.Unmarshal(data, &v); err != nil {
			b.Fatal(err)
		}
	})
	b.ReportMetric(sNs, "surge-ns/op")
	b.ReportMetric(bNs, "baseline-ns/op")
	b.ReportMetric(sNs/bNs, "ratio")
	b.ReportMetric(sAl, "surge-allocs/op")
	b.ReportMetric(bAl, "baseline-allocs/op")
}

// BenchmarkMissLeaseVsPlain: the cost of one uncontended miss (invalidate,
// then Get: load + fill) with the Lease strategy (two scripts) against the
// plain cache-aside miss (GET + SET) of DeleteAfterUpdate.
func BenchmarkMissLeaseVsPlain(b *testing.B) {
	ctx := context.Background()
	rdb := redistest.Client(b)
	p := redistest.Prefix(b)
	src := newSource(1)
	mk := func(s cache.Strategy) *cache.Cache[item] {
		c, err := cache.New[item](rdb, cache.WithPrefix(p+s.String()+":"), cache.WithStrategy(s))
		if err != nil {
			b.Fatal(err)
		}
		return c
	}
	miss := func(c *cache.Cache[item]) func() {
		return func() {
			if err := c.Invalidate(ctx, "sku0"); err != nil {
				b.Fatal(err)
			}
			if _, err := c.Get(ctx, "sku0", src.load); err != nil {
				b.Fatal(err)
			}
		}
	}
	lc, pc := mk(cache.Lease), mk(cache.DeleteAfterUpdate)
	b.ResetTimer()
	lease, _, plain, _ := pair(b.N, miss(lc), miss(pc))
	for _, c := range []*cache.Cache[item]{lc, pc} {
		if st := c.Stats(); st.Fills != int64(b.N) {
			b.Fatalf("%v: %d fills for %d misses", c.Strategy(), st.Fills, b.N)
		}
	}
	b.ReportMetric(lease, "lease-ns/op")
	b.ReportMetric(plain, "plain-ns/op")
	b.ReportMetric(lease/plain, "ratio")
}

// BenchmarkContendedMiss: per op, the hot key is invalidated and 64 callers
// spread over 4 processes miss it at once, with a 1ms source. Reports
// source reads per op: the herd each strategy lets through.
func BenchmarkContendedMiss(b *testing.B) {
	ctx := context.Background()
	rdb := redistest.Client(b)
	p := redistest.Prefix(b)
	for _, s := range []cache.Strategy{cache.Lease, cache.DeleteAfterUpdate} {
		b.Run(s.String(), func(b *testing.B) {
			var procs []*cache.Cache[item]
			for i := 0; i < 4; i++ {
				c, err := cache.New[item](rdb, cache.WithPrefix(p+s.String()+":"), cache.WithStrategy(s))
				if err != nil {
					b.Fatal(err)
				}
				procs = append(procs, c)
			}
			var reads atomic.Int64
			load := func(ctx context.Context, key string) (item, error) {
				reads.Add(1)
				time.Sleep(time.Millisecond)
				return item{ID: key, Price: 1}, nil
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := procs[0].Invalidate(ctx, "hot"); err != nil {
					b.Fatal(err)
				}
				var wg sync.WaitGroup
				for g := 0; g < 64; g++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						if _, err := procs[g%4].Get(ctx, "hot", load); err != nil {
							b.Error(err)
						}
					}()
				}
				wg.Wait()
			}
			b.ReportMetric(float64(reads.Load())/float64(b.N), "source-reads/op")
		})
	}
}

// BenchmarkGetMany: 100 keys, pipelined, all hits.
func BenchmarkGetMany(b *testing.B) {
	ctx := context.Background()
	rdb := redistest.Client(b)
	c, err := cache.New[item](rdb, cache.WithPrefix(redistest.Prefix(b)))
	if err != nil {
		b.Fatal(err)
	}
	src := newSource(100)
	keys := make([]string, 100)
	for i := range keys {
		keys[i] = "sku" + strconv.Itoa(i)
	}
	if _, err := c.GetMany(ctx, keys, src.load); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if m, err := c.GetMany(ctx, keys, src.load); err != nil || len(m) != 100 {
			b.Fatal(len(m), err)
		}
	}
}
