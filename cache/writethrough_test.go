package cache_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/surgekit/surge/cache"
	"github.com/surgekit/surge/cache/internal/harness"
	"github.com/surgekit/surge/internal/redistest"
	"github.com/surgekit/surge/lock"
)

func TestWriteThroughRebuilds(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Client(t)
	src := newSource(1)
	c := newCache(t, rdb, cache.WithStrategy(cache.Lease),
		cache.WithLocker(&luaLocker{RDB: rdb, Prefix: redistest.Prefix(t)}, 5*time.Second))
	if _, err := c.Get(ctx, "sku0", src.load); err != nil {
		t.Fatal(err)
	}
	v, err := c.WriteThrough(ctx, "sku0", func(ctx context.Context) error {
		src.set("sku0", item{ID: "sku0", Price: 300})
		return nil
	}, src.load)
	if err != nil || v.Price != 300 {
		t.Fatalf("%+v %v", v, err)
	}
	got, ok, err := c.Peek(ctx, "sku0")
	if err != nil || !ok || got.Price != 300 {
		t.Fatalf("cache holds %+v %v %v", got, ok, err)
	}
	// A failed write leaves the entry invalidated, never stale.
	boom := errors.New("constraint violated")
	if _, err := c.WriteThrough(ctx, "sku0", func(context.Context) error { return boom }, src.load); !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if _, ok, _ := c.Peek(ctx, "sku0"); ok {
		t.Fatal("entry survived a failed write")
	}
}

// A writer holding an older fencing token (its lock expired while it was
// paused) cannot overwrite the rebuild of a newer holder.
func TestWriteThroughFencing(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Client(t)
	src := newSource(1)
	newer := newCache(t, rdb, cache.WithStrategy(cache.Lease), cache.WithLocker(fixedFenceLocker{fence: 10}, time.Second))
	older := newCache(t, rdb, cache.WithStrategy(cache.Lease), cache.WithLocker(fixedFenceLocker{fence: 9}, time.Second))
	if _, err := newer.WriteThrough(ctx, "sku0", func(context.Context) error {
		src.set("sku0", item{ID: "sku0", Price: 10})
		return nil
	}, src.load); err != nil {
		t.Fatal(err)
	}
	stale := func(context.Context, string) (item, error) { return item{ID: "sku0", Price: 9}, nil }
	if _, err := older.WriteThrough(ctx, "sku0", func(context.Context) error { return nil }, stale); !errors.Is(err, cache.ErrFenced) {
		t.Fatalf("older token: %v", err)
	}
	// The older writer's invalidate ran before its refused rebuild; the
	// next read reloads the source (Price 10), never the refused value.
	v, err := newer.Get(ctx, "sku0", src.load)
	if err != nil || v.Price != 10 {
		t.Fatalf("%+v %v", v, err)
	}
}

// A lock lost mid-write (context ended) is reported and leaves no entry.
func TestWriteThroughLockLost(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Client(t)
	src := newSource(1)
	c := newCache(t, rdb, cache.WithStrategy(cache.Lease),
		cache.WithLocker(&luaLocker{RDB: rdb, Prefix: redistest.Prefix(t)}, 30*time.Millisecond))
	_, err := c.WriteThrough(ctx, "sku0", func(ctx context.Context) error {
		<-ctx.Done() // the write outlives the lock
		return ctx.Err()
	}, src.load)
	if !errors.Is(err, cache.ErrLockLost) {
		t.Fatalf("got %v", err)
	}
	if _, ok, _ := c.Peek(ctx, "sku0"); ok {
		t.Fatal("entry left after a lost lock")
	}
}

// WriteThrough with surge's lock package (watchdog, fencing tokens) under the
// consistency harness: concurrent writers and readers, zero stale reads and
// zero divergence.
func TestWriteThroughWithSurgeLock(t *testing.T) {
	rdb := redistest.Client(t)
	lc, err := lock.New(rdb, lock.WithPrefix(redistest.Prefix(t)))
	if err != nil {
		t.Fatal(err)
	}
	defer lc.Close()
	res, err := harness.Run(context.Background(), harness.Config{
		Strategy: "write-through", Client: rdb, Prefix: redistest.Prefix(t),
		Locker: cache.LockClient(lc), Keys: 4, Readers: 16, Writers: 4, Reads: 1500,
		MaxLoadDelay: 2 * time.Millisecond, PauseEvery: 200, Pause: 10 * time.Millisecond,
		WriteInterval: 2 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(res)
	if res.StaleReads != 0 || res.Divergent != 0 || res.Writes == 0 {
		t.Fatalf("write-through with surge lock: %v", res)
	}
	if st := lc.Stats(); st == (lock.Stats{}) {
		t.Fatal("the lock package was not used")
	}
}
