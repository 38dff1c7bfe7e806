package idempotency

import (
	"context"
	"fmt"
)

// ErrEmptyToken is returned by RedeemToken for an empty token (matches ErrInvalidInput).
var ErrEmptyToken error = &inputError{"pre-order token is empty"}

// IssueToken implements the seckill "pre-order token" (preOrderId): it binds a
// one-time token to owner (Scope: the user, ID: what is being ordered, e.g.
// "sale:42") and returns it. While a token is bound, IssueToken returns the same
// token again, so a user who opens the order page twice submits the same token
// twice and RedeemToken lets only one order through. An unredeemed token expires
// after WithTokenTTL; a redeemed one is kept (and replays) for WithRetention.
func (s *Store) IssueToken(ctx context.Context, owner Key) (string, error) {
	if err := s.cfg.validate(owner, "-"); err != nil {
		return "", err
	}
	if err := s.enter(); err != nil {
		return "", err
	}
	defer s.inflight.Done()
	fresh, err := newID()
	if err != nil {
		return "", err
	}
	rec, _ := s.cfg.recordKeys("t", owner)
	rep, err := issueScript.Run(ctx, s.rdb, []string{rec}, fresh, ms(s.cfg.tokenTTL)).StringSlice()
	if err != nil {
		s.stats.redisErrors.Add(1)
		return "", fmt.Errorf("idempotency: issue token: %w", err)
	}
	if len(rep) != 2 {
		return "", fmt.Errorf("idempotency: issue token: malformed reply %v", rep)
	}
	if rep[0] == fresh {
		s.stats.tokensIssued.Add(1)
	}
	return rep[0], nil
}

// RedeemToken consumes token atomically with fn (which creates the order and
// returns e.g. the payOrderId): fn runs at most once per token exactly as in Do,
// a duplicate submission gets fn's stored result (Replayed=true), a token that was
// not issued to owner (or expired) gets ErrTokenUnknown without running fn. If fn
// fails transiently the token goes back to "issued" and can be redeemed again.
func (s *Store) RedeemToken(ctx context.Context, owner Key, token string, fn func(context.Context) ([]byte, error)) (Result, error) {
	if fn == nil {
		return Result{}, ErrNilFunc
	}
	if token == "" {
		return Result{}, ErrEmptyToken
	}
	if err := s.cfg.validate(owner, token); err != nil {
		return Result{}, err
	}
	if err := s.enter(); err != nil {
		return Result{}, err
	}
	defer s.inflight.Done()
	return s.do(ctx, "t", owner, token, fn, s.cfg.policy)
}
