package lock

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/surgekit/surge/internal/redistest"
)

func TestBadInputBeforeIO(t *testing.T) {
	// Nothing listens on port 1: any I/O would fail with a dial error, not
	// an *ArgumentError.
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	defer rdb.Close()
	c, err := New(rdb)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cases := []struct {
		name string
		key  string
		ttl  time.Duration
		opts []AcquireOption
		arg  string
	}{
		{"empty key", "", time.Second, nil, "key"},
		{"brace key", "a{b", time.Second, nil, "key"},
		{"long key", string(make([]byte, 1025)), time.Second, nil, "key"},
		{"zero ttl", "k", 0, nil, "ttl"},
		{"negative ttl", "k", -time.Second, nil, "ttl"},
		{"ttl below minimum", "k", MinTTL - time.Millisecond, nil, "ttl"},
		{"negative wait", "k", time.Second, []AcquireOption{WithWait(-1)}, "wait"},
		{"watchdog too slow", "k", time.Second, []AcquireOption{WithWatchdog(time.Second)}, "refresh interval"},
		{"max hold tiny", "k", time.Second, []AcquireOption{WithMaxHold(time.Millisecond)}, "max hold"},
		{"replicas negative", "k", time.Second, []AcquireOption{WithReplicas(-1, time.Second)}, "replicas"},
		{"replicas no timeout", "k", time.Second, []AcquireOption{WithReplicas(1, 0)}, "replica timeout"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Acquire(ctx, tc.key, tc.ttl, tc.opts...)
			var ae *ArgumentError
			if !errors.Is(err, ErrInvalidArgument) || !errors.As(err, &ae) || ae.Arg != tc.arg {
				t.Fatalf("err = %v, want ArgumentError on %q", err, tc.arg)
			}
		})
	}
	if _, err := New(rdb, WithPrefix("a{b}:")); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("brace prefix: %v", err)
	}
	if _, err := New(rdb, WithDriftFactor(0.7)); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("drift: %v", err)
	}
	if _, err := New(nil); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("nil client: %v", err)
	}
	if _, err := NewRedlock([]redis.UniversalClient{rdb, rdb}); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("two nodes: %v", err)
	}
	rl, err := NewRedlock([]redis.UniversalClient{rdb, rdb, rdb})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rl.Acquire(ctx, "k", time.Second, WithReplicas(1, time.Second)); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("redlock WAIT: %v", err)
	}
}

// TestLifecycle runs the same script on both constructors: one API.
func TestLifecycle(t *testing.T) {
	for _, kind := range []string{"single", "redlock"} {
		t.Run(kind, func(t *testing.T) {
			var c *Client
			if kind == "single" {
				c, _ = tierClient(t)
			} else {
				c, _ = redlockClient(t, 5)
			}
			ctx := ctxT(t)
			l1, err := c.Acquire(ctx, "order-1", 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if l1.Fence() <= 0 || l1.Token() == "" || l1.Name() != "order-1" {
				t.Fatalf("fence %d token %q name %q", l1.Fence(), l1.Token(), l1.Name())
			}
			if v := time.Until(l1.ValidUntil()); v <= 0 || v > 5*time.Second {
				t.Fatalf("validity %v", v)
			}
			if _, err := c.Acquire(ctx, "order-1", 5*time.Second); !errors.Is(err, ErrNotObtained) {
				t.Fatalf("second acquire: %v", err)
			}
			if d, err := l1.TTL(ctx); err != nil || d <= 0 || d > 5*time.Second {
				t.Fatalf("TTL = %v, %v", d, err)
			}
			if err := l1.Refresh(ctx, 10*time.Second); err != nil {
				t.Fatal(err)
			}
			if d, err := l1.TTL(ctx); err != nil || d <= 5*time.Second {
				t.Fatalf("TTL after refresh = %v, %v", d, err)
			}
			if err := l1.Release(ctx); err != nil {
				t.Fatal(err)
			}
			if !errors.Is(context.Cause(l1.Context()), ErrReleased) {
				t.Fatalf("cause %v", context.Cause(l1.Context()))
			}
			if err := l1.Release(ctx); !errors.Is(err, ErrNotHeld) {
				t.Fatalf("second release: %v", err)
			}
			if err := l1.Refresh(ctx, time.Second); !errors.Is(err, ErrNotHeld) {
				t.Fatalf("refresh after release: %v", err)
			}
			if _, err := l1.TTL(ctx); !errors.Is(err, ErrNotHeld) {
				t.Fatalf("TTL after release: %v", err)
			}
			l2, err := c.Acquire(ctx, "order-1", 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if l2.Fence() <= l1.Fence() {
				t.Fatalf("fence %d after %d", l2.Fence(), l1.Fence())
			}
			if err := l2.Release(ctx); err != nil {
				t.Fatal(err)
			}
			s := c.Stats()
			if s.Acquired != 2 || s.Released != 2 || s.Contended != 1 || s.NotObtained != 1 || s.Held != 0 || s.Refreshed != 1 {
				t.Fatalf("stats %+v", s)
			}
		})
	}
}

// TestMutualExclusion: a read-sleep-write on a Redis counter inside the
// lock. Any overlap of two holders loses an increment; fences must rise in
// grant order.
func TestMutualExclusion(t *testing.T) {
	for _, kind := range []string{"single", "redlock"} {
		t.Run(kind, func(t *testing.T) {
			var (
				c     *Client
				store redis.UniversalClient
				n     = 200
			)
			if kind == "single" {
				c, store = tierClient(t)
				if !redistest.Real() {
					n = 60 // miniredis runs each Lua call in ~1ms under one lock
				}
			} else {
				var nodes []*redis.Client
				c, nodes = redlockClient(t, 5)
				store = nodes[0]
				// Each losing poll costs 10 scripts (5 SET NX, 5 releases)
				// and split votes are real: Redlock is not for hot locks.
				n = 40
				if !redistest.RealNodes() {
					// Five in-process miniredis, each Lua call ~1ms of CPU:
					// keep the pollers from starving the holder.
					n = 12
				}
			}
			ctx := ctxT(t)
			p := redistest.Prefix(t)
			counter, lastFence := p+"counter", p+"fence-seen"
			var wg sync.WaitGroup
			errs := make(chan error, n)
			for range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					l, err := c.Acquire(ctx, "counter", 10*time.Second,
						WithRetry(ExponentialBackoff(5*time.Millisecond, 200*time.Millisecond)), WithWait(25*time.Second))
					if err != nil {
						errs <- err
						return
					}
					defer func() {
						if err := l.Release(ctx); err != nil {
							errs <- err
						}
					}()
					v, _ := store.Get(ctx, counter).Int()
					last, _ := store.Get(ctx, lastFence).Int64()
					if l.Fence() <= last {
						errs <- fmt.Errorf("fence %d not above %d", l.Fence(), last)
					}
					time.Sleep(time.Millisecond)
					store.Set(ctx, lastFence, l.Fence(), 0)
					store.Set(ctx, counter, v+1, 0)
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			if got, err := store.Get(ctx, counter).Int(); err != nil || got != n {
				t.Fatalf("counter = %d (%v), want %d", got, err, n)
			}
			s := c.Stats()
			if s.Acquired != uint64(n) || s.Released != uint64(n) || s.Held != 0 {
				t.Fatalf("stats %+v", s)
			}
			t.Logf("%s: %+v mean acquire %v", kind, s, s.MeanAcquireLatency())
		})
	}
}

func TestContextAndWaitDeadline(t *testing.T) {
	for _, kind := range []string{"single", "redlock"} {
		t.Run(kind, func(t *testing.T) {
			var c *Client
			if kind == "single" {
				c, _ = tierClient(t)
			} else {
				c, _ = redlockClient(t, 3)
			}
			ctx := ctxT(t)
			held, err := c.Acquire(ctx, "busy", 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer held.Release(ctx)

			cctx, cancel := context.WithTimeout(ctx, 60*time.Millisecond)
			defer cancel()
			_, err = c.Acquire(cctx, "busy", time.Second, WithRetry(LinearBackoff(5*time.Millisecond)))
			if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, ErrNotObtained) {
				t.Fatalf("ctx deadline: %v", err)
			}
			cctx, cancel = context.WithCancel(ctx)
			time.AfterFunc(30*time.Millisecond, cancel)
			_, err = c.Acquire(cctx, "busy", time.Second, WithRetry(LinearBackoff(5*time.Millisecond)))
			if !errors.Is(err, context.Canceled) || !errors.Is(err, cctx.Err()) {
				t.Fatalf("ctx cancel: %v", err)
			}

			start := time.Now()
			_, err = c.Acquire(ctx, "busy", time.Second, WithRetry(LinearBackoff(5*time.Millisecond)), WithWait(80*time.Millisecond))
			if !errors.Is(err, ErrNotObtained) || errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("wait deadline: %v", err)
			}
			if time.Since(start) < 80*time.Millisecond {
				t.Fatalf("gave up before the wait deadline")
			}
			before := c.Stats().Contended
			_, err = c.Acquire(ctx, "busy", time.Second, WithRetry(LimitRetry(LinearBackoff(time.Millisecond), 3)))
			if !errors.Is(err, ErrNotObtained) {
				t.Fatal(err)
			}
			if got := c.Stats().Contended - before; got != 4 {
				t.Fatalf("LimitRetry(3) made %d attempts, want 4", got)
			}
		})
	}
}

// TestWatchdogKeepsAndLoses: the watchdog keeps a short lease alive, and
// cancels the lock context with ErrLost as soon as it finds the lock gone.
func TestWatchdogKeepsAndLoses(t *testing.T) {
	c, rdb := tierClient(t)
	ctx := ctxT(t)
	// Generous slack (a refresh may be 400ms late) so that a loaded CI
	// machine does not make the lock lapse for real.
	l, err := c.Acquire(ctx, "job", 500*time.Millisecond, WithWatchdog(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(1200 * time.Millisecond) // > 2 leases
	if err := l.Context().Err(); err != nil {
		t.Fatalf("watchdog let the lock go: %v", context.Cause(l.Context()))
	}
	if d, err := l.TTL(ctx); err != nil || d <= 0 {
		t.Fatalf("TTL %v %v", d, err)
	}
	if c.Stats().Refreshed == 0 {
		t.Fatal("no refresh counted")
	}
	// Someone deletes the lock (an operator, an eviction, a failover).
	if err := rdb.Del(ctx, c.keysFor("job").lock).Err(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-l.Context().Done():
	case <-time.After(5 * time.Second):
		t.Fatal("lock context not cancelled after the lock vanished")
	}
	if !errors.Is(context.Cause(l.Context()), ErrLost) {
		t.Fatalf("cause %v", context.Cause(l.Context()))
	}
	if err := l.Release(ctx); !errors.Is(err, ErrNotHeld) {
		t.Fatalf("release of lost lock: %v", err)
	}
	s := c.Stats()
	if s.Lost != 1 || s.Held != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestContextEndsAtValidityWithoutWatchdog(t *testing.T) {
	c, _ := tierClient(t)
	ctx := ctxT(t)
	l, err := c.Acquire(ctx, "short", 50*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	<-l.Context().Done()
	if !errors.Is(context.Cause(l.Context()), ErrLost) {
		t.Fatalf("cause %v", context.Cause(l.Context()))
	}
	if time.Now().Before(l.ValidUntil()) {
		t.Fatal("context cancelled before the validity ended")
	}
}

func TestMaxHold(t *testing.T) {
	c, _ := tierClient(t)
	ctx := ctxT(t)
	l, err := c.Acquire(ctx, "capped", 300*time.Millisecond, WithWatchdog(50*time.Millisecond), WithMaxHold(400*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	<-l.Context().Done()
	if !errors.Is(context.Cause(l.Context()), ErrMaxHold) {
		t.Fatalf("cause %v", context.Cause(l.Context()))
	}
	// The last lease is trimmed to end at the max hold time, so the
	// context ends at (or, by the drift margin, just before) it.
	if d := time.Since(l.acquired); d < 400*time.Millisecond-margin(300*time.Millisecond, 0.01)-time.Millisecond {
		t.Fatalf("ended after %v, before the max hold", d)
	}
	if err := l.Refresh(ctx, time.Second); !errors.Is(err, ErrNotHeld) {
		t.Fatalf("refresh after max hold: %v", err)
	}
	_ = l.Release(ctx)
}

// TestReleaseIgnoresCallerCancellation: a request whose context is already
// cancelled still frees its lock at once.
func TestReleaseIgnoresCallerCancellation(t *testing.T) {
	c, rdb := tierClient(t)
	ctx, cancel := context.WithCancel(ctxT(t))
	l, err := c.Acquire(ctx, "req", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if l.Context().Err() != nil {
		t.Fatal("lock context followed the request's cancellation")
	}
	if err := l.Release(ctx); err != nil {
		t.Fatalf("release with cancelled ctx: %v", err)
	}
	if n, err := rdb.Exists(context.Background(), c.keysFor("req").lock).Result(); err != nil || n != 0 {
		t.Fatalf("lock key still there: %d %v", n, err)
	}
}

func TestClose(t *testing.T) {
	c, rdb := tierClient(t)
	ctx := ctxT(t)
	l, err := c.Acquire(ctx, "a", time.Second, WithWatchdog(0))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(context.Cause(l.Context()), ErrClosed) {
		t.Fatalf("cause %v", context.Cause(l.Context()))
	}
	if n, _ := rdb.Exists(ctx, c.keysFor("a").lock).Result(); n != 0 {
		t.Fatal("Close left the lock in Redis")
	}
	if _, err := c.Acquire(ctx, "a", time.Second); !errors.Is(err, ErrClosed) {
		t.Fatalf("acquire after close: %v", err)
	}
}

func TestReplicasReported(t *testing.T) {
	c, _ := tierClient(t)
	ctx := ctxT(t)
	l, err := c.Acquire(ctx, "w", time.Second, WithReplicas(1, 20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release(ctx)
	// The dev servers have no replicas: WAIT times out with 0 and the lock
	// is still granted, with the number reported.
	if l.Replicas() != 0 {
		t.Fatalf("replicas %d", l.Replicas())
	}
	if _, err := c.Acquire(ctx, "w", time.Second, WithReplicas(1, 20*time.Millisecond)); !errors.Is(err, ErrNotObtained) {
		t.Fatalf("contended WAIT acquire: %v", err)
	}
}

func TestRetryStrategies(t *testing.T) {
	if _, ok := NoRetry().Backoff(1); ok {
		t.Fatal("NoRetry retried")
	}
	if d, ok := LinearBackoff(0).Backoff(9); !ok || d != time.Millisecond {
		t.Fatalf("linear %v %v", d, ok)
	}
	e := ExponentialBackoff(2*time.Millisecond, 50*time.Millisecond)
	for attempt := 1; attempt < 100; attempt++ {
		ceil := min(50*time.Millisecond, 2*time.Millisecond<<min(attempt-1, 40))
		for range 20 {
			d, ok := e.Backoff(attempt)
			if !ok || d <= 0 || d > ceil+time.Microsecond {
				t.Fatalf("attempt %d: %v %v (ceil %v)", attempt, d, ok, ceil)
			}
		}
	}
	l := LimitRetry(LinearBackoff(time.Millisecond), 2)
	for attempt, want := range []bool{true, true, false} {
		if _, ok := l.Backoff(attempt + 1); ok != want {
			t.Fatalf("limit attempt %d: %v", attempt+1, ok)
		}
	}
}

// TestRedlockWatchdogLoses: the watchdog keeps a Redlock lease alive, and
// cancels the context when a majority of masters no longer hold it.
func TestRedlockWatchdogLoses(t *testing.T) {
	c, nodes := redlockClient(t, 5)
	ctx := ctxT(t)
	l, err := c.Acquire(ctx, "rjob", 2*time.Second, WithWatchdog(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(700 * time.Millisecond)
	if l.Context().Err() != nil {
		t.Fatalf("watchdog let the lock go: %v", context.Cause(l.Context()))
	}
	if c.Stats().Refreshed == 0 {
		t.Fatal("no refresh counted")
	}
	for _, n := range nodes[:3] {
		if err := n.Del(ctx, c.keysFor("rjob").lock).Err(); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-l.Context().Done():
	case <-time.After(5 * time.Second):
		t.Fatal("lock context not cancelled after a majority lost the lock")
	}
	if !errors.Is(context.Cause(l.Context()), ErrLost) {
		t.Fatalf("cause %v", context.Cause(l.Context()))
	}
	_ = l.Release(ctx)
}
