package ratelimit

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/surgekit/surge/internal/redistest"
)

// TestFallbackStopAndRestart stops a real Redis server under a limiter with
// fallback: decisions continue locally at limit/instances (and stay within that
// bound), the callback reports both switches, and once the server is back a
// probe returns the limiter to Redis by itself.
func TestFallbackStopAndRestart(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) { testFallbackStopAndRestart(t, m.opts) })
	}
}

func testFallbackStopAndRestart(t *testing.T, opts []Option) {
	srv := redistest.Server(t)
	var mu sync.Mutex
	var changes []StateChange
	lim := newRedisLimiter(t, srv.Client(), Every(10*time.Millisecond).WithBurst(10), append(opts,
		WithFallback(2), WithProbeInterval(50*time.Millisecond),
		WithOnStateChange(func(c StateChange) {
			mu.Lock()
			changes = append(changes, c)
			mu.Unlock()
		}))...)
	r, err := lim.Allow(bg, "u")
	if err != nil || !r.Allowed || r.Fallback {
		t.Fatalf("healthy: %+v %v", r, err)
	}

	srv.Stop()
	start := time.Now()
	allowed := 0
	var wg sync.WaitGroup
	var amu sync.Mutex
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Since(start) < 300*time.Millisecond {
				r, err := lim.Allow(bg, "u")
				if err != nil {
					t.Error(err)
					return
				}
				if !r.Fallback {
					t.Error("decision not marked Fallback while Redis is down")
					return
				}
				if r.Limit != Every(20*time.Millisecond).WithBurst(5) {
					t.Errorf("fallback limit %v, want limit/2", r.Limit)
					return
				}
				if r.Allowed {
					amu.Lock()
					allowed++
					amu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	w := time.Since(start)
	if bound := 5 + int(w/(20*time.Millisecond)); allowed > bound || allowed < 5 {
		t.Fatalf("fallback allowed %d, bound %d over %v", allowed, bound, w)
	}
	st := lim.Stats()
	if !st.Fallback || st.FallbackSwitches != 1 || st.FallbackDecisions == 0 || st.FallbackTime <= 0 {
		t.Fatalf("stats while down: %+v", st)
	}

	srv.Start()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r, err := lim.Allow(bg, "v")
		if err != nil {
			t.Fatal(err)
		}
		if !r.Fallback {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("limiter did not return to Redis after the server came back")
		}
		time.Sleep(10 * time.Millisecond)
	}
	st = lim.Stats()
	if st.Fallback || st.FallbackSwitches != 1 {
		t.Fatalf("stats after return: %+v", st)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(changes) != 2 || changes[0].To != StateFallback || changes[0].Err == nil ||
		changes[1].To != StateRedis || changes[1].From != StateFallback {
		t.Fatalf("state changes %+v", changes)
	}
}

// TestNoFallbackReportsUnavailable: without WithFallback a stopped server is an
// error the caller sees (ErrUnavailable), never a silent allow.
func TestNoFallbackReportsUnavailable(t *testing.T) {
	srv := redistest.Server(t)
	lim := newRedisLimiter(t, srv.Client(), PerSecond(10))
	srv.Stop()
	if _, err := lim.Allow(bg, "u"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("want ErrUnavailable, got %v", err)
	}
	if err := lim.Reset(bg, "u"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("reset: want ErrUnavailable, got %v", err)
	}
	if lim.Stats().Errors != 2 {
		t.Fatalf("%+v", lim.Stats())
	}
	srv.Start()
	if r, err := lim.Allow(bg, "u"); err != nil || !r.Allowed {
		t.Fatalf("after restart: %+v %v", r, err)
	}
}
