package lock

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Lock is one held lease. Its methods are safe for concurrent use.
type Lock struct {
	c        *Client
	name     string
	k        keys
	token    string
	fence    int64
	ttl      time.Duration
	acquired time.Time
	hold     time.Time // zero: no maximum hold time
	replicas int

	ctx    context.Context // the cancel-cause context
	lctx   *lockContext    // what Context hands out
	cancel context.CancelCauseFunc

	opMu sync.Mutex // serialises refresh and release I/O

	mu       sync.Mutex
	until    time.Time
	timer    *time.Timer
	done     bool // context cancelled: the lock is no longer ours to use
	released bool // Release ran (successfully or not)

	stopWatch context.CancelFunc // nil without watchdog
	watchDone chan struct{}
}

func (c *Client) newLock(ctx context.Context, name string, k keys, token string, ttl time.Duration, start time.Time, g grant, ac *acquireConfig) *Lock {
	l := &Lock{c: c, name: name, k: k, token: token, fence: g.fence, ttl: ttl,
		acquired: start, replicas: g.replicas, until: g.until}
	if ac.maxHold > 0 {
		l.hold = start.Add(ac.maxHold)
	}
	// The lock context keeps the caller's values but not its cancellation:
	// it ends with the lock, not with the request that took it.
	l.ctx, l.cancel = context.WithCancelCause(context.WithoutCancel(ctx))
	l.lctx = &lockContext{Context: l.ctx, l: l}
	// The validity timer exists before the lock is visible to Close.
	l.mu.Lock()
	l.timer = time.AfterFunc(time.Until(l.deadlineLocked()), l.onTimer)
	l.mu.Unlock()
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		l.timer.Stop()
		l.cancel(ErrClosed)
		return nil
	}
	c.held[l] = struct{}{}
	c.stats.held.Add(1)
	if ac.watchdog {
		c.wg.Add(1)
		wctx, stop := context.WithCancel(context.Background())
		l.stopWatch, l.watchDone = stop, make(chan struct{})
		go l.watch(wctx, ac.refreshEvery)
	}
	c.mu.Unlock()
	return l
}

// Name is the lock name given to Acquire.
func (l *Lock) Name() string { return l.name }

// Token is the random owner token (128 bits from crypto/rand) stored in Redis.
func (l *Lock) Token() string { return l.token }

// Fence is the fencing token of this grant: larger than the token of every
// earlier grant of the same name (see doc.go for the exact guarantee). Pass it
// to the storage you protect and have it reject writes with smaller tokens.
// 0 when fencing is off (WithoutFencing).
func (l *Lock) Fence() int64 { return l.fence }

// Replicas is the WAIT result after acquisition: the number of replicas that
// acknowledged the lock write, -1 when WAIT failed, 0 when not requested.
func (l *Lock) Replicas() int { return l.replicas }

// Context is cancelled when the lock must no longer be relied on: lost (the
// watchdog found it gone, or it could not be confirmed before it would
// expire), released, past WithMaxHold, or the Client closed.
// context.Cause tells which: ErrLost, ErrReleased, ErrMaxHold, ErrClosed.
//
// Err is exact at the instant of the call (it compares the clock with the
// lease deadline itself); Done closes when a timer goroutine runs, which a
// loaded scheduler can delay by milliseconds. Check Err right before acting
// and hand Fence to the resource: no check survives a pause after it.
func (l *Lock) Context() context.Context { return l.lctx }

// ValidUntil is the local time until which the lease is certainly held
// (acquisition or last refresh start + TTL − drift margin), capped by the
// maximum hold time.
func (l *Lock) ValidUntil() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.deadlineLocked()
}

func (l *Lock) deadlineLocked() time.Time {
	if !l.hold.IsZero() && l.hold.Before(l.until) {
		return l.hold
	}
	return l.until
}

// onTimer fires at the deadline: the lease could not be confirmed past it.
func (l *Lock) onTimer() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done {
		return
	}
	if left := time.Until(l.deadlineLocked()); left > 0 { // refreshed meanwhile
		l.timer.Reset(left)
		return
	}
	l.expireLocked()
}

// checkDeadline ends the lock now if its deadline has passed, without waiting
// for the timer goroutine (which a loaded scheduler can run late).
func (l *Lock) checkDeadline() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.done && !time.Now().Before(l.deadlineLocked()) {
		l.expireLocked()
	}
}

func (l *Lock) expireLocked() {
	var cause error
	// The lease ends because of the maximum hold time when the last refresh
	// was trimmed to it (up to its drift margin and 1ms of truncation).
	if !l.hold.IsZero() && !l.until.Before(l.hold.Add(-margin(l.ttl, l.c.cfg.drift)-time.Millisecond)) {
		cause = ErrMaxHold
	} else {
		cause = fmt.Errorf("%w: lease not confirmed before it expired", ErrLost)
	}
	l.finishLocked(cause)
}

// lockContext makes Err exact: it checks the lease deadline at the moment of
// the call instead of trusting that the timer goroutine already ran.
type lockContext struct {
	context.Context
	l *Lock
}

func (c *lockContext) Err() error {
	if err := c.Context.Err(); err != nil {
		return err
	}
	c.l.checkDeadline()
	return c.Context.Err()
}

// finishLocked cancels the context once; l.mu is held.
func (l *Lock) finishLocked(cause error) {
	if l.done {
		return
	}
	l.done = true
	l.timer.Stop()
	l.cancel(cause)
	if errors.Is(cause, ErrLost) {
		l.c.stats.lost.Add(1)
	}
	l.c.stats.held.Add(-1)
}

// Refresh sets a new lease of ttl if the lock is still held, and moves
// ValidUntil. It returns ErrNotHeld (and cancels the context with ErrLost)
// when the lock is gone, ErrMaxHold when the maximum hold time leaves no room
// for a lease, and Redis errors as they are (the lock may still be held).
func (l *Lock) Refresh(ctx context.Context, ttl time.Duration) error {
	if err := validateTTL(ttl); err != nil {
		return err
	}
	return l.refresh(ctx, ttl.Truncate(time.Millisecond))
}

func (l *Lock) refresh(ctx context.Context, ttl time.Duration) error {
	l.opMu.Lock()
	defer l.opMu.Unlock()
	l.checkDeadline() // past the deadline the lease is not ours to extend
	l.mu.Lock()
	done, cause := l.done, context.Cause(l.ctx)
	l.mu.Unlock()
	if done {
		return fmt.Errorf("lock %q: %w (%w)", l.name, ErrNotHeld, cause)
	}
	if !l.hold.IsZero() {
		// Never extend the lease past the maximum hold time.
		left := time.Until(l.hold).Truncate(time.Millisecond)
		if left < MinTTL {
			return fmt.Errorf("lock %q: %w", l.name, ErrMaxHold)
		}
		ttl = min(ttl, left)
	}
	until, err := l.c.be.refresh(ctx, l.k, l.token, ttl)
	if err != nil {
		l.c.stats.refreshFailed.Add(1)
		if errors.Is(err, ErrNotHeld) {
			l.mu.Lock()
			l.finishLocked(fmt.Errorf("%w: refresh found it gone", ErrLost))
			l.mu.Unlock()
		}
		return fmt.Errorf("lock %q: refresh: %w", l.name, err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done { // expired while the refresh was in flight: too late to trust
		return fmt.Errorf("lock %q: %w (%w)", l.name, ErrNotHeld, context.Cause(l.ctx))
	}
	if until.After(l.until) {
		l.until = until
		l.timer.Reset(time.Until(l.deadlineLocked()))
	}
	l.c.stats.refreshed.Add(1)
	return nil
}

// TTL is the owner-checked remaining lease on the server (for Redlock: the
// lease left on a majority). ErrNotHeld when the lock is not held.
func (l *Lock) TTL(ctx context.Context) (time.Duration, error) {
	d, err := l.c.be.pttl(ctx, l.k, l.token)
	if err != nil {
		return 0, fmt.Errorf("lock %q: ttl: %w", l.name, err)
	}
	return d, nil
}

// Release gives the lock up and cancels its context with ErrReleased. It runs
// on a context detached from ctx's cancellation (bounded by the Client's
// release timeout), so a cancelled request still frees its lock at once
// instead of leaving it to expire. ErrNotHeld when the lock had already
// expired or been taken over; calling Release twice returns ErrNotHeld.
func (l *Lock) Release(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	return l.release(ctx, ErrReleased)
}

func (l *Lock) release(ctx context.Context, cause error) error {
	if l.stopWatch != nil {
		l.stopWatch()
		<-l.watchDone
	}
	l.opMu.Lock()
	defer l.opMu.Unlock()
	l.mu.Lock()
	if l.released {
		l.mu.Unlock()
		return fmt.Errorf("lock %q: %w: already released", l.name, ErrNotHeld)
	}
	l.released = true
	// Cancel first: the holder must stop before others can get in.
	l.finishLocked(cause)
	l.mu.Unlock()
	l.c.forget(l)

	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), l.c.cfg.releaseTimeout)
	defer cancel()
	if err := l.c.be.release(rctx, l.k, l.token); err != nil {
		return fmt.Errorf("lock %q: release: %w", l.name, err)
	}
	l.c.stats.released.Add(1)
	return nil
}

// watch is the watchdog: refresh every `every`; on failure retry sooner
// until the validity timer gives up (onTimer cancels the context).
func (l *Lock) watch(ctx context.Context, every time.Duration) {
	defer l.c.wg.Done()
	defer close(l.watchDone)
	t := time.NewTimer(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-l.ctx.Done():
			return
		case <-t.C:
		}
		// No point waiting for an answer past the validity: it could not
		// confirm the lease in time anyway.
		rctx, cancel := context.WithDeadline(ctx, l.ValidUntil())
		err := l.refresh(rctx, l.ttl)
		cancel()
		next := every
		if err != nil {
			if errors.Is(err, ErrNotHeld) || errors.Is(err, ErrMaxHold) {
				return
			}
			next = max(every/4, time.Millisecond)
		}
		t.Reset(next)
	}
}
