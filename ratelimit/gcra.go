package ratelimit

import "time"

// decision is the outcome of one GCRA step. All times are microseconds.
type decision struct {
	allowed   bool
	store     bool  // the caller must store newTAT
	newTAT    int64 // theoretical arrival time after the step
	remaining int64
	retry     int64
	reset     int64
}

// gcra is the algorithm both limiters run (gcra.lua is its line-by-line twin).
// tat is the stored theoretical arrival time (ok=false when the key has none),
// now the current time, n the events requested and dry a look that stores nothing.
//
// The state is one number: TAT, the time at which the bucket would be full again.
// A request of n is allowed when TAT + n·interval − burst·interval ≤ now. A key
// whose TAT ≤ now is indistinguishable from an absent key, which is what makes
// eviction (local) and expiry (Redis) lossless.
func gcra(tat int64, ok bool, now int64, l Limit, n int64, dry bool) decision {
	iv := l.micros()
	tau := iv * int64(l.Burst)
	if !ok || tat < now {
		tat = now
	}
	newTAT := tat + iv*n
	allowAt := newTAT - tau
	if now < allowAt {
		return decision{
			newTAT:    tat,
			remaining: clamp((now + tau - tat) / iv),
			retry:     allowAt - now,
			reset:     tat - now,
		}
	}
	if dry {
		return decision{allowed: true, newTAT: tat, remaining: clamp((now + tau - tat) / iv), reset: tat - now}
	}
	return decision{allowed: true, store: true, newTAT: newTAT,
		remaining: clamp((now + tau - newTAT) / iv), reset: newTAT - now}
}

func clamp(v int64) int64 {
	if v < 0 {
		return 0
	}
	return v
}

func (d decision) result(l Limit) Result {
	return Result{
		Allowed:    d.allowed,
		Remaining:  int(d.remaining),
		RetryAfter: time.Duration(d.retry) * time.Microsecond,
		ResetAfter: time.Duration(d.reset) * time.Microsecond,
		Limit:      l,
	}
}
