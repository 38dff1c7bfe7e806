package batcher

import (
	"context"
	"errors"
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
