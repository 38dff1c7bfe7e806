package idempotency

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Store runs functions at most once per key (see the package documentation for the
// exact guarantee). It is safe for concurrent use.
type Store struct {
	rdb   redis.UniversalClient
	cfg   config
	stats counters

	mu       sync.Mutex
	closed   bool
	inflight sync.WaitGroup
}

// Result is what Do returns: the function's value, or the stored value of an
// earlier attempt when Replayed is true.
type Result struct {
	Value    []byte
	Replayed bool
}

// New returns a Store on rdb (a *redis.Client, *redis.ClusterClient, Ring or
// failover client). It does no I/O; a bad option is reported as ErrBadOption.
func New(rdb redis.UniversalClient, opts ...Option) (*Store, error) {
	if rdb == nil {
		return nil, badOption("nil redis client")
	}
	cfg := defaultConfig()
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	return &Store{rdb: rdb, cfg: cfg}, nil
}

// Retention is the configured key expiry policy: how long a completed outcome is
// replayed. Publish it to clients (the HTTP middleware does in its 400 answers).
func (s *Store) Retention() time.Duration { return s.cfg.retention }

// Close refuses new calls with ErrClosed and waits for the running ones (and their
// heartbeats) to finish. It never touches the keys: running owners complete normally.
func (s *Store) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.inflight.Wait()
	return nil
}

func (s *Store) enter() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	s.inflight.Add(1)
	return nil
}

// Do runs fn at most once for key among all callers sharing the Redis, as far as
// the lease allows (see package doc):
//
//   - first caller: claims a lease, runs fn with a context that is cancelled (cause
//     ErrLeaseLost) if the lease cannot be renewed, and stores the outcome;
//   - concurrent duplicate: ErrInProgress, or with WithWait the owner's outcome;
//   - later duplicate with the same fingerprint: the stored outcome, Replayed=true
//     (a stored failure comes back as a *StoredFailure error);
//   - same key, different fingerprint: ErrMismatch;
//   - after the owner crashed and its lease lapsed: the next duplicate runs fn.
//
// fingerprint identifies the request payload (see Fingerprint). An fn error is
// stored or releases the key according to the policy (DefaultPolicy: only
// Permanent errors are stored). A panic in fn releases the key and propagates.
func (s *Store) Do(ctx context.Context, key Key, fingerprint string, fn func(context.Context) ([]byte, error)) (Result, error) {
	if fn == nil {
		return Result{}, ErrNilFunc
	}
	if err := s.cfg.validate(key, fingerprint); err != nil {
		return Result{}, err
	}
	if err := s.enter(); err != nil {
		return Result{}, err
	}
	defer s.inflight.Done()
	return s.do(ctx, "k", key, fingerprint, fn, s.cfg.policy)
}

// do is Do after validation; ns selects the key space ("k" keys, "t" tokens), which
// is also the claim mode.
func (s *Store) do(ctx context.Context, ns string, key Key, fp string, fn func(context.Context) ([]byte, error), policy func(error) Decision) (Result, error) {
	rec, lease := s.cfg.recordKeys(ns, key)
	owner, err := newID()
	if err != nil {
		return Result{}, err
	}
	var deadline time.Time
	if s.cfg.wait > 0 {
		deadline = time.Now().Add(s.cfg.wait)
	}
	backoff := 10 * time.Millisecond
	for {
		start := time.Now()
		rep, err := claimScript.Run(ctx, s.rdb, []string{rec, lease},
			fp, owner, ms(s.cfg.lease), ms(s.cfg.retention), ns).Slice()
		if err != nil {
			if ctx.Err() == nil {
				s.stats.redisErrors.Add(1)
			}
			return Result{}, fmt.Errorf("idempotency: claim: %w", err)
		}
		kind, _ := rep[0].(string)
		switch kind {
		case "claimed":
			s.stats.claims.Add(1)
			return s.run(ctx, rec, lease, owner, start, fn, policy)
		case "takeover":
			s.stats.takeovers.Add(1)
			return s.run(ctx, rec, lease, owner, start, fn, policy)
		case "done":
			s.stats.replays.Add(1)
			if len(rep) < 4 {
				return Result{}, fmt.Errorf("idempotency: claim: malformed reply %v", rep)
			}
			v, _ := rep[1].(string)
			res := Result{Value: []byte(v), Replayed: true}
			if failed, _ := rep[2].(int64); failed == 1 {
				msg, _ := rep[3].(string)
				return res, &StoredFailure{Message: msg}
			}
			return res, nil
		case "mismatch":
			s.stats.mismatches.Add(1)
			return Result{}, ErrMismatch
		case "unknown":
			s.stats.tokensUnknown.Add(1)
			return Result{}, ErrTokenUnknown
		case "busy":
			now := time.Now()
			if s.cfg.wait == 0 || !now.Before(deadline) {
				s.stats.inProgress.Add(1)
				return Result{}, ErrInProgress
			}
			sleep := min(backoff, deadline.Sub(now))
			if len(rep) > 1 {
				if pttl, ok := rep[1].(int64); ok && pttl > 0 {
					// no point sleeping past the moment the lease could be taken over
					sleep = min(sleep, time.Duration(pttl)*time.Millisecond+time.Millisecond)
				}
			}
			backoff = min(2*backoff, 250*time.Millisecond)
			s.stats.waits.Add(1)
			t := time.NewTimer(sleep)
			select {
			case <-ctx.Done():
				t.Stop()
				return Result{}, ctx.Err()
			case <-t.C:
			}
		default:
			return Result{}, fmt.Errorf("idempotency: claim: malformed reply %v", rep)
		}
	}
}

// run executes fn as the owner of the claim made at claimStart.
func (s *Store) run(ctx context.Context, rec, lease, owner string, claimStart time.Time,
	fn func(context.Context) ([]byte, error), policy func(error) Decision) (Result, error) {
	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stop, hbDone := make(chan struct{}), make(chan struct{})
	go s.heartbeat(context.WithoutCancel(ctx), lease, owner, claimStart, cancel, stop, hbDone)
	stopHeartbeat := func() { close(stop); <-hbDone }

	// Storing the outcome must not depend on the caller still waiting: once fn has
	// acted, forgetting the outcome would let a retry act twice. The bound is one
	// lease, counted from when fn returned.
	after := func() (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.WithoutCancel(ctx), s.cfg.lease)
	}
	returned := false
	defer func() {
		if !returned { // fn panicked or called runtime.Goexit: give the key back
			stopHeartbeat()
			bg, cancel := after()
			defer cancel()
			_, _ = s.release(bg, rec, lease, owner)
		}
	}()
	value, ferr := fn(runCtx)
	returned = true
	stopHeartbeat()
	bg, bgCancel := after()
	defer bgCancel()
	lost := errors.Is(context.Cause(runCtx), ErrLeaseLost)

	if ferr == nil && len(value) > s.cfg.maxResultBytes {
		if _, err := s.release(bg, rec, lease, owner); err != nil {
			return Result{Value: value}, errors.Join(ErrResultTooLarge, err)
		}
		return Result{Value: value}, ErrResultTooLarge
	}
	if ferr != nil && (policy(ferr) == Release || len(value)+len(ferr.Error()) > s.cfg.maxResultBytes) {
		_, rerr := s.release(bg, rec, lease, owner)
		if lost {
			s.stats.leaseLost.Add(1)
			if !errors.Is(ferr, ErrLeaseLost) {
				ferr = errors.Join(ferr, ErrLeaseLost)
			}
		}
		if rerr != nil {
			// The key stays claimed until its lease lapses; a retry after that runs.
			return Result{Value: value}, errors.Join(ferr, rerr)
		}
		return Result{Value: value}, ferr
	}
	failed, msg := "0", ""
	if ferr != nil {
		failed, msg = "1", ferr.Error()
	}
	n, err := completeScript.Run(bg, s.rdb, []string{rec, lease},
		owner, value, failed, msg, ms(s.cfg.retention)).Int64()
	switch {
	case err != nil:
		s.stats.redisErrors.Add(1)
		return Result{Value: value}, errors.Join(ferr, fmt.Errorf("idempotency: store outcome: %w", err))
	case n == 0:
		s.stats.leaseLost.Add(1)
		return Result{Value: value}, errors.Join(ferr, ErrLeaseLost)
	}
	s.stats.stored.Add(1)
	if ferr != nil {
		s.stats.storedFailures.Add(1)
	}
	return Result{Value: value}, ferr
}

// release gives the key back if owner still holds it.
func (s *Store) release(ctx context.Context, rec, lease, owner string) (bool, error) {
	n, err := releaseScript.Run(ctx, s.rdb, []string{rec, lease}, owner, ms(s.cfg.tokenTTL)).Int64()
	if err != nil {
		s.stats.redisErrors.Add(1)
		return false, fmt.Errorf("idempotency: release: %w", err)
	}
	if n == 1 {
		s.stats.released.Add(1)
	}
	return n == 1, nil
}

// heartbeat renews the lease every lease/3 until stop is closed. If the lease
// cannot be renewed before it would lapse by the local clock (Redis unreachable,
// stalled) or turns out to be lost (taken over), it cancels fn's context with
// ErrLeaseLost so that the owner can stop before a successor runs concurrently.
func (s *Store) heartbeat(ctx context.Context, lease, owner string, claimStart time.Time,
	lost context.CancelCauseFunc, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	interval := s.cfg.lease / 3
	// The server started the lease no earlier than we sent the claim, so by our clock
	// it is valid at least until claimStart+lease.
	validUntil := claimStart.Add(s.cfg.lease)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	expiry := time.NewTimer(time.Until(validUntil))
	defer expiry.Stop()
	for {
		select {
		case <-stop:
			return
		case <-expiry.C:
			lost(ErrLeaseLost)
			return
		case <-tick.C:
		}
		remaining := time.Until(validUntil)
		if remaining <= 0 {
			lost(ErrLeaseLost)
			return
		}
		sent := time.Now()
		cctx, cancel := context.WithTimeout(ctx, min(interval, remaining))
		n, err := extendScript.Run(cctx, s.rdb, []string{lease}, owner, ms(s.cfg.lease)).Int64()
		cancel()
		switch {
		case err != nil:
			s.stats.redisErrors.Add(1) // retry at the next tick while time remains
		case n == 1:
			s.stats.heartbeats.Add(1)
			validUntil = sent.Add(s.cfg.lease)
			expiry.Reset(time.Until(validUntil))
		default:
			lost(ErrLeaseLost)
			return
		}
	}
}

func ms(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) }

// newID returns 128 random bits as hex: an attempt's owner id or a token.
func newID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("idempotency: random id: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}
