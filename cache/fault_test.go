package cache_test

import (
	"context"
	"testing"
	"time"

	"github.com/surgekit/surge/cache"
	"github.com/surgekit/surge/internal/redistest"
)

// Redis frozen mid-traffic: Get fails within the caller's deadline (no hang,
// no stampede on the source), and recovers when Redis is back.
func TestRedisPausedGetFailsFastThenRecovers(t *testing.T) {
	srv := redistest.Server(t)
	rdb := srv.Client()
	src := newSource(1)
	c := newCache(t, rdb, cache.WithStrategy(cache.Lease))
	ctx := context.Background()
	if _, err := c.Get(ctx, "sku0", src.load); err != nil {
		t.Fatal(err)
	}
	if err := c.Invalidate(ctx, "sku0"); err != nil {
		t.Fatal(err)
	}
	resumed := srv.Pause(700 * time.Millisecond)
	cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	start := time.Now()
	_, err := c.Get(cctx, "sku0", src.load)
	cancel()
	if err == nil {
		t.Fatal("Get succeeded against a frozen Redis")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Get took %v against a frozen Redis", d)
	}
	<-resumed
	deadline := time.Now().Add(10 * time.Second)
	for {
		v, err := c.Get(ctx, "sku0", src.load)
		if err == nil && v.Price == 100 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no recovery: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := src.total.Load(); n > 3 {
		t.Fatalf("source read %d times around the outage", n)
	}
}

// A leaseholder that dies (its process is gone; the lease key stays until
// its TTL): waiters read the source without filling, and once the lease
// expires the next reader takes a new lease and fills.
func TestLeaseHolderDies(t *testing.T) {
	ctx := context.Background()
	rdb, advance := clientWithClock(t)
	src := newSource(1)
	// The dead holder: took the lease and never came back.
	if err := rdb.Set(ctx, redistest.Prefix(t)+"cache:{sku0}:lease", "dead-token", 300*time.Millisecond).Err(); err != nil {
		t.Fatal(err)
	}
	c := newCache(t, rdb, cache.WithStrategy(cache.Lease), cache.WithLease(time.Second, 20*time.Millisecond))
	v, err := c.Get(ctx, "sku0", src.load)
	if err != nil || v.Price != 100 {
		t.Fatalf("%+v %v", v, err)
	}
	if st := c.Stats(); st.LeaseFallback != 1 || st.Fills != 0 {
		t.Fatalf("stats %+v", st)
	}
	advance(350 * time.Millisecond) // the dead lease expires
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := c.Get(ctx, "sku0", src.load); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := c.Peek(ctx, "sku0"); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no fill after the dead lease expired")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
