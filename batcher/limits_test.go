package batcher

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"
)

// TestMaxWaitFlushesPartialBatch: a lone item is flushed by the timer, without
// Flush or Close.
func TestMaxWaitFlushesPartialBatch(t *testing.T) {
	b, err := New(func(context.Context, []int) error { return nil }, WithMaxWait(5*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(context.Background())
	for range 3 {
		f, err := b.Submit(context.Background(), 1)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := f.Wait(ctx); err != nil {
			t.Fatal(err)
		}
		cancel()
	}
	if st := b.Stats(); st.Batches != 3 || st.BatchSizes[0].Count != 3 {
		t.Errorf("stats %+v", st)
	}
}

// TestMaxBytes: batches never exceed the byte budget except a lone oversized item,
// and order is kept (single shard).
func TestMaxBytes(t *testing.T) {
	var mu sync.Mutex
	var batches [][]string
	b, err := New(func(_ context.Context, items []string) error {
		mu.Lock()
		batches = append(batches, append([]string(nil), items...))
		mu.Unlock()
		return nil
	}, WithSize(func(s string) int { return len(s) }), WithMaxBytes(10), WithMaxItems(5))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	in := []string{"aaaa", "bbbb", "cc", "d", "eeeeeeeeeeeeeee", "f", "g", "h", "i", "j", "k", "", "l"}
	for _, s := range in {
		if err := b.Add(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Add(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(ctx); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, bt := range batches {
		n := 0
		for _, s := range bt {
			n += len(s)
		}
		if (n > 10 && len(bt) > 1) || len(bt) > 5 {
			t.Errorf("batch %q: %d bytes, %d items", bt, n, len(bt))
		}
		out = append(out, bt...)
	}
	if len(out) != len(in)+1 {
		t.Fatalf("got %q", out)
	}
	for i := range in {
		if out[i] != in[i] {
			t.Fatalf("order: got %q", out)
		}
	}
	if st := b.Stats(); st.Bytes != 34 {
		t.Errorf("bytes %d", st.Bytes)
	}
}

func TestNegativeSizeRefused(t *testing.T) {
	b, err := New(func(context.Context, []int) error { return nil }, WithSize(func(i int) int { return i }))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Add(context.Background(), -1); !errors.Is(err, ErrNegativeSize) {
		t.Errorf("negative size: %v", err)
	}
	if err := b.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := b.Stats(); st.Added != 0 {
		t.Errorf("added %d", st.Added)
	}
}

// TestPerKeyOrderSlowShard: one key's flushes are slow; other keys keep flowing
// and every key's items arrive in order with at most one batch in flight per shard.
func TestPerKeyOrderSlowShard(t *testing.T) {
	const keys, per = 32, 300
	var mu sync.Mutex
	last := map[int]int{}
	inflight := map[string]int{}
	var bad []string
	b, err := New(func(_ context.Context, items []item) error {
		k := keyOf(items[0])
		mu.Lock()
		inflight[k]++
		if inflight[k] > 1 {
			bad = append(bad, "two batches of one key in flight")
		}
		mu.Unlock()
		if items[0].p == 0 {
			time.Sleep(200 * time.Microsecond)
		}
		mu.Lock()
		defer mu.Unlock()
		inflight[k]--
		for _, it := range items {
			if l, ok := last[it.p]; ok && it.seq != l+1 {
				bad = append(bad, "out of order")
			}
			last[it.p] = it.seq
		}
		return nil
	}, WithKey(keyOf), WithShards(keys), WithMaxItems(7), WithMaxWait(100*time.Microsecond))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	for p := range keys {
		wg.Go(func() {
			for i := range per {
				if err := b.Add(ctx, item{p, i}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := b.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if len(bad) > 0 {
		t.Fatalf("%d violations, first: %s", len(bad), bad[0])
	}
	for p := range keys {
		if last[p] != per-1 {
			t.Errorf("key %d ended at %d", p, last[p])
		}
	}
}

// TestCloseStopsGoroutines: Close ends every shard goroutine (no leak).
func TestCloseStopsGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	b, err := New(func(context.Context, []int) error { return nil }, WithShards(64))
	if err != nil {
		t.Fatal(err)
	}
	if n := runtime.NumGoroutine(); n < before+64 {
		t.Fatalf("%d goroutines, want ≥ %d", n, before+64)
	}
	for i := range 1000 {
		if err := b.Add(context.Background(), i); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	for range 200 {
		if runtime.NumGoroutine() <= before {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Errorf("%d goroutines after Close, %d before", runtime.NumGoroutine(), before)
}

// TestStatsHistograms: bucket boundaries and latency accounting.
func TestStatsHistograms(t *testing.T) {
	for n, want := range map[int]int{0: 0, 1: 0, 2: 1, 3: 2, 4: 2, 5: 3, 100: 7, 16384: 14, 16385: 15, 1 << 30: 15} {
		if got := sizeBucket(n); got != want {
			t.Errorf("sizeBucket(%d) = %d, want %d", n, got, want)
		}
	}
	for d, want := range map[time.Duration]int{0: 0, time.Microsecond: 0, 1500 * time.Nanosecond: 1, 3 * time.Millisecond: 12, time.Hour: latencyBuckets - 1} {
		if got := latencyBucket(d); got != want {
			t.Errorf("latencyBucket(%v) = %d, want %d", d, got, want)
		}
	}
	b, _ := New(func(context.Context, []int) error { time.Sleep(time.Millisecond); return nil }, WithMaxItems(5))
	for i := range 12 {
		b.Add(context.Background(), i)
	}
	b.Close(context.Background())
	st := b.Stats()
	if st.Batches != 3 || st.BatchSizes[1].Count != 1 || st.BatchSizes[3].Count != 2 {
		t.Errorf("batch sizes %+v", st.BatchSizes[:5])
	}
	if st.FlushLatencyMax < time.Millisecond || st.FlushLatencyMean < time.Millisecond || st.FlushLatencyMean > st.FlushLatencyMax {
		t.Errorf("latency mean %v max %v", st.FlushLatencyMean, st.FlushLatencyMax)
	}
	var n uint64
	for _, bk := range st.FlushLatency {
		n += bk.Count
	}
	if n != 3 || st.FlushLatency[len(st.FlushLatency)-1].Le != -1 {
		t.Errorf("latency histogram %+v", st.FlushLatency)
	}
}
