package shorturl

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bits-and-blooms/bitset"
	"github.com/redis/go-redis/v9"
	"github.com/surgekit/surge/internal/redistest"
)

// memMarks is a MarkStore in memory, standing in for a durable store that
// survives the loss of the counter's Redis.
type memMarks struct {
	mu          sync.Mutex
	v           uint64
	loads, save int
}

func (m *memMarks) LoadMark(context.Context) (uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.loads++
	return m.v, nil
}

func (m *memMarks) SaveMark(_ context.Context, v uint64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.save++
	m.v = max(m.v, v)
	return nil
}

// drain runs workers goroutines spread over allocs, each taking per IDs, while
// during() runs; it returns every ID and fails the test on any error.
func drain(t *testing.T, allocs []*Allocator, workers, per int, during func()) []uint64 {
	t.Helper()
	ctx := context.Background()
	out := make([][]uint64, workers)
	var wg sync.WaitGroup
	var failed atomic.Value
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := allocs[w%len(allocs)]
			ids := make([]uint64, 0, per)
			for range per {
				id, err := a.Next(ctx)
				if err != nil {
					failed.Store(err)
					return
				}
				ids = append(ids, id)
			}
			out[w] = ids
		}()
	}
	if during != nil {
		during()
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		t.Fatalf("Next: %v", err)
	}
	var all []uint64
	for _, ids := range out {
		all = append(all, ids...)
	}
	return all
}

// assertUnique fails when any ID appears twice (or is 0).
func assertUnique(t *testing.T, ids []uint64) {
	t.Helper()
	seen := bitset.New(1 << 20)
	for _, id := range ids {
		if id == 0 {
			t.Fatal("ID 0 issued")
		}
		if seen.Test(uint(id)) {
			t.Fatalf("duplicate ID %d among %d", id, len(ids))
		}
		seen.Set(uint(id))
	}
	if seen.Count() != uint(len(ids)) {
		t.Fatalf("%d distinct IDs for %d issued", seen.Count(), len(ids))
	}
}

func newAllocs(t *testing.T, rdb redis.UniversalClient, n int, opts ...Option) []*Allocator {
	t.Helper()
	var out []*Allocator
	for range n {
		a, err := NewAllocator(rdb, append([]Option{WithPrefix(redistest.Prefix(t)), WithSegmentSize(50, 2000, time.Second)}, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = a.Close() })
		out = append(out, a)
	}
	return out
}

// TestAllocatorUnique: 4 allocators sharing one counter, 1000 goroutines,
// 300k IDs, small segments so that thousands of segments are fetched and
// prefetches race with synchronous fetches.
func TestAllocatorUnique(t *testing.T) {
	rdb := redistest.Client(t)
	allocs := newAllocs(t, rdb, 4, WithSegmentSize(20, 500, time.Second))
	ids := drain(t, allocs, 1000, 300, nil)
	assertUnique(t, ids)
	var segs int64
	var issued uint64
	for _, a := range allocs {
		_ = a.Close()
		st := a.Stats()
		segs += st.Segments
		issued += st.Issued
		if st.Backwards != 0 {
			t.Fatalf("backwards without a failover: %+v", st)
		}
	}
	if issued != uint64(len(ids)) {
		t.Fatalf("Stats.Issued = %d, want %d", issued, len(ids))
	}
	t.Logf("%d IDs, %d segments", len(ids), segs)
}

// TestAllocatorCounterReset simulates a failover that moved the counter back:
// the counter key is reset to 0 (and later to a value inside used ranges)
// while allocators run. The persisted mark must make them skip, never reuse.
func TestAllocatorCounterReset(t *testing.T) {
	rdb := redistest.Client(t)
	allocs := newAllocs(t, rdb, 3)
	ctr := allocs[0].keys[0]
	ids := drain(t, allocs, 300, 500, func() {
		for i := range 5 {
			time.Sleep(10 * time.Millisecond)
			if err := rdb.Set(context.Background(), ctr, i*100, 0).Err(); err != nil {
				t.Error(err)
			}
		}
	})
	assertUnique(t, ids)
	var back int64
	for _, a := range allocs {
		back += a.Stats().Backwards
	}
	if back == 0 {
		t.Fatal("no backwards move detected: the test did not exercise the reset")
	}
	t.Logf("%d IDs, counter found backwards %d times", len(ids), back)
}

// TestAllocatorLostRedis kills a real redis-server without persistence mid-run,
// so the counter AND its mark are lost (what an asynchronous failover can do),
// and restarts it empty. The MarkStore keeps the IDs unique; the allocators
// return errors while the server is down and recover after.
func TestAllocatorLostRedis(t *testing.T) {
	srv := redistest.Server(t)
	rdb := srv.Client()
	marks := &memMarks{}
	allocs := newAllocs(t, rdb, 3, WithMarkStore(marks))
	ctx := context.Background()
	var all []uint64
	take := func(n int) {
		for i := range n {
			id, err := allocs[i%3].Next(ctx)
			if err != nil {
				t.Fatalf("Next: %v", err)
			}
			all = append(all, id)
		}
	}
	take(5000)
	srv.Kill()
	// Drain what is reserved; at some point Next must fail, not invent IDs.
	var downErr error
	for i := 0; i < 100000 && downErr == nil; i++ {
		tctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		id, err := allocs[i%3].Next(tctx)
		cancel()
		if err != nil {
			downErr = err
			break
		}
		all = append(all, id)
	}
	if downErr == nil {
		t.Fatal("allocators kept issuing IDs with Redis down beyond their segments")
	}
	// The restarted server has lost the counter and the mark (no persistence). Its
	// emptiness cannot be asserted here: an allocator's background prefetch may
	// already write the keys again the moment the server is back. The Backwards
	// count below proves the loss was seen.
	srv.Start()
	ids := drain(t, allocs, 200, 100, nil)
	all = append(all, ids...)
	assertUnique(t, all)
	var back int64
	for _, a := range allocs {
		back += a.Stats().Backwards
	}
	if back == 0 {
		t.Fatal("the loss of the counter was not detected")
	}
}

// TestAllocatorLocalMark: with no MarkStore, losing both keys is still caught
// for each allocator's own past segments (its local mark), so a single
// allocator stays unique; several allocators need a MarkStore (see doc.go).
func TestAllocatorLocalMark(t *testing.T) {
	rdb := redistest.Client(t)
	a := newAllocs(t, rdb, 1)[0]
	ids := drain(t, []*Allocator{a}, 10, 500, nil)
	if err := rdb.Del(context.Background(), a.keys...).Err(); err != nil {
		t.Fatal(err)
	}
	ids = append(ids, drain(t, []*Allocator{a}, 10, 500, nil)...)
	assertUnique(t, ids)
	if a.Stats().Backwards == 0 {
		t.Fatal("local mark did not detect the reset")
	}
}

func TestAllocatorAdaptsStep(t *testing.T) {
	rdb := redistest.Client(t)
	a, err := NewAllocator(rdb, WithPrefix(redistest.Prefix(t)), WithSegmentSize(10, 640, time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	for range 5000 {
		if _, err := a.Next(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if st := a.Stats(); st.Step != 640 {
		t.Fatalf("segments consumed fast should grow to the max: %+v", st)
	}
	b, _ := NewAllocator(rdb, WithPrefix(redistest.Prefix(t)), WithSegmentSize(10, 640, time.Millisecond))
	defer b.Close()
	b.step = 40
	for range 300 {
		if _, err := b.Next(context.Background()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Microsecond)
	}
	// Each ID takes >= 50µs, so every segment outlives 2ms and the step shrinks.
	if st := b.Stats(); st.Step >= 40 {
		t.Fatalf("slow segments should shrink the step: %+v", st)
	}
}

func TestAllocatorErrors(t *testing.T) {
	rdb := redistest.Client(t)
	if _, err := NewAllocator(nil); !errors.Is(err, ErrConfig) {
		t.Fatal(err)
	}
	for _, o := range []Option{WithPrefix(""), WithPrefix("a{b"), WithCounterName(""), WithSegmentSize(0, 1, time.Second),
		WithSegmentSize(10, 5, time.Second), WithSegmentSize(1, 2, 0), WithSchemes(), WithMaxURLLength(0), WithTombstone(-1), WithClock(nil)} {
		if _, err := NewAllocator(rdb, o); !errors.Is(err, ErrConfig) {
			t.Fatalf("bad option accepted: %v", err)
		}
	}
	a := newAllocs(t, rdb, 1)[0]
	_ = a.Close()
	if _, err := a.Next(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatal(err)
	}
	// A corrupt mark is refused by the script rather than ignored.
	c := newAllocs(t, rdb, 1, WithCounterName("corrupt"))[0]
	if err := rdb.Set(context.Background(), c.keys[1], "x", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Next(context.Background()); err == nil {
		t.Fatal("corrupt mark accepted")
	}
	// A small permutation domain is exhausted, not wrapped around.
	p, _ := NewPermutation([]byte("k"), 1)
	d := newAllocs(t, rdb, 1, WithCounterName("small"), WithPermutation(p))[0]
	var err error
	for i := 0; i < 1000 && err == nil; i++ {
		_, err = d.Next(context.Background())
	}
	if !errors.Is(err, ErrExhausted) {
		t.Fatalf("want ErrExhausted, got %v", err)
	}
}
