package ratelimit

import (
	"context"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"
)

const localShards = 64

// Local is an in-process per-key GCRA limiter. Its whole state per key is one
// int64 (the theoretical arrival time) in one of 64 mutex-sharded maps keyed by a
// 64-bit hash of the key, so memory is a few tens of bytes per key (see the
// README for the measured figure) and the key strings are not retained.
//
// Two keys whose 64-bit hashes collide share one bucket, which can only make the
// limiter stricter, never looser; at a million live keys the chance of any
// collision is about 3·10⁻⁸.
//
// A Local is safe for concurrent use. It runs no goroutine.
type Local struct {
	limits  *limits
	clock   func() time.Time
	epoch   time.Time
	seed    maphash.Seed
	maxKeys int64
	size    atomic.Int64 // keys held, across shards; never above maxKeys
	maxWait time.Duration
	shards  [localShards]shard

	allowed, limited, evictions, overflows atomic.Uint64
}

type shard struct {
	mu      sync.Mutex
	m       map[uint64]int64
	sweepAt int   // sweep when len(m) reaches this
	minTAT  int64 // lower bound of every held TAT: nothing is evictable before it
	_       [24]byte
}

// NewLocal returns an in-process limiter with the default limit l. It honours
// WithMaxKeys, WithClock, WithOverrides and WithMaxWait.
func NewLocal(l Limit, opts ...Option) (*Local, error) {
	if err := l.Validate(); err != nil {
		return nil, err
	}
	c := defaults()
	if err := c.apply(opts); err != nil {
		return nil, err
	}
	return newLocal(l, &c), nil
}

func newLocal(l Limit, c *config) *Local {
	lo := &Local{
		limits:  newLimits(l, c.overrides),
		clock:   c.clock,
		epoch:   c.clock(),
		seed:    maphash.MakeSeed(),
		maxKeys: int64(c.maxKeys),
		maxWait: c.maxWait,
	}
	for i := range lo.shards {
		lo.shards[i].m = make(map[uint64]int64)
		lo.shards[i].minTAT = 1<<63 - 1
		lo.shards[i].sweepAt = 256
	}
	return lo
}

// now is microseconds since the limiter was created, on the monotonic clock when
// the clock is time.Now.
func (lo *Local) now() int64 { return int64(lo.clock().Sub(lo.epoch) / time.Microsecond) }

// Allow is AllowN(ctx, key, 1).
func (lo *Local) Allow(ctx context.Context, key string) (Result, error) {
	return lo.AllowN(ctx, key, 1)
}

// AllowN takes n events for key if the key's limit allows them now. A denied
// request takes nothing. ctx is unused (the decision does no I/O) and is there so
// that Local and Limiter share one interface.
func (lo *Local) AllowN(_ context.Context, key string, n int) (Result, error) {
	l := lo.limits.get(key)
	if err := validKey(key); err != nil {
		return Result{}, err
	}
	if err := validN(n, l); err != nil {
		return Result{}, err
	}
	r := lo.decide(key, l, n, false)
	lo.count(r)
	return r, nil
}

// Peek reports whether one event would be allowed for key now, and how many
// remain, without taking any.
func (lo *Local) Peek(_ context.Context, key string) (Result, error) {
	if err := validKey(key); err != nil {
		return Result{}, err
	}
	return lo.decide(key, lo.limits.get(key), 1, true), nil
}

// Reset forgets key: its bucket is full again.
func (lo *Local) Reset(_ context.Context, key string) error {
	if err := validKey(key); err != nil {
		return err
	}
	h := maphash.String(lo.seed, key)
	s := &lo.shards[h>>(64-6)]
	s.mu.Lock()
	if _, ok := s.m[h]; ok {
		delete(s.m, h)
		lo.size.Add(-1)
	}
	s.mu.Unlock()
	return nil
}

// Wait is WaitN(ctx, key, 1).
func (lo *Local) Wait(ctx context.Context, key string) error { return lo.WaitN(ctx, key, 1) }

// WaitN blocks until n events for key are allowed and takes them. It returns
// ErrLimited at once when the wait would outlast ctx's deadline or the maximum
// wait (WithMaxWait), and ctx.Err() when ctx ends first.
func (lo *Local) WaitN(ctx context.Context, key string, n int) error {
	return waitN(ctx, lo, key, n, lo.maxWait)
}

// SetOverride sets a per-key limit that replaces the default for key.
func (lo *Local) SetOverride(key string, l Limit) error { return lo.limits.set(key, l) }

// DeleteOverride removes key's override; the default applies again.
func (lo *Local) DeleteOverride(key string) { lo.limits.del(key) }

// Len is the number of keys currently held.
func (lo *Local) Len() int { return int(lo.size.Load()) }

// Stats returns a snapshot of the limiter's counters.
func (lo *Local) Stats() Stats {
	return Stats{
		Allowed:   lo.allowed.Load(),
		Limited:   lo.limited.Load(),
		Evictions: lo.evictions.Load(),
		Overflows: lo.overflows.Load(),
		Keys:      lo.Len(),
	}
}

func (lo *Local) count(r Result) {
	if r.Allowed {
		lo.allowed.Add(1)
	} else {
		lo.limited.Add(1)
	}
}

// decide runs one GCRA step for key under limit l (already validated).
func (lo *Local) decide(key string, l Limit, n int, dry bool) Result {
	h := maphash.String(lo.seed, key)
	s := &lo.shards[h>>(64-6)]
	now := lo.now()
	s.mu.Lock()
	tat, ok := s.m[h]
	d := gcra(tat, ok, now, l, int64(n), dry)
	if d.store {
		if !ok && !lo.admit(s, now) {
			// A hint: when this shard's next key refills, or one interval.
			retry := l.micros()
			if s.minTAT > now && s.minTAT-now < retry {
				retry = s.minTAT - now
			}
			s.mu.Unlock()
			lo.overflows.Add(1)
			return Result{RetryAfter: time.Duration(retry) * time.Microsecond,
				ResetAfter: time.Duration(retry) * time.Microsecond, Limit: l}
		}
		if !ok && d.newTAT < s.minTAT {
			s.minTAT = d.newTAT // keep minTAT a lower bound of every held TAT
		}
		s.m[h] = d.newTAT
	}
	s.mu.Unlock()
	return d.result(l)
}

// admit is called with s locked before a new key is inserted into s. It sweeps
// the shard when it has grown to its threshold, so cleanup costs O(1) amortised,
// and reserves one of the maxKeys slots. At the cap it sweeps this shard and then
// any other shard that may hold an evictable key (TryLock: never waits for, nor
// deadlocks with, another shard). It reports false when no slot could be freed.
func (lo *Local) admit(s *shard, now int64) bool {
	if len(s.m) >= s.sweepAt {
		lo.sweep(s, now)
	}
	if lo.reserve() {
		return true
	}
	if now >= s.minTAT {
		lo.sweep(s, now)
		if lo.reserve() {
			return true
		}
	}
	for i := range lo.shards {
		o := &lo.shards[i]
		if o == s || !o.mu.TryLock() {
			continue
		}
		if now >= o.minTAT {
			lo.sweep(o, now)
		}
		o.mu.Unlock()
		if lo.reserve() {
			return true
		}
	}
	return false
}

// reserve takes one key slot if the cap allows it.
func (lo *Local) reserve() bool {
	for {
		n := lo.size.Load()
		if n >= lo.maxKeys {
			return false
		}
		if lo.size.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// sweep, with s locked, deletes every key whose bucket is full again (TAT ≤ now:
// lossless, such a key is indistinguishable from an absent one) and recomputes
// the shard's lower bound of TATs and its next sweep threshold.
func (lo *Local) sweep(s *shard, now int64) {
	minTAT := int64(1<<63 - 1)
	var ev int64
	for h, tat := range s.m {
		if tat <= now {
			delete(s.m, h)
			ev++
		} else if tat < minTAT {
			minTAT = tat
		}
	}
	lo.size.Add(-ev)
	lo.evictions.Add(uint64(ev))
	s.minTAT = minTAT
	s.sweepAt = max(2*len(s.m), 256)
}
