package ratelimit

import (
	"context"
	"fmt"
	"time"
)

// Decider is what Local and Limiter have in common; Middleware and Wait take it.
type Decider interface {
	AllowN(ctx context.Context, key string, n int) (Result, error)
}

// waitN retries AllowN, sleeping RetryAfter between tries, for at most maxWait
// and never past ctx's deadline. GCRA refusals reserve nothing, so under
// contention a waiter may need several rounds; the bound holds regardless.
func waitN(ctx context.Context, d Decider, key string, n int, maxWait time.Duration) error {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	limit := time.Now().Add(maxWait)
	if dl, ok := ctx.Deadline(); ok && dl.Before(limit) {
		limit = dl
	}
	for {
		r, err := d.AllowN(ctx, key, n)
		if err != nil {
			return err
		}
		if r.Allowed {
			return nil
		}
		if time.Now().Add(r.RetryAfter).After(limit) {
			return fmt.Errorf("%w: retry after %v exceeds the wait bound", ErrLimited, r.RetryAfter)
		}
		if timer == nil {
			timer = time.NewTimer(r.RetryAfter)
		} else {
			timer.Reset(r.RetryAfter)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
		}
	}
}
