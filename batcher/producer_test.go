package batcher

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestProducerExactlyOnce: 1000 goroutines, each with its own Producer, unkeyed
// (one shard) and keyed by producer: every item exactly once, each producer's
// items in order, nothing left in buffers after Close (no Producer.Close calls).
func TestProducerExactlyOnce(t *testing.T) {
	for _, keyed := range []bool{false, true} {
		t.Run(map[bool]string{false: "unkeyed", true: "keyed"}[keyed], func(t *testing.T) {
			const producers, per = 1000, 100
			s := newSink(t, producers, per)
			opts := []Option{WithMaxItems(64), WithQueueSize(512), WithMaxWait(time.Millisecond)}
			if keyed {
				opts = append(opts, WithKeyHash(func(it item) uint64 { return uint64(it.p) }))
			}
			b, err := New(s.flush, opts...)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			var wg sync.WaitGroup
			for p := range producers {
				wg.Go(func() {
					pr, err := b.NewProducer(p%40 + 1) // buffers of 1..40
					if err != nil {
						t.Error(err)
						return
					}
					for i := range per {
						if err := pr.Add(ctx, item{p, i}); err != nil {
							t.Errorf("producer %d: %v", p, err)
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
		})
	}
}

// TestProducerCloseUnderConcurrentAdd: Close while producers add; every item
// whose Producer.Add returned nil is delivered exactly once.
func TestProducerCloseUnderConcurrentAdd(t *testing.T) {
	var mu sync.Mutex
	delivered := map[item]int{}
	b, err := New(func(_ context.Context, items []item) error {
		mu.Lock()
		for _, it := range items {
			delivered[it]++
		}
		mu.Unlock()
		return nil
	}, WithMaxItems(16), WithQueueSize(64), WithMaxWait(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const producers = 100
	accepted := make([]int, producers)
	var total atomic.Int64
	var wg sync.WaitGroup
	for p := range producers {
		wg.Go(func() {
			pr, err := b.NewProducer(32)
			if errors.Is(err, ErrClosed) {
				return
			}
			if err != nil {
				t.Error(err)
				return
			}
			for i := 0; ; i++ {
				err := pr.Add(ctx, item{p, i})
				if errors.Is(err, ErrClosed) {
					return
				}
				if err != nil {
					t.Error(err)
					return
				}
				accepted[p]++
				total.Add(1)
			}
		})
	}
	for total.Load() < 20000 {
		time.Sleep(time.Millisecond)
	}
	if err := b.Close(ctx); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if _, err := b.NewProducer(1); !errors.Is(err, ErrClosed) {
		t.Errorf("NewProducer after Close: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	n := 0
	for p, c := range accepted {
		for i := range c {
			if delivered[item{p, i}] != 1 {
				t.Fatalf("item %d/%d delivered %d times", p, i, delivered[item{p, i}])
			}
		}
		n += c
	}
	if n != len(delivered) {
		t.Errorf("accepted %d, delivered %d", n, len(delivered))
	}
}

// TestProducerMaxWaitAndFlush: a lone buffered item is delivered by the sweeper
// without any flush call; Batcher.Flush pushes and delivers buffers; closed
// producers refuse items.
func TestProducerMaxWaitAndFlush(t *testing.T) {
	got := make(chan int, 10)
	b, err := New(func(_ context.Context, items []int) error {
		for _, v := range items {
			got <- v
		}
		return nil
	}, WithMaxWait(2*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := b.NewProducer(-1); !errors.Is(err, ErrInvalid) {
		t.Errorf("NewProducer(-1): %v", err)
	}
	p, err := b.NewProducer(0)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Add(ctx, 1); err != nil {
		t.Fatal(err)
	}
	select {
	case v := <-got:
		if v != 1 {
			t.Fatalf("got %d", v)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("buffered item never swept")
	}
	b2, _ := New(func(_ context.Context, items []int) error {
		for _, v := range items {
			got <- v
		}
		return nil
	}, WithMaxWait(time.Hour))
	p2, _ := b2.NewProducer(100)
	p2.Add(ctx, 2)
	p2.Add(ctx, 3)
	if err := b2.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if a, c := <-got, <-got; a != 2 || c != 3 {
		t.Fatalf("Flush delivered %d %d", a, c)
	}
	if err := p2.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p2.Add(ctx, 4); !errors.Is(err, ErrClosed) {
		t.Errorf("Add on closed producer: %v", err)
	}
	b.Close(ctx)
	b2.Close(ctx)
}

// TestProducerBackpressure: with a stuck sink a full producer buffer makes Add
// wait; ctx ends the wait without accepting the new item, and the items already
// buffered are still delivered once the sink recovers and the batcher closes.
func TestProducerBackpressure(t *testing.T) {
	release := make(chan struct{})
	var mu sync.Mutex
	var got []int
	b, err := New(func(_ context.Context, items []int) error {
		<-release
		mu.Lock()
		got = append(got, items...)
		mu.Unlock()
		return nil
	}, WithMaxItems(2), WithQueueSize(2), WithMaxWait(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	p, _ := b.NewProducer(2)
	for i := range 4 { // 2 go to the shard (full), 2 stay buffered
		if err := p.Add(ctx, i); err != nil {
			t.Fatal(err)
		}
	}
	dctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if err := p.Add(dctx, 99); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Add on full producer and shard: %v", err)
	}
	close(release)
	if err := b.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 || got[0] != 0 || got[3] != 3 {
		t.Errorf("delivered %v, want [0 1 2 3]", got)
	}
}
