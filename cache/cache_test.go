package cache_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/surgekit/surge/cache"
	"github.com/surgekit/surge/internal/redistest"
)

type item struct {
	ID    string `json:"id"`
	Price int    `json:"price"`
}

// countingSource is a source of truth that counts reads per key.
type countingSource struct {
	mu    sync.Mutex
	data  map[string]item
	reads map[string]int
	total atomic.Int64
	delay time.Duration
}

func newSource(n int) *countingSource {
	s := &countingSource{data: map[string]item{}, reads: map[string]int{}}
	for i := 0; i < n; i++ {
		id := "sku" + strconv.Itoa(i)
		s.data[id] = item{ID: id, Price: 100 + i}
	}
	return s
}

func (s *countingSource) load(ctx context.Context, key string) (item, error) {
	s.total.Add(1)
	s.mu.Lock()
	s.reads[key]++
	v, ok := s.data[key]
	s.mu.Unlock()
	if s.delay > 0 {
		time.Sleep(s.delay)
	}
	if !ok {
		return item{}, fmt.Errorf("no row %q: %w", key, cache.ErrNotFound)
	}
	return v, nil
}

func (s *countingSource) readsOf(key string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reads[key]
}

func (s *countingSource) set(key string, v item) {
	s.mu.Lock()
	s.data[key] = v
	s.mu.Unlock()
}

func newCache(t *testing.T, rdb redis.UniversalClient, opts ...cache.Option) *cache.Cache[item] {
	t.Helper()
	c, err := cache.New[item](rdb, append([]cache.Option{cache.WithPrefix(redistest.Prefix(t))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestGetMissThenHit(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Client(t)
	src := newSource(3)
	c := newCache(t, rdb)
	for i := 0; i < 3; i++ {
		v, err := c.Get(ctx, "sku1", src.load)
		if err != nil || v.Price != 101 {
			t.Fatalf("get: %+v %v", v, err)
		}
	}
	if n := src.readsOf("sku1"); n != 1 {
		t.Fatalf("source read %d times, want 1", n)
	}
	st := c.Stats()
	if st.Hits != 2 || st.Misses != 1 || st.Loads != 1 || st.Fills != 1 {
		t.Fatalf("stats %+v", st)
	}
	v, ok, err := c.Peek(ctx, "sku1")
	if err != nil || !ok || v.Price != 101 {
		t.Fatalf("peek %+v %v %v", v, ok, err)
	}
}

func TestInvalidInputBeforeIO(t *testing.T) {
	ctx := context.Background()
	// A client that cannot connect: any I/O would fail with a dial error,
	// so getting the typed error proves validation came first.
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	defer rdb.Close()
	c, err := cache.New[item](rdb)
	if err != nil {
		t.Fatal(err)
	}
	load := func(context.Context, string) (item, error) { return item{}, nil }
	for _, k := range []string{"", "a{b", "x}", string(make([]byte, cache.MaxKeyLen+1))} {
		if _, err := c.Get(ctx, k, load); !errors.Is(err, cache.ErrInvalidKey) {
			t.Errorf("Get(%q): %v", k, err)
		}
		if err := c.Update(ctx, k, func(context.Context) error { return nil }); !errors.Is(err, cache.ErrInvalidKey) {
			t.Errorf("Update(%q): %v", k, err)
		}
	}
	if _, err := c.Get(ctx, "k", nil); !errors.Is(err, cache.ErrInvalidOption) {
		t.Errorf("nil loader: %v", err)
	}
	if _, err := c.WriteThrough(ctx, "k", func(context.Context) error { return nil }, load); !errors.Is(err, cache.ErrNoLocker) {
		t.Errorf("no locker: %v", err)
	}
	bad := []cache.Option{
		cache.WithPrefix("a{"), cache.WithTTL(0), cache.WithJitter(-0.1), cache.WithJitter(0.95),
		cache.WithNotFoundTTL(-time.Second), cache.WithLoadTimeout(0), cache.WithStrategy(cache.Strategy(9)),
		cache.WithLease(0, time.Second), cache.WithDoubleDeleteDelay(0), cache.WithLocker(nil, time.Second),
		cache.WithRetry(0, time.Second), cache.WithShardBits(3), cache.WithCodec[string](cache.JSON[string]{}),
	}
	for i, o := range bad {
		if _, err := cache.New[item](rdb, o); !errors.Is(err, cache.ErrInvalidOption) {
			t.Errorf("option %d accepted: %v", i, err)
		}
	}
	if _, err := cache.New[item](nil); !errors.Is(err, cache.ErrInvalidOption) {
		t.Errorf("nil client: %v", err)
	}
}

// A cancelled caller must not fail the others sharing its load.
func TestCancelledCallerDoesNotFailOthers(t *testing.T) {
	rdb := redistest.Client(t)
	src := newSource(1)
	src.delay = 300 * time.Millisecond
	c := newCache(t, rdb)
	ctx1, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { _, err := c.Get(ctx1, "sku0", src.load); errc <- err }()
	time.Sleep(20 * time.Millisecond) // the first caller leads the flight
	var wg sync.WaitGroup
	var ok atomic.Int64
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if v, err := c.Get(context.Background(), "sku0", src.load); err == nil && v.Price == 100 {
				ok.Add(1)
			}
		}()
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("leader: %v", err)
	}
	wg.Wait()
	if ok.Load() != 50 {
		t.Fatalf("%d of 50 followers got the value", ok.Load())
	}
	if n := src.total.Load(); n != 1 {
		t.Fatalf("source read %d times, want 1", n)
	}
}

func TestLoaderPanicAndError(t *testing.T) {
	ctx := context.Background()
	c := newCache(t, redistest.Client(t))
	_, err := c.Get(ctx, "p", func(context.Context, string) (item, error) { panic("boom") })
	if !errors.Is(err, cache.ErrLoaderPanic) {
		t.Fatalf("panic: %v", err)
	}
	boom := errors.New("db down")
	_, err = c.Get(ctx, "e", func(context.Context, string) (item, error) { return item{}, boom })
	if !errors.Is(err, boom) {
		t.Fatalf("error: %v", err)
	}
	if _, ok, _ := c.Peek(ctx, "e"); ok {
		t.Fatal("a loader error was cached")
	}
}

func TestCorruptValue(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Client(t)
	c := newCache(t, rdb)
	// A value not written by surge (no frame) is reported, not misparsed.
	if err := rdb.Set(ctx, redistest.Prefix(t)+"cache:{x}", `{"id":"x"}`, time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	_, err := c.Get(ctx, "x", newSource(0).load)
	if !errors.Is(err, cache.ErrCorrupt) {
		t.Fatalf("got %v", err)
	}
}

func TestSetNXBackfillNeverOverwrites(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Client(t)
	c := newCache(t, rdb, cache.WithStrategy(cache.SetNXBackfill))
	src := newSource(1)
	release := make(chan struct{})
	loaded := make(chan struct{})
	slow := func(ctx context.Context, key string) (item, error) {
		v, err := src.load(ctx, key)
		close(loaded)
		<-release
		return v, err
	}
	done := make(chan item)
	go func() { v, _ := c.Get(ctx, "sku0", slow); done <- v }()
	<-loaded
	// A writer-side value lands while the reader is between read and fill.
	w := newCache(t, rdb, cache.WithStrategy(cache.SetNXBackfill))
	src.set("sku0", item{ID: "sku0", Price: 999})
	if _, err := w.Get(ctx, "sku0", src.load); err != nil {
		t.Fatal(err)
	}
	close(release)
	<-done
	v, ok, err := c.Peek(ctx, "sku0")
	if err != nil || !ok || v.Price != 999 {
		t.Fatalf("cached %+v %v %v: the slow fill overwrote", v, ok, err)
	}
	if c.Stats().FillsRefused != 1 {
		t.Fatalf("stats %+v", c.Stats())
	}
}

// clientWithClock returns the tier's client and a function that lets d pass
// for Redis TTLs: miniredis does not age keys by itself.
func clientWithClock(t *testing.T) (redis.UniversalClient, func(time.Duration)) {
	if redistest.CurrentTier() == redistest.Miniredis {
		m, c := redistest.Mini(t)
		return c, m.FastForward
	}
	return redistest.Client(t), time.Sleep
}
