package ratelimit

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

//go:embed gcra.lua
var gcraLua string

//go:embed gcra_batch.lua
var gcraBatchLua string

// Limiter is a distributed per-key GCRA limiter: every decision is one atomic Lua
// script on one Redis key, timed by the Redis server's clock, so any number of
// processes share each key's limit exactly. Concurrent decisions are combined
// into pipelines (WithPipelining). With WithFallback it keeps deciding locally
// while Redis is unreachable and returns to Redis on its own.
//
// A Limiter is safe for concurrent use. It runs no goroutine; Close only marks
// it closed.
type Limiter struct {
	rdb     redis.UniversalClient
	script  *redis.Script
	multi   *redis.Script // gcra_batch.lua when WithBatchScript applies, else nil
	cluster bool          // group multi-key batches by hash slot
	prefix  string
	limits  *limits
	comb    *combiner
	maxWait time.Duration
	fb      *fallback
	closed  atomic.Bool

	allowed, limited, errs, pipes, piped atomic.Uint64
}

// New returns a Redis-backed limiter with the default limit l for every key.
func New(rdb redis.UniversalClient, l Limit, opts ...Option) (*Limiter, error) {
	if rdb == nil {
		return nil, fmt.Errorf("%w: nil redis client", ErrInvalidOption)
	}
	if err := l.Validate(); err != nil {
		return nil, err
	}
	c := defaults()
	if err := c.apply(opts); err != nil {
		return nil, err
	}
	lim := &Limiter{
		rdb:     rdb,
		script:  redis.NewScript(gcraLua),
		prefix:  c.prefix,
		limits:  newLimits(l, c.overrides),
		maxWait: c.maxWait,
	}
	if c.lanes > 0 {
		lim.comb = &combiner{lanes: c.lanes, flush: lim.flush}
		if c.batchScript {
			switch rdb.(type) {
			case *redis.ClusterClient:
				lim.multi, lim.cluster = redis.NewScript(gcraBatchLua), true
			case *redis.Client:
				lim.multi = redis.NewScript(gcraBatchLua)
			}
		}
	}
	if c.fallback {
		lim.fb = newFallback(l, &c)
	}
	return lim, nil
}

// Key is the Redis key that holds key's state: <prefix>ratelimit:<key>.
func (l *Limiter) Key(key string) string { return l.prefix + "ratelimit:" + key }

// Allow is AllowN(ctx, key, 1).
func (l *Limiter) Allow(ctx context.Context, key string) (Result, error) {
	return l.AllowN(ctx, key, 1)
}

// AllowN takes n events for key if its limit allows them now. A refused request
// takes nothing. Invalid input is refused before any I/O.
func (l *Limiter) AllowN(ctx context.Context, key string, n int) (Result, error) {
	lim := l.limits.get(key)
	if err := validKey(key); err != nil {
		return Result{}, err
	}
	if err := validN(n, lim); err != nil {
		return Result{}, err
	}
	r, err := l.decide(ctx, key, lim, n, false)
	if err != nil {
		return r, err
	}
	if r.Allowed {
		l.allowed.Add(1)
	} else {
		l.limited.Add(1)
	}
	return r, nil
}

// Peek reports whether one event would be allowed for key now and how many
// remain, taking nothing.
func (l *Limiter) Peek(ctx context.Context, key string) (Result, error) {
	if err := validKey(key); err != nil {
		return Result{}, err
	}
	return l.decide(ctx, key, l.limits.get(key), 1, true)
}

// Reset forgets key's state in Redis (and in the local fallback): its bucket is
// full again.
func (l *Limiter) Reset(ctx context.Context, key string) error {
	if err := validKey(key); err != nil {
		return err
	}
	if l.closed.Load() {
		return ErrClosed
	}
	if l.fb != nil {
		_ = l.fb.local.Reset(ctx, key)
	}
	if err := l.rdb.Del(ctx, l.Key(key)).Err(); err != nil {
		l.errs.Add(1)
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return nil
}

// Wait is WaitN(ctx, key, 1).
func (l *Limiter) Wait(ctx context.Context, key string) error { return l.WaitN(ctx, key, 1) }

// WaitN blocks until n events for key are allowed and takes them, sleeping the
// RetryAfter that Redis reports between tries. It returns ErrLimited at once when
// the wait would outlast ctx's deadline or the maximum wait (WithMaxWait).
func (l *Limiter) WaitN(ctx context.Context, key string, n int) error {
	return waitN(ctx, l, key, n, l.maxWait)
}

// SetOverride sets a per-key limit (hot SKU, VIP) that replaces the default for
// key. The key's stored state stays valid: GCRA state does not depend on the limit.
func (l *Limiter) SetOverride(key string, lim Limit) error {
	if err := l.limits.set(key, lim); err != nil {
		return err
	}
	if l.fb != nil {
		return l.fb.local.SetOverride(key, lim.scaled(l.fb.instances))
	}
	return nil
}

// DeleteOverride removes key's override; the default limit applies again.
func (l *Limiter) DeleteOverride(key string) {
	l.limits.del(key)
	if l.fb != nil {
		l.fb.local.DeleteOverride(key)
	}
}

// Close marks the limiter closed; later calls return ErrClosed. It does not close
// the Redis client, which the caller owns.
func (l *Limiter) Close() error {
	l.closed.Store(true)
	return nil
}

// Stats returns a snapshot of the limiter's counters.
func (l *Limiter) Stats() Stats {
	s := Stats{
		Allowed:        l.allowed.Load(),
		Limited:        l.limited.Load(),
		Errors:         l.errs.Load(),
		Pipelines:      l.pipes.Load(),
		PipelinedCalls: l.piped.Load(),
	}
	if l.fb != nil {
		l.fb.stats(&s)
	}
	return s
}

func (l *Limiter) decide(ctx context.Context, key string, lim Limit, n int, dry bool) (Result, error) {
	if l.closed.Load() {
		return Result{}, ErrClosed
	}
	if l.fb != nil && !l.fb.useRedis() {
		return l.fb.decide(key, n, dry), nil
	}
	d := "0"
	if dry {
		d = "1"
	}
	cl := &call{key: l.Key(key), args: []any{lim.micros(), lim.Burst, n, d}}
	if l.comb != nil {
		l.comb.do(ctx, cl)
	} else {
		cl.res, cl.err = l.script.Run(ctx, l.rdb, []string{cl.key}, cl.args...).Int64Slice()
	}
	if cl.err == nil && len(cl.res) != 4 {
		cl.err = fmt.Errorf("ratelimit: unexpected script reply %v", cl.res)
	}
	if cl.err != nil {
		if l.fb != nil && ctx.Err() == nil && unreachable(cl.err) {
			l.fb.down(cl.err)
			return l.fb.decide(key, n, dry), nil
		}
		l.errs.Add(1)
		switch {
		case ctx.Err() != nil:
			return Result{}, cl.err
		case unreachable(cl.err):
			return Result{}, fmt.Errorf("%w: %w", ErrUnavailable, cl.err)
		}
		return Result{}, fmt.Errorf("ratelimit: %w", cl.err) // e.g. WRONGTYPE on a foreign key
	}
	if l.fb != nil {
		l.fb.up()
	}
	return Result{
		Allowed:    cl.res[0] == 1,
		Remaining:  int(cl.res[1]),
		RetryAfter: time.Duration(cl.res[2]) * time.Microsecond,
		ResetAfter: time.Duration(cl.res[3]) * time.Microsecond,
		Limit:      lim,
	}, nil
}

// flush sends a batch of decisions as one pipeline of EVALSHA. A call that meets
// NOSCRIPT (first use, a restarted or failed-over server) is retried alone with
// Script.Run, which loads the script.
func (l *Limiter) flush(ctx context.Context, batch []*call) {
	l.pipes.Add(1)
	l.piped.Add(uint64(len(batch)))
	if len(batch) == 1 {
		c := batch[0]
		c.res, c.err = l.script.Run(ctx, l.rdb, []string{c.key}, c.args...).Int64Slice()
		return
	}
	if l.multi != nil {
		l.flushMulti(ctx, batch)
		return
	}
	pipe := l.rdb.Pipeline()
	cmds := make([]*redis.Cmd, len(batch))
	for i, c := range batch {
		cmds[i] = l.script.EvalSha(ctx, pipe, []string{c.key}, c.args...)
	}
	_, _ = pipe.Exec(ctx)
	for i, c := range batch {
		c.res, c.err = cmds[i].Int64Slice()
		if c.err != nil && redis.HasErrorPrefix(c.err, "NOSCRIPT") {
			c.res, c.err = l.script.Run(ctx, l.rdb, []string{c.key}, c.args...).Int64Slice()
		}
	}
}

// flushMulti sends a batch as one gcra_batch.lua call per hash slot (one call in
// all for a non-cluster client), all in one pipeline.
func (l *Limiter) flushMulti(ctx context.Context, batch []*call) {
	groups := [][]*call{batch}
	if l.cluster {
		bySlot := map[uint16]int{}
		groups = groups[:0]
		for _, c := range batch {
			s := slot(c.key)
			i, ok := bySlot[s]
			if !ok {
				i = len(groups)
				bySlot[s] = i
				groups = append(groups, nil)
			}
			groups[i] = append(groups[i], c)
		}
	}
	pipe := l.rdb.Pipeline()
	cmds := make([]*redis.Cmd, len(groups))
	keys := make([][]string, len(groups))
	args := make([][]any, len(groups))
	for i, g := range groups {
		keys[i] = make([]string, len(g))
		args[i] = make([]any, 0, 4*len(g))
		for j, c := range g {
			keys[i][j] = c.key
			args[i] = append(args[i], c.args...)
		}
		cmds[i] = l.multi.EvalSha(ctx, pipe, keys[i], args[i]...)
	}
	_, _ = pipe.Exec(ctx)
	for i, g := range groups {
		res, err := cmds[i].Int64Slice()
		if err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
			res, err = l.multi.Run(ctx, l.rdb, keys[i], args[i]...).Int64Slice()
		}
		if err == nil && len(res) != 4*len(g) {
			err = fmt.Errorf("ratelimit: batch reply of %d values for %d keys", len(res), len(g))
		}
		for j, c := range g {
			if err != nil {
				c.err = err
			} else {
				c.res = res[4*j : 4*j+4 : 4*j+4]
			}
		}
	}
}

// unreachable tells connection trouble (fall back) from a reply error of our
// own script (a bug or bad input: report it).
func unreachable(err error) bool {
	var re redis.Error
	if errors.As(err, &re) {
		msg := re.Error()
		for _, p := range []string{"LOADING", "CLUSTERDOWN", "TRYAGAIN", "MASTERDOWN", "READONLY", "BUSY"} {
			if strings.HasPrefix(msg, p) {
				return true
			}
		}
		return false
	}
	return true
}

// State is where a Limiter takes its decisions.
type State int

const (
	// StateRedis: decisions are taken by Redis.
	StateRedis State = iota
	// StateFallback: Redis is unreachable; decisions are taken locally.
	StateFallback
)

func (s State) String() string {
	if s == StateFallback {
		return "fallback"
	}
	return "redis"
}

// StateChange is passed to the WithOnStateChange callback.
type StateChange struct {
	From, To State
	Err      error // the error that caused the switch to fallback (nil on return)
	At       time.Time
}

// fallback holds the local limiter used while Redis is down and the state
// machine: on an unreachable error the limiter switches to local decisions; once
// every probe interval one request tries Redis again and a success switches back.
type fallback struct {
	local     *Local
	instances int
	probe     time.Duration
	onState   func(StateChange)

	mu        sync.Mutex // orders transitions and their callbacks
	degraded  atomic.Bool
	since     time.Time     // start of the current fallback period (mu)
	total     time.Duration // fallback time of finished periods (mu)
	nextProbe atomic.Int64  // unix nanos
	switches  atomic.Uint64
	decisions atomic.Uint64
}

func newFallback(def Limit, c *config) *fallback {
	lc := *c
	lc.overrides = nil
	for k, v := range c.overrides {
		if lc.overrides == nil {
			lc.overrides = map[string]Limit{}
		}
		lc.overrides[k] = v.scaled(c.instances)
	}
	lc.clock = time.Now
	return &fallback{
		local:     newLocal(def.scaled(c.instances), &lc),
		instances: c.instances,
		probe:     c.probe,
		onState:   c.onState,
	}
}

// useRedis reports whether this decision goes to Redis: always when healthy, and
// for one caller per probe interval when degraded.
func (f *fallback) useRedis() bool {
	if !f.degraded.Load() {
		return true
	}
	now := time.Now().UnixNano()
	np := f.nextProbe.Load()
	return now >= np && f.nextProbe.CompareAndSwap(np, now+int64(f.probe))
}

func (f *fallback) decide(key string, n int, dry bool) Result {
	lim := f.local.limits.get(key)
	if n > lim.Burst { // the scaled burst is smaller: clip, never over-allow
		return Result{RetryAfter: lim.Interval * time.Duration(n), Limit: lim, Fallback: true}
	}
	r := f.local.decide(key, lim, n, dry)
	if !dry {
		f.decisions.Add(1)
	}
	r.Fallback = true
	return r
}

func (f *fallback) down(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Now()
	f.nextProbe.Store(now.Add(f.probe).UnixNano())
	if f.degraded.Load() {
		return
	}
	f.since = now
	f.degraded.Store(true)
	f.switches.Add(1)
	if f.onState != nil {
		f.onState(StateChange{From: StateRedis, To: StateFallback, Err: err, At: now})
	}
}

func (f *fallback) up() {
	if !f.degraded.Load() {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.degraded.Load() {
		return
	}
	now := time.Now()
	f.total += now.Sub(f.since)
	f.degraded.Store(false)
	if f.onState != nil {
		f.onState(StateChange{From: StateFallback, To: StateRedis, At: now})
	}
}

func (f *fallback) stats(s *Stats) {
	f.mu.Lock()
	s.FallbackTime = f.total
	if f.degraded.Load() {
		s.Fallback = true
		s.FallbackTime += time.Since(f.since)
	}
	f.mu.Unlock()
	s.FallbackSwitches = f.switches.Load()
	s.FallbackDecisions = f.decisions.Load()
	ls := f.local.Stats()
	s.Evictions, s.Overflows, s.Keys = ls.Evictions, ls.Overflows, ls.Keys
}
