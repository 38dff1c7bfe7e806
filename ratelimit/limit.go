package ratelimit

import (
	"errors"
	"fmt"
	"time"
)

// Sentinel errors. Test them with errors.Is.
var (
	// ErrInvalidLimit: a Limit with a non-positive rate or burst, or one too large to
	// compute exactly (interval × burst must stay below about 35 years).
	ErrInvalidLimit = errors.New("ratelimit: invalid limit")
	// ErrInvalidKey: an empty key or one longer than MaxKeyLen bytes.
	ErrInvalidKey = errors.New("ratelimit: invalid key")
	// ErrInvalidN: n < 1 in AllowN or WaitN.
	ErrInvalidN = errors.New("ratelimit: n must be at least 1")
	// ErrExceedsBurst: n is larger than the key's burst, so the request can never be
	// allowed however long the caller waits.
	ErrExceedsBurst = errors.New("ratelimit: n exceeds burst")
	// ErrLimited: Wait gave up because the wait would outlast the context deadline or
	// the limiter's maximum wait.
	ErrLimited = errors.New("ratelimit: rate limited")
	// ErrUnavailable: Redis could not be reached and no fallback is configured.
	ErrUnavailable = errors.New("ratelimit: redis unavailable")
	// ErrClosed: the limiter was closed.
	ErrClosed = errors.New("ratelimit: limiter closed")
	// ErrInvalidOption: an option with an out-of-range value.
	ErrInvalidOption = errors.New("ratelimit: invalid option")
)

// MaxKeyLen bounds the length of a key in bytes.
const MaxKeyLen = 1024

// maxTauMicros keeps interval×burst (and every TAT in Lua, a double) exact.
const maxTauMicros = int64(1) << 50

// Limit is a GCRA (generic cell rate algorithm) limit: one event is earned every
// Interval and at most Burst events may happen back to back when the bucket is full.
// Over any window of length W a key is allowed at most Burst + floor(W/Interval)
// events. Build one with PerSecond, PerMinute, Per or Every; the zero Limit is
// invalid.
//
// Interval is rounded up to a whole microsecond when it is used, so a limit never
// allows more than it states.
type Limit struct {
	Interval time.Duration
	Burst    int
}

// Every allows one event every d, with a burst of 1: Every(2*time.Second) is
// "one request per user per 2 s".
func Every(d time.Duration) Limit { return Limit{Interval: d, Burst: 1} }

// Per allows n events per period d, with a burst of n.
func Per(n int, d time.Duration) Limit {
	if n <= 0 || d <= 0 {
		return Limit{}
	}
	iv := d / time.Duration(n)
	if iv*time.Duration(n) < d { // round up: never faster than stated
		iv++
	}
	return Limit{Interval: iv, Burst: n}
}

// PerSecond allows n events per second, with a burst of n.
func PerSecond(n int) Limit { return Per(n, time.Second) }

// PerMinute allows n events per minute, with a burst of n.
func PerMinute(n int) Limit { return Per(n, time.Minute) }

// WithBurst returns l with its burst set to b.
func (l Limit) WithBurst(b int) Limit { l.Burst = b; return l }

// Validate reports ErrInvalidLimit for a limit that cannot be enforced.
func (l Limit) Validate() error {
	if l.Interval <= 0 || l.Burst <= 0 {
		return fmt.Errorf("%w: interval %v, burst %d", ErrInvalidLimit, l.Interval, l.Burst)
	}
	iv := l.micros()
	if iv > maxTauMicros/int64(l.Burst) {
		return fmt.Errorf("%w: interval %v × burst %d too large", ErrInvalidLimit, l.Interval, l.Burst)
	}
	return nil
}

// micros is the emission interval in whole microseconds, rounded up.
func (l Limit) micros() int64 {
	return int64((l.Interval + time.Microsecond - 1) / time.Microsecond)
}

// String renders the limit, e.g. "1 per 2s (burst 1)".
func (l Limit) String() string {
	return fmt.Sprintf("1 per %v (burst %d)", l.Interval, l.Burst)
}

// scaled is l divided among instances, for the local fallback: the interval is
// multiplied and the burst divided (rounded down, at least 1), so that n instances
// together stay within l (up to the rounding of a burst below n).
func (l Limit) scaled(instances int) Limit {
	if instances <= 1 {
		return l
	}
	b := l.Burst / instances
	if b < 1 {
		b = 1
	}
	// Clamp to the largest exact limit instead of overflowing: slower is safe.
	longest := time.Duration(maxTauMicros/int64(b)) * time.Microsecond
	if l.Interval > longest/time.Duration(instances) {
		return Limit{Interval: longest, Burst: b}
	}
	return Limit{Interval: l.Interval * time.Duration(instances), Burst: b}
}

// Result is one decision.
type Result struct {
	// Allowed reports whether the request may proceed.
	Allowed bool
	// Remaining is how many more events the key could take right now.
	Remaining int
	// RetryAfter is how long to wait before the same request could be allowed
	// (zero when Allowed).
	RetryAfter time.Duration
	// ResetAfter is how long until the key's bucket is full again.
	ResetAfter time.Duration
	// Limit is the limit that was applied (the key's override or the default,
	// scaled down when Fallback).
	Limit Limit
	// Fallback reports that the decision was taken by the local fallback limiter
	// because Redis was unreachable.
	Fallback bool
}

func validKey(key string) error {
	if key == "" || len(key) > MaxKeyLen {
		return fmt.Errorf("%w: length %d", ErrInvalidKey, len(key))
	}
	return nil
}

func validN(n int, l Limit) error {
	if n < 1 {
		return fmt.Errorf("%w: %d", ErrInvalidN, n)
	}
	if n > l.Burst {
		return fmt.Errorf("%w: n %d, burst %d", ErrExceedsBurst, n, l.Burst)
	}
	return nil
}
