package batcher

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestFlushConcurrentWithAdd: whenever Flush returns, every item accepted before
// it was called has been delivered, while producers keep adding.
func TestFlushConcurrentWithAdd(t *testing.T) {
	var delivered, accepted atomic.Int64
	b, err := New(func(_ context.Context, items []int) error {
		delivered.Add(int64(len(items)))
		return nil
	}, WithKeyHash(func(i int) uint64 { return uint64(i % 7) }), WithShards(4), WithMaxItems(50), WithMaxWait(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for p := range 50 {
		wg.Go(func() {
			for i := p; ; i += 50 {
				select {
				case <-stop:
					return
				default:
				}
				if err := b.Add(ctx, i); err != nil {
					t.Error(err)
					return
				}
				accepted.Add(1)
			}
		})
	}
	for accepted.Load() < 1000 {
		time.Sleep(time.Millisecond)
	}
	for range 200 {
		before := accepted.Load()
		if err := b.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		// max wait is an hour: only Flush can have delivered partial batches.
		if got := delivered.Load(); got < before {
			t.Fatalf("Flush returned with %d delivered, %d accepted before it", got, before)
		}
	}
	close(stop)
	wg.Wait()
	if err := b.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if delivered.Load() != accepted.Load() {
		t.Errorf("delivered %d, accepted %d", delivered.Load(), accepted.Load())
	}
}

// TestCloseWaitsForRetries: Close during backoff still delivers the batch, and
// concurrent Close calls all wait for the drain.
func TestCloseWaitsForRetries(t *testing.T) {
	var calls atomic.Int32
	b, err := New(func(_ context.Context, items []int) error {
		if calls.Add(1) < 3 {
			return errors.New("not yet")
		}
		return nil
	}, WithRetry(3, 10*time.Millisecond, 20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	f, err := b.Submit(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 5 {
		wg.Go(func() {
			if err := b.Close(ctx); err != nil {
				t.Error(err)
			}
			select {
			case <-f.Done():
			default:
				t.Error("Close returned before the batch finished")
			}
		})
	}
	wg.Wait()
	if f.Err() != nil || calls.Load() != 3 {
		t.Errorf("err %v after %d calls", f.Err(), calls.Load())
	}
}
