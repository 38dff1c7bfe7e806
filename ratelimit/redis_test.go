package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/surgekit/surge/internal/redistest"
)

func newRedisLimiter(t *testing.T, rdb redis.UniversalClient, l Limit, opts ...Option) *Limiter {
	t.Helper()
	lim, err := New(rdb, l, append([]Option{WithPrefix(redistest.Prefix(t))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = lim.Close() })
	return lim
}

// modes are the three ways a Limiter talks to Redis; every behaviour test runs
// in each.
var modes = []struct {
	name string
	opts []Option
}{
	{"evalsha", []Option{WithPipelining(0)}},
	{"pipelined", []Option{}}, // the default: 2 lanes
	{"batchscript", []Option{WithPipelining(4), WithBatchScript(true)}},
}

func TestRedisSemantics(t *testing.T) {
	rdb := redistest.Client(t)
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			lim := newRedisLimiter(t, rdb, Every(time.Hour).WithBurst(3), m.opts...)
			key := "user-" + m.name
			for i := 2; i >= 0; i-- {
				r, err := lim.Allow(bg, key)
				if err != nil || !r.Allowed || r.Remaining != i || r.Fallback {
					t.Fatalf("allow %d: %+v %v", i, r, err)
				}
			}
			r, err := lim.Allow(bg, key)
			if err != nil || r.Allowed || r.RetryAfter <= 0 || r.RetryAfter > time.Hour ||
				r.ResetAfter <= 2*time.Hour || r.ResetAfter > 3*time.Hour {
				t.Fatalf("denied: %+v %v", r, err)
			}
			p, err := lim.Peek(bg, key)
			if err != nil || p.Allowed || p.Remaining != 0 {
				t.Fatalf("peek: %+v %v", p, err)
			}
			// The state is one key with a TTL that ends when the bucket is full.
			ttl, err := rdb.PTTL(bg, lim.Key(key)).Result()
			if err != nil || ttl <= 2*time.Hour || ttl > 3*time.Hour {
				t.Fatalf("ttl %v %v", ttl, err)
			}
			if err := lim.Reset(bg, key); err != nil {
				t.Fatal(err)
			}
			p, _ = lim.Peek(bg, key)
			if !p.Allowed || p.Remaining != 3 {
				t.Fatalf("peek after reset: %+v", p)
			}
			if n, _ := rdb.Exists(bg, lim.Key(key)).Result(); n != 0 {
				t.Fatal("peek stored state")
			}
			if r, _ := lim.AllowN(bg, key, 3); !r.Allowed || r.Remaining != 0 {
				t.Fatalf("AllowN 3: %+v", r)
			}
			st := lim.Stats()
			if st.Allowed != 4 || st.Limited != 1 || st.Errors != 0 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

func TestRedisBadInputBeforeIO(t *testing.T) {
	// A client that can never connect: any I/O would fail with a network error.
	dead := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	defer dead.Close()
	lim, err := New(dead, PerSecond(2))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lim.Allow(bg, ""); !errors.Is(err, ErrInvalidKey) {
		t.Fatal(err)
	}
	if _, err := lim.AllowN(bg, "k", 0); !errors.Is(err, ErrInvalidN) {
		t.Fatal(err)
	}
	if _, err := lim.AllowN(bg, "k", 3); !errors.Is(err, ErrExceedsBurst) {
		t.Fatal(err)
	}
	if err := lim.Reset(bg, string(make([]byte, MaxKeyLen+1))); !errors.Is(err, ErrInvalidKey) {
		t.Fatal(err)
	}
	if _, err := lim.Allow(bg, "k"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("no fallback: want ErrUnavailable, got %v", err)
	}
	if _, err := New(nil, PerSecond(1)); !errors.Is(err, ErrInvalidOption) {
		t.Fatal(err)
	}
	if _, err := New(dead, PerSecond(1), WithFallback(0)); !errors.Is(err, ErrInvalidOption) {
		t.Fatal(err)
	}
	if _, err := New(dead, Limit{}); !errors.Is(err, ErrInvalidLimit) {
		t.Fatal(err)
	}
	_ = lim.Close()
	if _, err := lim.Allow(bg, "k"); !errors.Is(err, ErrClosed) {
		t.Fatal(err)
	}
}

// TestRedisExactCount: with an interval far longer than the test, each key must
// allow exactly its burst, however many goroutines race for it.
func TestRedisExactCount(t *testing.T) {
	rdb := redistest.Client(t)
	goroutines := 200 // miniredis runs Lua slowly
	if redistest.Real() {
		goroutines = 2000
	}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			lim := newRedisLimiter(t, rdb, Every(time.Hour).WithBurst(100), append(m.opts,
				WithOverrides(map[string]Limit{"hot": Every(time.Hour).WithBurst(7)}))...)
			keys := []string{"a", "b", "c", "d", "hot"}
			var allowed [5]atomic.Int64
			var wg sync.WaitGroup
			for g := 0; g < goroutines; g++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range keys {
						r, err := lim.Allow(bg, keys[(i+g)%len(keys)])
						if err != nil {
							t.Error(err)
							return
						}
						if r.Allowed {
							allowed[(i+g)%len(keys)].Add(1)
						}
					}
				}()
			}
			wg.Wait()
			for i, k := range keys {
				want := int64(100)
				if k == "hot" {
					want = 7
				}
				if got := allowed[i].Load(); got != want {
					t.Errorf("key %s: allowed %d, want exactly %d", k, got, want)
				}
			}
			st := lim.Stats()
			if st.Allowed != 407 || st.Limited != uint64(5*goroutines-407) {
				t.Errorf("stats %+v", st)
			}
			t.Logf("pipelines %d carrying %d decisions", st.Pipelines, st.PipelinedCalls)
		})
	}
}

// TestRedisWindowBound: many goroutines hammer a few keys for a while; each key's
// allowed count must stay within burst + floor(W/interval), W being the client's
// measured window (it contains the server's).
func TestRedisWindowBound(t *testing.T) {
	rdb := redistest.Client(t)
	lim := newRedisLimiter(t, rdb, Every(20*time.Millisecond).WithBurst(5), WithBatchScript(true))
	keys := []string{"k1", "k2", "k3", "{tag}k4"}
	var allowed [4]atomic.Int64
	ctx, cancel := context.WithTimeout(bg, 400*time.Millisecond)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for g := 0; g < 64; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				k := (g + i) % len(keys)
				r, err := lim.Allow(context.WithoutCancel(ctx), keys[k])
				if err != nil {
					t.Error(err)
					return
				}
				if r.Allowed {
					allowed[k].Add(1)
				}
			}
		}()
	}
	wg.Wait()
	w := time.Since(start)
	bound := int64(5) + int64(w/(20*time.Millisecond))
	for i, k := range keys {
		got := allowed[i].Load()
		if got > bound || got < 5 {
			t.Errorf("key %s: allowed %d, bound %d over %v", k, got, bound, w)
		}
		t.Logf("key %s: allowed %d of bound %d over %v", k, got, bound, w)
	}
}

// TestScriptsValidateArguments calls both scripts directly with bad arguments:
// each must refuse with its own error and write nothing.
func TestScriptsValidateArguments(t *testing.T) {
	rdb := redistest.Client(t)
	key := redistest.Prefix(t) + "ratelimit:x"
	bad := [][]any{
		{0, 1, 1, "0"}, {1.5, 1, 1, "0"}, {"x", 1, 1, "0"}, {1, 0, 1, "0"}, {1, 2, 3, "0"},
		{1, 2, 0, "0"}, {1, 2, 1, "2"}, {1 << 40, 1 << 20, 1, "0"}, {1, 1, 1},
	}
	for _, args := range bad {
		err := rdb.Eval(bg, gcraLua, []string{key}, args...).Err()
		if err == nil || !strings.Contains(err.Error(), "ratelimit: ") {
			t.Errorf("gcra.lua %v: %v", args, err)
		}
		err = rdb.Eval(bg, gcraBatchLua, []string{key}, args...).Err()
		if err == nil || !strings.Contains(err.Error(), "ratelimit: ") {
			t.Errorf("gcra_batch.lua %v: %v", args, err)
		}
	}
	if n, _ := rdb.Exists(bg, key).Result(); n != 0 {
		t.Fatal("a refused call wrote state")
	}
}

// TestRedisForeignKeyError: a key of the wrong type under our name is a reply
// error reported as such (not ErrUnavailable, and no fallback).
func TestRedisForeignKeyError(t *testing.T) {
	rdb := redistest.Client(t)
	lim := newRedisLimiter(t, rdb, PerSecond(5), WithFallback(2))
	if err := rdb.HSet(bg, lim.Key("h"), "f", "v").Err(); err != nil {
		t.Fatal(err)
	}
	_, err := lim.Allow(bg, "h")
	if err == nil || errors.Is(err, ErrUnavailable) || lim.Stats().Fallback {
		t.Fatalf("want a plain reply error, got %v (stats %+v)", err, lim.Stats())
	}
}

func TestRedisOverrideAndWait(t *testing.T) {
	rdb := redistest.Client(t)
	lim := newRedisLimiter(t, rdb, Every(time.Hour), WithMaxWait(2*time.Second))
	if err := lim.SetOverride("vip", Every(10*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		if err := lim.Wait(bg, "vip"); err != nil {
			t.Fatal(err)
		}
	}
	if err := lim.Wait(bg, "plain"); err != nil {
		t.Fatal(err)
	}
	if err := lim.Wait(bg, "plain"); !errors.Is(err, ErrLimited) {
		t.Fatalf("want ErrLimited, got %v", err)
	}
	lim.DeleteOverride("vip")
	if err := lim.Wait(bg, "vip"); err != nil { // 1 per hour, bucket full by now? no: TAT is 10ms ahead
		if !errors.Is(err, ErrLimited) {
			t.Fatal(err)
		}
	}
	if err := lim.SetOverride("", PerSecond(1)); !errors.Is(err, ErrInvalidKey) {
		t.Fatal(err)
	}
}

// TestRedisCancelledCallersDoNotStall: callers whose context ends while queued
// behind a frozen server leave; the lanes are released and later calls succeed.
func TestRedisCancelledCallersDoNotStall(t *testing.T) {
	srv := redistest.Server(t)
	lim := newRedisLimiter(t, srv.Client(), PerSecond(1000), WithPipelining(2))
	if _, err := lim.Allow(bg, "warm"); err != nil {
		t.Fatal(err)
	}
	srv.Freeze()
	var wg sync.WaitGroup
	var failed atomic.Int64
	for g := 0; g < 50; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(bg, 50*time.Millisecond)
			defer cancel()
			if _, err := lim.Allow(ctx, fmt.Sprint("k", g)); err != nil {
				failed.Add(1)
			}
		}()
	}
	wg.Wait()
	srv.Thaw()
	if failed.Load() != 50 {
		t.Fatalf("%d of 50 calls failed against a frozen server", failed.Load())
	}
	for i := 0; i < 20; i++ {
		if _, err := lim.Allow(bg, fmt.Sprint("after", i)); err != nil {
			t.Fatalf("after thaw: %v", err)
		}
	}
}
