package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock is a manually advanced clock for simulated-time tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Unix(1_700_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

var bg = context.Background()

func TestLimitConstructors(t *testing.T) {
	cases := []struct {
		l    Limit
		iv   time.Duration
		b    int
		good bool
	}{
		{PerSecond(10), 100 * time.Millisecond, 10, true},
		{PerSecond(3), 333333334 * time.Nanosecond, 3, true}, // rounded up, never faster
		{PerMinute(2), 30 * time.Second, 2, true},
		{Every(2 * time.Second), 2 * time.Second, 1, true}, // "1 per 2 s"
		{Per(1, 2*time.Second), 2 * time.Second, 1, true},
		{Every(time.Second).WithBurst(5), time.Second, 5, true},
		{PerSecond(0), 0, 0, false},
		{PerSecond(-1), 0, 0, false},
		{Every(0), 0, 1, false},
		{Every(time.Second).WithBurst(0), time.Second, 0, false},
		{Every(24 * time.Hour).WithBurst(1 << 30), 24 * time.Hour, 1 << 30, false},
	}
	for _, c := range cases {
		if c.l.Interval != c.iv || c.l.Burst != c.b {
			t.Errorf("%v: got interval %v burst %d, want %v %d", c.l, c.l.Interval, c.l.Burst, c.iv, c.b)
		}
		err := c.l.Validate()
		if (err == nil) != c.good {
			t.Errorf("%v: Validate = %v, want good=%v", c.l, err, c.good)
		}
		if err != nil && !errors.Is(err, ErrInvalidLimit) {
			t.Errorf("%v: error %v is not ErrInvalidLimit", c.l, err)
		}
	}
	if PerSecond(3).micros() != 333334 {
		t.Fatalf("micros %d", PerSecond(3).micros())
	}
}

func TestLocalSemantics(t *testing.T) {
	clk := newFakeClock()
	lo, err := NewLocal(Every(time.Second).WithBurst(3), WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	for i := 2; i >= 0; i-- {
		r, err := lo.Allow(bg, "u")
		if err != nil || !r.Allowed || r.Remaining != i {
			t.Fatalf("allow %d: %+v %v", i, r, err)
		}
	}
	r, _ := lo.Allow(bg, "u")
	if r.Allowed || r.RetryAfter != time.Second || r.ResetAfter != 3*time.Second || r.Remaining != 0 {
		t.Fatalf("denied: %+v", r)
	}
	p, _ := lo.Peek(bg, "u")
	if p.Allowed || p.RetryAfter != time.Second {
		t.Fatalf("peek: %+v", p)
	}
	clk.Advance(1500 * time.Millisecond)
	p, _ = lo.Peek(bg, "u")
	if !p.Allowed || p.Remaining != 1 {
		t.Fatalf("peek after 1.5s: %+v", p)
	}
	if r, _ := lo.Allow(bg, "u"); !r.Allowed || r.Remaining != 0 {
		t.Fatalf("allow at 1.5s: %+v", r)
	}
	r, _ = lo.AllowN(bg, "u", 2) // no token left: refused, takes nothing
	if r.Allowed || r.RetryAfter != 1500*time.Millisecond {
		t.Fatalf("AllowN 2: %+v", r)
	}
	if err := lo.Reset(bg, "u"); err != nil {
		t.Fatal(err)
	}
	if r, _ := lo.AllowN(bg, "u", 3); !r.Allowed || r.Remaining != 0 {
		t.Fatalf("after reset: %+v", r)
	}
	// Bad input is refused with typed errors.
	if _, err := lo.Allow(bg, ""); !errors.Is(err, ErrInvalidKey) {
		t.Fatal(err)
	}
	if _, err := lo.AllowN(bg, "u", 0); !errors.Is(err, ErrInvalidN) {
		t.Fatal(err)
	}
	if _, err := lo.AllowN(bg, "u", 4); !errors.Is(err, ErrExceedsBurst) {
		t.Fatal(err)
	}
	if _, err := NewLocal(Limit{}); !errors.Is(err, ErrInvalidLimit) {
		t.Fatal(err)
	}
	if _, err := NewLocal(PerSecond(1), WithMaxKeys(0)); !errors.Is(err, ErrInvalidOption) {
		t.Fatal(err)
	}
	st := lo.Stats()
	if st.Allowed != 5 || st.Limited != 2 || st.Keys != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// TestLocalExactBoundSimulated: with demand saturating every key at every step of
// a simulated clock, each key is allowed exactly burst + floor(t/interval) events
// by time t — never more (the guarantee), never fewer (no spurious refusals) —
// from many goroutines at once.
func TestLocalExactBoundSimulated(t *testing.T) {
	clk := newFakeClock()
	lim := Every(100 * time.Millisecond).WithBurst(5)
	lo, err := NewLocal(lim, WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	const keys, workers, steps = 100, 16, 30
	var allowed [keys]atomic.Int64
	var elapsed time.Duration
	for step := 0; step < steps; step++ {
		var wg sync.WaitGroup
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for k := 0; k < keys; k++ {
					for range 2 {
						r, err := lo.Allow(bg, fmt.Sprintf("k%d", k))
						if err != nil {
							t.Error(err)
							return
						}
						if r.Allowed {
							allowed[k].Add(1)
						}
					}
				}
			}()
		}
		wg.Wait()
		want := int64(lim.Burst) + int64(elapsed/lim.Interval)
		for k := range allowed {
			if got := allowed[k].Load(); got != want {
				t.Fatalf("step %d (t=%v) key %d: allowed %d, exact bound %d", step, elapsed, k, got, want)
			}
		}
		d := 37 * time.Millisecond // not a divisor of the interval
		clk.Advance(d)
		elapsed += d
	}
}

// TestLocalExactCountThousands: 4000 goroutines race for 3 keys of burst 500
// (one overridden to 50) on a frozen clock: exactly the burst is allowed.
func TestLocalExactCountThousands(t *testing.T) {
	clk := newFakeClock()
	lo, _ := NewLocal(Every(time.Hour).WithBurst(500), WithClock(clk.Now),
		WithOverrides(map[string]Limit{"hot": Every(time.Hour).WithBurst(50)}))
	keys := []string{"a", "b", "hot"}
	var allowed [3]atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for g := 0; g < 4000; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			k := g % 3
			if r, _ := lo.Allow(bg, keys[k]); r.Allowed {
				allowed[k].Add(1)
			}
		}()
	}
	close(start)
	wg.Wait()
	if a, b, h := allowed[0].Load(), allowed[1].Load(), allowed[2].Load(); a != 500 || b != 500 || h != 50 {
		t.Fatalf("allowed a=%d b=%d hot=%d, want 500 500 50", a, b, h)
	}
}

// TestLocalEvictionLossless replays a random workload on a limiter that sweeps
// often against an unbounded reference model: every decision must match, so the
// evictions lost nothing.
func TestLocalEvictionLossless(t *testing.T) {
	clk := newFakeClock()
	lim := Every(10 * time.Millisecond).WithBurst(3)
	lo, err := NewLocal(lim, WithClock(clk.Now), WithMaxKeys(64*40))
	if err != nil {
		t.Fatal(err)
	}
	ref := map[string]int64{}
	start := clk.Now()
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 40000; i++ {
		if rng.IntN(4) == 0 {
			clk.Advance(time.Duration(rng.IntN(3000)) * time.Microsecond)
		}
		key := fmt.Sprintf("k%d", rng.IntN(3000))
		n := 1 + rng.IntN(3)
		now := int64(clk.Now().Sub(start) / time.Microsecond)
		tat, ok := ref[key]
		d := gcra(tat, ok, now, lim, int64(n), false)
		if d.store {
			ref[key] = d.newTAT
		}
		r, err := lo.AllowN(bg, key, n)
		if err != nil {
			t.Fatal(err)
		}
		if want := d.result(lim); r != want {
			t.Fatalf("op %d key %s n %d: got %+v, reference %+v", i, key, n, r, want)
		}
	}
	st := lo.Stats()
	if st.Evictions == 0 || st.Overflows != 0 {
		t.Fatalf("want evictions and no overflow: %+v", st)
	}
	t.Logf("%+v", st)
}

// TestLocalHardCap: at the cap with every bucket still in debt, new keys are
// refused (fail closed) and the held keys keep their state; once buckets fill up
// again they are evicted and new keys get in.
func TestLocalHardCap(t *testing.T) {
	clk := newFakeClock()
	lo, err := NewLocal(Every(time.Second), WithClock(clk.Now), WithMaxKeys(64))
	if err != nil {
		t.Fatal(err)
	}
	admitted := 0
	for i := 0; i < 1000; i++ {
		if r, _ := lo.Allow(bg, fmt.Sprintf("k%d", i)); r.Allowed {
			admitted++
		} else if r.RetryAfter <= 0 {
			t.Fatalf("overflow refusal without RetryAfter: %+v", r)
		}
	}
	st := lo.Stats()
	if st.Keys != 64 || st.Overflows == 0 || admitted != 64 {
		t.Fatalf("admitted %d, stats %+v", admitted, st)
	}
	// A held key is still limited: nothing was dropped to make room.
	for i := 0; i < 1000; i++ {
		if r, _ := lo.Allow(bg, fmt.Sprintf("k%d", i)); r.Allowed {
			t.Fatalf("k%d allowed twice within its interval", i)
		}
	}
	clk.Advance(time.Second)
	if r, _ := lo.Allow(bg, "fresh"); !r.Allowed {
		t.Fatalf("after buckets refilled: %+v", r)
	}
	if lo.Stats().Evictions == 0 {
		t.Fatal("no eviction")
	}
}

func TestLocalOverrides(t *testing.T) {
	clk := newFakeClock()
	lo, err := NewLocal(Every(time.Second), WithClock(clk.Now),
		WithOverrides(map[string]Limit{"vip": PerSecond(100)}))
	if err != nil {
		t.Fatal(err)
	}
	count := func(key string) int {
		n := 0
		for range 200 {
			if r, _ := lo.Allow(bg, key); r.Allowed {
				n++
			}
		}
		return n
	}
	if a, b := count("vip"), count("user"); a != 100 || b != 1 {
		t.Fatalf("vip %d user %d", a, b)
	}
	if err := lo.SetOverride("hot-sku", Every(time.Minute).WithBurst(2)); err != nil {
		t.Fatal(err)
	}
	if n := count("hot-sku"); n != 2 {
		t.Fatalf("hot-sku %d", n)
	}
	lo.DeleteOverride("vip")
	clk.Advance(time.Hour)
	if n := count("vip"); n != 1 {
		t.Fatalf("vip after delete %d", n)
	}
	if err := lo.SetOverride("x", Limit{}); !errors.Is(err, ErrInvalidLimit) {
		t.Fatal(err)
	}
	if _, err := NewLocal(PerSecond(1), WithOverrides(map[string]Limit{"": PerSecond(1)})); !errors.Is(err, ErrInvalidOption) {
		t.Fatal(err)
	}
}

func TestLocalWait(t *testing.T) {
	lo, err := NewLocal(Every(20*time.Millisecond), WithMaxWait(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if err := lo.Wait(bg, "w"); err != nil {
			t.Fatal(err)
		}
	}
	if lo.Stats().Allowed != 3 {
		t.Fatalf("%+v", lo.Stats())
	}
	// A wait that cannot fit in the deadline fails at once with ErrLimited.
	slow, _ := NewLocal(Every(time.Hour))
	_, _ = slow.Allow(bg, "w")
	ctx, cancel := context.WithTimeout(bg, time.Second)
	defer cancel()
	if err := slow.Wait(ctx, "w"); !errors.Is(err, ErrLimited) {
		t.Fatalf("want ErrLimited, got %v", err)
	}
	if err := slow.WaitN(ctx, "w", 0); !errors.Is(err, ErrInvalidN) {
		t.Fatal(err)
	}
}
