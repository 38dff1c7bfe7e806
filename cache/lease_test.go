package cache_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/surgekit/surge/cache"
	"github.com/surgekit/surge/internal/redistest"
)

// gate is a loader that reads the source, then blocks between the read and
// the fill until released: the stale-set race window, made deterministic.
type gate struct {
	src     *countingSource
	read    chan struct{}
	release chan struct{}
}

func newGate(src *countingSource) *gate {
	return &gate{src: src, read: make(chan struct{}, 16), release: make(chan struct{})}
}

func (g *gate) load(ctx context.Context, key string) (item, error) {
	v, err := g.src.load(ctx, key)
	g.read <- struct{}{}
	<-g.release
	return v, err
}

// The race every cache-aside library carries, shown on the baseline and
// closed by the lease: a reader reads v1, a writer writes v2 and
// invalidates, then the reader fills v1.
func TestStaleSetRace(t *testing.T) {
	for _, tc := range []struct {
		s         cache.Strategy
		wantStale bool
	}{
		{cache.DeleteAfterUpdate, true},
		{cache.SetNXBackfill, true}, // NX does not help against delete-style writers
		{cache.Lease, false},
	} {
		t.Run(tc.s.String(), func(t *testing.T) {
			ctx := context.Background()
			rdb := redistest.Client(t)
			src := newSource(1)
			reader := newCache(t, rdb, cache.WithStrategy(tc.s))
			writer := newCache(t, rdb, cache.WithStrategy(tc.s))
			g := newGate(src)
			done := make(chan item)
			go func() { v, _ := reader.Get(ctx, "sku0", g.load); done <- v }()
			<-g.read // the reader holds version 1 (price 100)
			if err := writer.Update(ctx, "sku0", func(context.Context) error {
				src.set("sku0", item{ID: "sku0", Price: 200})
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			close(g.release)
			if v := <-done; v.Price != 100 {
				t.Fatalf("reader got %+v (its read began before the write)", v)
			}
			v, ok, err := reader.Peek(ctx, "sku0")
			if err != nil {
				t.Fatal(err)
			}
			stale := ok && v.Price == 100
			if stale != tc.wantStale {
				t.Fatalf("cache holds %+v (ok=%v); stale=%v, want %v", v, ok, stale, tc.wantStale)
			}
			if tc.s == cache.Lease {
				if st := reader.Stats(); st.FillsRefused != 1 || st.LeasesGranted != 1 {
					t.Fatalf("stats %+v", st)
				}
				got, err := reader.Get(ctx, "sku0", src.load)
				if err != nil || got.Price != 200 {
					t.Fatalf("next read %+v %v", got, err)
				}
			}
		})
	}
}

// Other processes that find the key leased wait for the holder's fill and
// never read the source themselves while it is quick.
func TestLeaseWaitersGetTheFill(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Client(t)
	src := newSource(1)
	holder := newCache(t, rdb, cache.WithStrategy(cache.Lease), cache.WithLease(5*time.Second, 3*time.Second))
	other := newCache(t, rdb, cache.WithStrategy(cache.Lease), cache.WithLease(5*time.Second, 3*time.Second))
	g := newGate(src)
	go func() { _, _ = holder.Get(ctx, "sku0", g.load) }()
	<-g.read
	res := make(chan error)
	go func() {
		v, err := other.Get(ctx, "sku0", src.load)
		if err == nil && v.Price != 100 {
			err = errors.New("wrong value")
		}
		res <- err
	}()
	time.Sleep(30 * time.Millisecond)
	close(g.release)
	if err := <-res; err != nil {
		t.Fatal(err)
	}
	if n := src.total.Load(); n != 1 {
		t.Fatalf("source reads %d, want 1", n)
	}
	if st := other.Stats(); st.LeaseWaits != 1 || st.LeaseFallback != 0 || st.Loads != 0 {
		t.Fatalf("waiter stats %+v", st)
	}
}

// A leaseholder that is too slow: waiters give up after the lease wait and
// read the source themselves, without filling.
func TestLeaseWaitFallback(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Client(t)
	src := newSource(1)
	holder := newCache(t, rdb, cache.WithStrategy(cache.Lease), cache.WithLease(5*time.Second, 50*time.Millisecond))
	other := newCache(t, rdb, cache.WithStrategy(cache.Lease), cache.WithLease(5*time.Second, 50*time.Millisecond))
	g := newGate(src)
	go func() { _, _ = holder.Get(ctx, "sku0", g.load) }()
	<-g.read
	defer close(g.release)
	v, err := other.Get(ctx, "sku0", src.load)
	if err != nil || v.Price != 100 {
		t.Fatalf("%+v %v", v, err)
	}
	st := other.Stats()
	if st.LeaseFallback != 1 || st.Fills != 0 || st.Loads != 1 {
		t.Fatalf("stats %+v", st)
	}
	if _, ok, _ := other.Peek(ctx, "sku0"); ok {
		t.Fatal("a fallback reader filled the cache")
	}
}

// A holder whose load fails releases the lease at once: the next reader
// takes it instead of waiting out the lease TTL.
func TestLeaseReleasedOnLoadError(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Client(t)
	c := newCache(t, rdb, cache.WithStrategy(cache.Lease), cache.WithLease(time.Minute, 10*time.Millisecond))
	boom := errors.New("db down")
	if _, err := c.Get(ctx, "sku0", func(context.Context, string) (item, error) { return item{}, boom }); !errors.Is(err, boom) {
		t.Fatal(err)
	}
	src := newSource(1)
	if _, err := c.Get(ctx, "sku0", src.load); err != nil {
		t.Fatal(err)
	}
	if st := c.Stats(); st.LeasesGranted != 2 || st.LeaseFallback != 0 {
		t.Fatalf("stats %+v", st)
	}
}
