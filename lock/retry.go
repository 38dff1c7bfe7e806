package lock

import (
	"math/rand/v2"
	"time"
)

// Retry decides how long to wait before the next attempt to obtain a lock that
// is held by someone else. attempt is 1 before the first retry, 2 before the
// second, and so on; ok=false stops retrying. Implementations must be safe for
// concurrent use: a Retry is a value shared by every Acquire that uses it.
type Retry interface {
	Backoff(attempt int) (wait time.Duration, ok bool)
}

// RetryFunc adapts a function to Retry.
type RetryFunc func(attempt int) (time.Duration, bool)

// Backoff calls f.
func (f RetryFunc) Backoff(attempt int) (time.Duration, bool) { return f(attempt) }

type noRetry struct{}

func (noRetry) Backoff(int) (time.Duration, bool) { return 0, false }

// NoRetry tries once. It is the default: a caller that wants to wait says so.
func NoRetry() Retry { return noRetry{} }

type linear struct{ d time.Duration }

func (l linear) Backoff(int) (time.Duration, bool) { return l.d, true }

// LinearBackoff waits d between attempts, forever (bound it with WithWait, the
// context or LimitRetry). d ≤ 0 is treated as 1ms so that a mistake cannot
// turn into a busy loop against Redis.
func LinearBackoff(d time.Duration) Retry {
	if d <= 0 {
		d = time.Millisecond
	}
	return linear{d}
}

type expJitter struct{ base, max time.Duration }

func (e expJitter) Backoff(attempt int) (time.Duration, bool) {
	attempt = max(attempt, 1) // a caller's 0 or negative must not shift negatively
	ceil := e.max
	if attempt < 62 {
		if c := e.base << (attempt - 1); c > 0 && c < e.max {
			ceil = c
		}
	}
	// Full jitter (AWS architecture blog): uniform in [0, ceil]. Spreads the
	// waiters so that a release is not followed by a thundering herd. The
	// extra microsecond keeps a zero draw from becoming a busy retry.
	return time.Duration(rand.Int64N(int64(ceil))) + time.Microsecond, true
}

// ExponentialBackoff waits a uniformly random time in [0, min(max, base·2^(n-1))]
// before retry n ("full jitter"), forever. base ≤ 0 becomes 1ms; max < base
// becomes base.
func ExponentialBackoff(base, max time.Duration) Retry {
	if base <= 0 {
		base = time.Millisecond
	}
	if max < base {
		max = base
	}
	return expJitter{base, max}
}

type limited struct {
	r Retry
	n int
}

func (l limited) Backoff(attempt int) (time.Duration, bool) {
	if attempt > l.n {
		return 0, false
	}
	return l.r.Backoff(attempt)
}

// LimitRetry allows at most n retries (n+1 attempts) of r. n ≤ 0 means no retry.
func LimitRetry(r Retry, n int) Retry {
	if r == nil {
		r = NoRetry()
	}
	return limited{r, n}
}
