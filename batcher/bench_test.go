package batcher

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Throughput benchmarks run the batcher and the naive baseline in the same
// benchmark, on the same items and producers, and report items/s for each and the
// ratio. The baseline is what the batcher replaces: one channel send per item, a
// consumer goroutine calling the (no-op) flush once per item.
//
//	go test -run '^$' -bench . -benchtime 2s ./batcher/

const benchChunk = 64

// produce runs producers goroutines that together hand over n items through put
// (each goroutine gets a contiguous id range), and returns the wall time.
func produce(producers, n int, put func(lo, hi int)) time.Duration {
	start := time.Now()
	var wg sync.WaitGroup
	per := (n + producers - 1) / producers
	for p := range producers {
		lo, hi := p*per, min(n, (p+1)*per)
		if lo >= hi {
			continue
		}
		wg.Go(func() { put(lo, hi) })
	}
	wg.Wait()
	return time.Since(start)
}

// baselineChannel pushes n items through a channel, one flush per item.
func baselineChannel(producers, n int, cost time.Duration) time.Duration {
	ch := make(chan int64, 1024)
	var count, sum int64
	done := make(chan struct{})
	flush := func(_ context.Context, items []int64) error {
		spin(cost)
		for _, v := range items {
			count++
			sum += v
		}
		return nil
	}
	go func() {
		var one [1]int64
		for v := range ch {
			one[0] = v
			_ = flush(context.Background(), one[:])
		}
		close(done)
	}()
	start := time.Now()
	produce(producers, n, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			ch <- int64(i)
		}
	})
	close(ch)
	<-done
	if want := int64(n) * int64(n-1) / 2; count != int64(n) || sum != want {
		panic(fmt.Sprintf("baseline delivered %d of %d", count, n))
	}
	return time.Since(start)
}

// surgeRun pushes n items through a Batcher with a no-op (counting) flush,
// including Close, and checks count and checksum.
// Modes of surgeRun.
const (
	modeAdd = iota
	modeAddMany
	modeProducer
)

func surgeRun(tb testing.TB, producers, n int, mode int, cost time.Duration, opts ...Option) time.Duration {
	var count, sum atomic.Int64
	b, err := New(func(_ context.Context, items []int64) error {
		spin(cost)
		var s int64
		for _, v := range items {
			s += v
		}
		count.Add(int64(len(items)))
		sum.Add(s)
		return nil
	}, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	ctx := context.Background()
	start := time.Now()
	produce(producers, n, func(lo, hi int) {
		if mode == modeProducer {
			p, err := b.NewProducer(benchChunk)
			if err != nil {
				panic(err)
			}
			for i := lo; i < hi; i++ {
				if err := p.Add(ctx, int64(i)); err != nil {
					panic(err)
				}
			}
			if err := p.Close(ctx); err != nil {
				panic(err)
			}
			return
		}
		if mode == modeAddMany {
			buf := make([]int64, 0, benchChunk)
			for i := lo; i < hi; {
				buf = buf[:0]
				for ; i < hi && len(buf) < benchChunk; i++ {
					buf = append(buf, int64(i))
				}
				if _, err := b.AddMany(ctx, buf); err != nil {
					panic(err)
				}
			}
			return
		}
		for i := lo; i < hi; i++ {
			if err := b.Add(ctx, int64(i)); err != nil {
				panic(err)
			}
		}
	})
	if err := b.Close(ctx); err != nil {
		tb.Fatal(err)
	}
	d := time.Since(start)
	want := int64(n) * int64(n-1) / 2
	if count.Load() != int64(n) || sum.Load() != want {
		tb.Fatalf("delivered %d items (sum %d), want %d (sum %d)", count.Load(), sum.Load(), n, want)
	}
	return d
}

func perSec(n int, d time.Duration) float64 { return float64(n) / d.Seconds() }

// spin busy-waits d: a stand-in for the fixed cost of one write to a sink (a
// syscall, a round trip) that does not yield the CPU to the benchmark's producers.
func spin(d time.Duration) {
	for t := time.Now(); time.Since(t) < d; {
	}
}

// BenchmarkThroughput: items/s, batcher vs channel-per-item, in the same run. One
// op = one item through each of: the baseline, Add, AddMany (chunks of 64). The
// flushcost cases give every flush call a fixed cost, as a real sink has.
func BenchmarkThroughput(b *testing.B) {
	type tc struct {
		producers, shards int
		cost              time.Duration
	}
	for _, c := range []tc{{1, 1, 0}, {8, 1, 0}, {8, 2, 0}, {8, 4, 0}, {8, 1, 2 * time.Microsecond}} {
		b.Run(fmt.Sprintf("producers=%d/shards=%d/flushcost=%v", c.producers, c.shards, c.cost), func(b *testing.B) {
			n := max(b.N, 1)
			if c.cost > 0 {
				n = max(b.N/16, 1) // the baseline pays the cost per item
			}
			opts := []Option{WithShards(c.shards), WithMaxItems(256), WithQueueSize(64 * 256)}
			b.ResetTimer()
			base := baselineChannel(c.producers, n, c.cost)
			add := surgeRun(b, c.producers, n, modeAdd, c.cost, opts...)
			many := surgeRun(b, c.producers, n, modeAddMany, c.cost, opts...)
			prod := surgeRun(b, c.producers, n, modeProducer, c.cost, opts...)
			b.ReportMetric(perSec(n, base)/1e6, "Mitems/s-chan")
			b.ReportMetric(perSec(n, add)/1e6, "Mitems/s-Add")
			b.ReportMetric(perSec(n, many)/1e6, "Mitems/s-AddMany")
			b.ReportMetric(perSec(n, prod)/1e6, "Mitems/s-Producer")
			b.ReportMetric(float64(base)/float64(prod), "x-Producer/chan")
			b.ReportMetric(float64(base)/float64(add), "x-Add/chan")
			b.ReportMetric(float64(base)/float64(many), "x-AddMany/chan")
		})
	}
}

// BenchmarkMillionExactlyOnce is the 1M-item proof outside -race budgets: 1M
// items from 64 goroutines through 8 keyed shards, counted and checksummed, with
// a string key (WithKey) and an integer key (WithKeyHash).
func BenchmarkMillionExactlyOnce(b *testing.B) {
	const n = 1_000_000
	keys := map[string]Option{
		"WithKey":     WithKey(func(v int64) string { return string(rune('a' + v%26)) }),
		"WithKeyHash": WithKeyHash(func(v int64) uint64 { return uint64(v % 26) }),
	}
	for _, name := range []string{"WithKey", "WithKeyHash"} {
		b.Run(name, func(b *testing.B) {
			for range b.N {
				d := surgeRun(b, 64, n, modeAdd, 0, keys[name], WithShards(8))
				b.ReportMetric(perSec(n, d)/1e6, "Mitems/s")
			}
		})
	}
}

// BenchmarkLowLoadLatency: one item at a time (the batch never fills), measuring
// Submit → Future done. With the batcher this is the max wait plus timer and
// wake-up slack; the channel baseline has no wait at all. Reports percentiles and
// p99 / max wait (≤ 1 means the added latency stays within the configured bound).
func BenchmarkLowLoadLatency(b *testing.B) {
	for _, mw := range []time.Duration{time.Millisecond, 5 * time.Millisecond} {
		b.Run(fmt.Sprintf("maxwait=%v", mw), func(b *testing.B) { lowLoadLatency(b, mw) })
	}
}

func lowLoadLatency(b *testing.B, maxWait time.Duration) {
	bt, err := New(func(context.Context, []int) error { return nil }, WithMaxWait(maxWait))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	// Baseline: channel per item, the consumer signals completion per item.
	type req struct {
		v    int
		done chan struct{}
	}
	ch := make(chan req)
	go func() {
		for r := range ch {
			close(r.done)
		}
	}()
	lat := make([]time.Duration, 0, b.N)
	base := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		t0 := time.Now()
		f, err := bt.Submit(ctx, i)
		if err != nil {
			b.Fatal(err)
		}
		if err := f.Wait(ctx); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
		t0 = time.Now()
		r := req{i, make(chan struct{})}
		ch <- r
		<-r.done
		base = append(base, time.Since(t0))
	}
	b.StopTimer()
	close(ch)
	if err := bt.Close(ctx); err != nil {
		b.Fatal(err)
	}
	slices.Sort(lat)
	slices.Sort(base)
	pct := func(s []time.Duration, p float64) time.Duration { return s[min(len(s)-1, int(float64(len(s))*p))] }
	b.ReportMetric(float64(maxWait.Microseconds()), "µs-maxwait")
	b.ReportMetric(float64(pct(lat, 0.5).Microseconds()), "µs-p50")
	b.ReportMetric(float64(pct(lat, 0.99).Microseconds()), "µs-p99")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds()), "µs-max")
	b.ReportMetric(float64(pct(base, 0.99).Microseconds()), "µs-p99-chan")
	b.ReportMetric(float64(pct(lat, 0.99))/float64(maxWait), "p99/maxwait")
}
