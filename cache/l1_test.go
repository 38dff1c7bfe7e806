package cache_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/surgekit/surge/cache"
	"github.com/surgekit/surge/internal/redistest"
)

func TestL1ServesAndInvalidatesAcrossInstances(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Client(t)
	src := newSource(1)
	a := newCache(t, rdb, cache.WithL1(100, time.Minute))
	b := newCache(t, rdb, cache.WithL1(100, time.Minute))
	for _, c := range []*cache.Cache[item]{a, b} {
		if err := c.StartL1Sync(ctx); err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	for i := 0; i < 3; i++ {
		if v, err := b.Get(ctx, "sku0", src.load); err != nil || v.Price != 100 {
			t.Fatalf("%+v %v", v, err)
		}
	}
	if st := b.Stats(); st.L1Hits != 2 || st.Loads != 1 {
		t.Fatalf("stats %+v", st)
	}
	// A writes; B's L1 entry must go once the message arrives.
	if err := a.Update(ctx, "sku0", func(context.Context) error {
		src.set("sku0", item{ID: "sku0", Price: 200})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		v, err := b.Get(ctx, "sku0", src.load)
		if err != nil {
			t.Fatal(err)
		}
		if v.Price == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("B's L1 never saw A's invalidation")
		}
		time.Sleep(5 * time.Millisecond)
	}
	// Not-found is cached in L1 too.
	for i := 0; i < 2; i++ {
		if _, err := b.Get(ctx, "ghost", src.load); !errors.Is(err, cache.ErrNotFound) {
			t.Fatal(err)
		}
	}
	if n := src.readsOf("ghost"); n != 1 {
		t.Fatalf("ghost reads %d", n)
	}
	if err := b.StartL1Sync(ctx); err == nil {
		t.Fatal("second StartL1Sync accepted")
	}
}

func TestL1BoundedAndExpires(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Client(t)
	src := newSource(50)
	c := newCache(t, rdb, cache.WithL1(10, 50*time.Millisecond))
	for i := 0; i < 50; i++ {
		if _, err := c.Get(ctx, "sku"+string(rune('0'+i%10))+string(rune('a'+i/10)), src.load); err != nil && !errors.Is(err, cache.ErrNotFound) {
			t.Fatal(err)
		}
	}
	// Ten most recent may be in L1; far fewer than 50 L1 hits on a re-read.
	before := c.Stats().L1Hits
	for i := 0; i < 50; i++ {
		_, _ = c.Get(ctx, "sku"+string(rune('0'+i%10))+string(rune('a'+i/10)), src.load)
	}
	if h := c.Stats().L1Hits - before; h > 10 {
		t.Fatalf("%d L1 hits from a 10-entry L1", h)
	}
	time.Sleep(60 * time.Millisecond)
	before = c.Stats().L1Hits
	_, _ = c.Get(ctx, "sku0a", src.load)
	if c.Stats().L1Hits != before {
		t.Fatal("an expired L1 entry was served")
	}
	if _, err := cache.New[item](rdb, cache.WithL1(0, time.Second)); !errors.Is(err, cache.ErrInvalidOption) {
		t.Fatal(err)
	}
	if err := newCache(t, rdb).StartL1Sync(ctx); !errors.Is(err, cache.ErrInvalidOption) {
		t.Fatal(err)
	}
}
