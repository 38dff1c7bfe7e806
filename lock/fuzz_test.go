package lock

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/surgekit/surge/internal/redistest"
)

// FuzzAcquireInput: whatever the key, TTL and prefix, Acquire either returns
// an *ArgumentError (before I/O) or a lock that releases cleanly. Never a
// panic, never a Redis error (which is how a bad key layout — CROSSSLOT,
// a malformed script argument — would show up).
func FuzzAcquireInput(f *testing.F) {
	f.Add("order:1", int64(1000), "surge:")
	f.Add("", int64(1000), "")
	f.Add("a{b}", int64(1000), "x:")
	f.Add("}", int64(5), "p{")
	f.Add("k", int64(-1), "")
	f.Add("\x00\xff", int64(20), "é:")
	_, rdb := redistest.Mini(f)
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, key string, ttlMs int64, prefix string) {
		c, err := New(rdb, WithPrefix(prefix))
		if err != nil {
			if !errors.Is(err, ErrInvalidArgument) {
				t.Fatalf("New: %v", err)
			}
			return
		}
		l, err := c.Acquire(ctx, key, time.Duration(ttlMs)*time.Millisecond)
		if err != nil {
			if !errors.Is(err, ErrInvalidArgument) && !errors.Is(err, ErrNotObtained) {
				t.Fatalf("Acquire(%q, %dms): %v", key, ttlMs, err)
			}
			return
		}
		if err := l.Release(ctx); err != nil {
			t.Fatalf("Release: %v", err)
		}
	})
}

// FuzzRetry: any parameters and attempt number give a bounded, non-negative
// wait and never panic.
func FuzzRetry(f *testing.F) {
	f.Add(int64(1e6), int64(1e8), 1, 3)
	f.Add(int64(0), int64(-5), 0, 0)
	f.Add(int64(-1), int64(1), -7, -1)
	f.Add(int64(1<<62), int64(1<<62), 1000, 1<<30)
	f.Fuzz(func(t *testing.T, base, maxWait int64, attempt, limit int) {
		e := ExponentialBackoff(time.Duration(base), time.Duration(maxWait))
		ceil := max(time.Duration(maxWait), time.Duration(base), time.Millisecond)
		for _, r := range []Retry{e, LinearBackoff(time.Duration(base)), LimitRetry(e, limit), NoRetry()} {
			d, ok := r.Backoff(attempt)
			if !ok {
				continue
			}
			if d < 0 || (r == e && d > ceil+time.Microsecond) {
				t.Fatalf("%T.Backoff(%d) = %v (base %d, max %d)", r, attempt, d, base, maxWait)
			}
		}
	})
}
