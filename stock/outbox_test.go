package stock

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestConsumeAtLeastOnce: every applied op reaches the callback; a callback failure
// and a consumer that "crashes" (reads, never acks) are redelivered via reclaim.
func TestConsumeAtLeastOnce(t *testing.T) {
	s, rdb := newStock(t, WithCombiner(16, 10*time.Second))
	ctx := context.Background()
	mustLoad(t, s, "c", 100, SKUConfig{})
	const n = 60
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.Reserve(ctx, one(fmt.Sprintf("o%d", i), "", "c", 1)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	for i := range 10 {
		if _, err := s.Confirm(ctx, "c", fmt.Sprintf("o%d", i)); err != nil {
			t.Fatal(err)
		}
	}

	// A consumer that crashes: it reads entries and never acknowledges them.
	stream := s.outboxKey("c")
	if err := rdb.XGroupCreateMkStream(ctx, stream, "surge-stock", "0").Err(); err != nil {
		t.Fatal(err)
	}
	crashed, err := rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "surge-stock", Consumer: "dead",
		Streams: []string{stream, ">"}, Count: 3}).Result()
	if err != nil || len(crashed) == 0 || len(crashed[0].Messages) == 0 {
		t.Fatalf("crashed consumer read: %v %v", crashed, err)
	}

	var mu sync.Mutex
	seen := map[string]int{} // op+state -> deliveries
	failedOnce := false
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- s.Consume(cctx, ConsumerConfig{Group: "c", Consumer: "live", Block: 50 * time.Millisecond,
			MinIdle: 100 * time.Millisecond, Batch: 7},
			func(_ context.Context, ev Event) error {
				mu.Lock()
				defer mu.Unlock()
				if ev.Op == "o5" && ev.State == StateReserved && !failedOnce {
					failedOnce = true
					return errors.New("database down")
				}
				seen[ev.Op+"/"+ev.State.String()]++
				return nil
			})
	}()
	want := 1 + n + 10 // load, reserves, confirms
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		got := len(seen)
		mu.Unlock()
		if got == want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("consumer saw %d of %d events", got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Everything is acknowledged once the pending entries are reclaimed and handled.
	for {
		p, err := rdb.XPending(ctx, stream, "surge-stock").Result()
		if err != nil {
			t.Fatal(err)
		}
		if p.Count == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still pending: %+v", p)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Consume returned %v", err)
	}
	if !failedOnce || seen["o5/reserved"] != 1 || seen["o0/confirmed"] != 1 {
		t.Fatalf("deliveries: failedOnce=%v %v", failedOnce, seen)
	}
}

func TestReconcileFindsDrift(t *testing.T) {
	s, rdb := newStock(t)
	ctx := context.Background()
	mustLoad(t, s, "d", 10, SKUConfig{})
	if _, err := s.Deduct(ctx, one("x", "", "d", 2)); err != nil {
		t.Fatal(err)
	}
	mustReconcile(t, s, "d")
	// Someone "fixes" stock by hand, bypassing the journal and the outbox.
	if err := rdb.HIncrBy(ctx, s.skuKey("d", "d"), "avail", 5).Err(); err != nil {
		t.Fatal(err)
	}
	rep, err := s.Reconcile(ctx, "d")
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK() || len(rep.SKUs) != 1 || !rep.SKUs[0].Drift() || rep.SKUs[0].Replayed.Available != 8 {
		t.Fatalf("drift not found: %+v", rep)
	}
	// A journal entry without its outbox event is found too.
	if err := rdb.XTrimMaxLen(ctx, s.outboxKey("d"), 1).Err(); err != nil {
		t.Fatal(err)
	}
	rep, err = s.Reconcile(ctx, "d")
	if err != nil || len(rep.JournalMismatch) == 0 {
		t.Fatalf("journal mismatch not found: %+v %v", rep, err)
	}
}
