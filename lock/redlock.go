package lock

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-redsync/redsync/v4"
	rsredis "github.com/go-redsync/redsync/v4/redis"
	"github.com/redis/go-redis/v9"
)

// redlock holds a lease on a majority of independent masters through redsync.
// redsync's types never leave this file. Every operation builds a fresh
// redsync.Mutex (its Mutex is not safe for concurrent use) over fresh pools
// that record what each master answered, which redsync does not expose.
type redlock struct {
	nodes  []redis.UniversalClient
	s      *scripts
	quorum int
	drift  float64
	fence  bool
}

func (b *redlock) redlock() bool { return true }

func (b *redlock) canWait() error {
	return argErr("replicas", "WAIT is not supported by Redlock (its masters have no replicas by design)")
}

// outcome of one master in one operation.
type outcome struct {
	ok    bool  // granted / extended / deleted
	no    bool  // answered: not ours (taken, or not held)
	fence int64 // acquire only
	err   error
}

// recorder keeps the SET NX answers (acq) apart from the script answers (ev):
// after a failed acquisition redsync runs its release script, which must not
// overwrite what the masters said to the acquisition.
type recorder struct {
	mu  sync.Mutex
	acq []outcome
	ev  []outcome
}

func newRecorder(n int) *recorder {
	return &recorder{acq: make([]outcome, n), ev: make([]outcome, n)}
}

func (r *recorder) set(eval bool, i int, o outcome) {
	r.mu.Lock()
	if eval {
		r.ev[i] = o
	} else {
		r.acq[i] = o
	}
	r.mu.Unlock()
}

func (r *recorder) counts(eval bool) (ok, no int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.acq
	if eval {
		out = r.ev
	}
	for _, o := range out {
		if o.ok {
			ok++
		} else if o.no {
			no++
		}
	}
	return
}

// budget is the per-master I/O time of an acquire or refresh: redsync's 5%
// of the TTL, but at least 100ms (or a third of the TTL) so that short leases
// survive a loaded machine.
func budget(ttl time.Duration) time.Duration {
	return max(ttl/20, min(100*time.Millisecond, ttl/3))
}

// opBudget bounds a release or TTL query per master.
const opBudget = 500 * time.Millisecond

func (b *redlock) mutex(name string, ttl time.Duration, rec *recorder, fenced bool, opts ...redsync.Option) *redsync.Mutex {
	pools := make([]rsredis.Pool, len(b.nodes))
	for i, n := range b.nodes {
		pools[i] = &rpool{c: n, i: i, rec: rec, s: b.s, fenced: fenced}
	}
	o := []redsync.Option{
		redsync.WithExpiry(ttl),
		redsync.WithTries(1), // retries are ours: context-aware, strategy-driven
		redsync.WithDriftFactor(b.drift),
		redsync.WithTimeoutFactor(float64(budget(ttl)) / float64(ttl)),
	}
	return redsync.New(pools...).NewMutex(name, append(o, opts...)...)
}

func (b *redlock) acquire(ctx context.Context, k keys, token string, ttl time.Duration, _ *acquireConfig) (grant, error) {
	rec := newRecorder(len(b.nodes))
	m := b.mutex(k.lock, ttl, rec, b.fence, redsync.WithGenValueFunc(func() (string, error) { return token, nil }))
	if err := m.LockContext(ctx); err != nil {
		ok, no := rec.counts(false)
		if ok+no >= b.quorum {
			return grant{}, errContended // a majority answered; enough said no
		}
		return grant{}, fmt.Errorf("%w: %d granted, %d refused: %w", ErrNoQuorum, ok, no, err)
	}
	until := m.Until().Add(-2 * time.Millisecond)
	g := grant{until: until}
	if !b.fence {
		return g, nil
	}
	if err := b.writeBack(ctx, k, token, rec, until, &g); err != nil {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ttl)
		_ = b.release(rctx, k, token)
		cancel()
		return grant{}, err
	}
	return g, nil
}

// writeBack raises the counter of every granting master to the grant's token
// (the maximum they issued), while each still holds the lock. See doc.go for
// why this makes tokens monotonic across grants on intersecting majorities.
func (b *redlock) writeBack(ctx context.Context, k keys, token string, rec *recorder, until time.Time, g *grant) error {
	rec.mu.Lock()
	var granted []int
	for i, o := range rec.acq {
		if o.ok {
			granted = append(granted, i)
			g.fence = max(g.fence, o.fence)
		}
	}
	rec.mu.Unlock()
	wctx, cancel := context.WithDeadline(ctx, until)
	defer cancel()
	var wg sync.WaitGroup
	res := make([]error, len(granted))
	for j, i := range granted {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := b.s.redlockFence.Run(wctx, b.nodes[i], []string{k.lock, k.fence}, token, g.fence).Int64()
			if err == nil && n != 1 {
				err = errors.New("lock gone on this master")
			}
			res[j] = err
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range res {
		if err == nil {
			ok++
		}
	}
	if ok < b.quorum || !time.Now().Before(until) {
		return fmt.Errorf("%w: fencing token confirmed on %d masters, need %d: %w",
			ErrNoQuorum, ok, b.quorum, errors.Join(res...))
	}
	return nil
}

func (b *redlock) release(ctx context.Context, k keys, token string) error {
	rec := newRecorder(len(b.nodes))
	// Bound every master by a budget: redsync waits for all of them, and
	// go-redis retries a refused dial several times, so a dead master
	// would otherwise stall the release for the whole release timeout.
	ctx, cancel := context.WithTimeout(ctx, opBudget)
	defer cancel()
	m := b.mutex(k.lock, time.Second, rec, false, redsync.WithValue(token))
	if ok, err := m.UnlockContext(ctx); !ok {
		if _, no := rec.counts(true); no > len(b.nodes)-b.quorum {
			return ErrNotHeld // a majority does not have it: nobody can think it's ours
		}
		return fmt.Errorf("%w: %w", ErrNoQuorum, err)
	}
	return nil
}

func (b *redlock) refresh(ctx context.Context, k keys, token string, ttl time.Duration) (time.Time, error) {
	rec := newRecorder(len(b.nodes))
	ctx, cancel := context.WithTimeout(ctx, budget(ttl))
	defer cancel()
	m := b.mutex(k.lock, ttl, rec, false, redsync.WithValue(token))
	ok, err := m.ExtendContext(ctx)
	if !ok {
		if _, no := rec.counts(true); no > len(b.nodes)-b.quorum {
			return time.Time{}, ErrNotHeld
		}
		if err == nil {
			err = errors.New("extension outlived the lease")
		}
		return time.Time{}, fmt.Errorf("%w: %w", ErrNoQuorum, err)
	}
	return m.Until().Add(-2 * time.Millisecond), nil
}

func (b *redlock) pttl(ctx context.Context, k keys, token string) (time.Duration, error) {
	type r struct {
		ms  int64
		err error
	}
	ctx, cancel := context.WithTimeout(ctx, opBudget)
	defer cancel()
	res := make([]r, len(b.nodes))
	var wg sync.WaitGroup
	for i, n := range b.nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := b.s.pttl.Run(ctx, n, []string{k.lock}, token).Int64()
			res[i] = r{v, err}
		}()
	}
	wg.Wait()
	var held []int64
	var errs []error
	for _, x := range res {
		switch {
		case x.err != nil:
			errs = append(errs, x.err)
		case x.ms >= 0:
			held = append(held, x.ms)
		}
	}
	if len(held) < b.quorum {
		if len(held)+len(errs) >= b.quorum {
			return 0, fmt.Errorf("%w: %w", ErrNoQuorum, errors.Join(errs...))
		}
		return 0, ErrNotHeld
	}
	// The lease a majority still has: the quorum-th longest.
	slices.Sort(held)
	slices.Reverse(held)
	return time.Duration(held[b.quorum-1]) * time.Millisecond, nil
}

// rpool / rconn adapt go-redis to redsync's driver interface and record each
// master's answer. SetNX runs the fencing acquire script.
type rpool struct {
	c      redis.UniversalClient
	i      int
	rec    *recorder
	s      *scripts
	fenced bool
}

func (p *rpool) Get(ctx context.Context) (rsredis.Conn, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	return &rconn{p: p, ctx: ctx}, nil
}

type rconn struct {
	p   *rpool
	ctx context.Context
}

func (c *rconn) Get(name string) (string, error) {
	v, err := c.p.c.Get(c.ctx, name).Result()
	if err == redis.Nil {
		return "", nil
	}
	return v, err
}

func (c *rconn) Set(name, value string) (bool, error) {
	v, err := c.p.c.Set(c.ctx, name, value, 0).Result()
	return v == "OK", err
}

func (c *rconn) SetNX(name, value string, expiry time.Duration) (bool, error) {
	var o outcome
	if c.p.fenced {
		n, err := c.p.s.redlockAcquire.Run(c.ctx, c.p.c, []string{name, name + ":fence"}, value, expiry.Milliseconds()).Int64()
		o = outcome{ok: err == nil && n > 0, no: err == nil && n == 0, fence: n, err: err}
	} else {
		ok, err := c.p.c.SetNX(c.ctx, name, value, expiry).Result()
		o = outcome{ok: err == nil && ok, no: err == nil && !ok, err: err}
	}
	c.p.rec.set(false, c.p.i, o)
	return o.ok, o.err
}

// Eval runs redsync's release and extend scripts: 1 is success; 0 and -1
// mean the lock is not (or no longer) this owner's on this master.
func (c *rconn) Eval(script *rsredis.Script, keysAndArgs ...any) (any, error) {
	keys := make([]string, script.KeyCount)
	for i := range keys {
		keys[i], _ = keysAndArgs[i].(string)
	}
	args := keysAndArgs[script.KeyCount:]
	v, err := c.p.c.EvalSha(c.ctx, script.Hash, keys, args...).Result()
	if err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT") {
		v, err = c.p.c.Eval(c.ctx, script.Src, keys, args...).Result()
	}
	if err == redis.Nil {
		err = nil
	}
	n, _ := v.(int64)
	c.p.rec.set(true, c.p.i, outcome{ok: err == nil && n > 0, no: err == nil && n <= 0, err: err})
	return v, err
}

func (c *rconn) ScriptLoad(script *rsredis.Script) error {
	h, err := c.p.c.ScriptLoad(c.ctx, script.Src).Result()
	if err == nil {
		script.Hash = h
	}
	return err
}

func (c *rconn) PTTL(name string) (time.Duration, error) {
	return c.p.c.PTTL(c.ctx, name).Result()
}

func (c *rconn) Close() error { return nil }
