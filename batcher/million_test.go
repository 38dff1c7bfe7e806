package batcher

import (
	"context"
	"sync"
	"testing"
	"time"
)

// TestMillionItems is the proof at full size: 1M items from 1000
// goroutines through 16 shards keyed by producer id (WithKeyHash), each delivered
// exactly once, in per-key order. Skipped with -short.
func TestMillionItems(t *testing.T) {
	if testing.Short() {
		t.Skip("1M items; skipped with -short")
	}
	const producers, per = 1000, 1000
	s := newSink(t, producers, per)
	b, err := New(s.flush, WithKeyHash(func(it item) uint64 { return uint64(it.p) }), WithMaxItems(256), WithMaxWait(time.Millisecond), WithQueueSize(4096))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	for p := range producers {
		wg.Go(func() {
			for i := range per {
				if err := b.Add(ctx, item{p, i}); err != nil {
					t.Errorf("Add: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := b.Close(ctx); err != nil {
		t.Fatal(err)
	}
	s.verifyAll()
	if st := b.Stats(); st.Delivered != producers*per {
		t.Errorf("delivered %d", st.Delivered)
	}
}
