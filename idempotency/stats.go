package idempotency

import "sync/atomic"

// Stats is a snapshot of a Store's counters since New.
type Stats struct {
	Claims         int64 // first attempts that got the lease and ran the function
	Takeovers      int64 // attempts that took over a lapsed lease (owner crashed or stalled) and ran
	Replays        int64 // duplicates answered from the store without running
	InProgress     int64 // duplicates refused with ErrInProgress
	Mismatches     int64 // duplicates refused with ErrMismatch
	Waits          int64 // polls made while waiting for a concurrent owner
	Stored         int64 // outcomes stored (successes and stored failures)
	StoredFailures int64 // of Stored, failures kept by the policy
	Released       int64 // keys released after a transient failure, panic or too-large result
	LeaseLost      int64 // attempts whose lease lapsed or was taken over before storing
	Heartbeats     int64 // successful lease renewals
	TokensIssued   int64 // pre-order tokens newly bound (not re-shown)
	TokensUnknown  int64 // redemptions refused with ErrTokenUnknown
	RedisErrors    int64 // calls that failed talking to Redis
}

type counters struct {
	claims, takeovers, replays, inProgress, mismatches, waits atomic.Int64
	stored, storedFailures, released, leaseLost, heartbeats   atomic.Int64
	tokensIssued, tokensUnknown, redisErrors                  atomic.Int64
}

// Stats returns a snapshot of the counters.
func (s *Store) Stats() Stats {
	c := &s.stats
	return Stats{
		Claims: c.claims.Load(), Takeovers: c.takeovers.Load(), Replays: c.replays.Load(),
		InProgress: c.inProgress.Load(), Mismatches: c.mismatches.Load(), Waits: c.waits.Load(),
		Stored: c.stored.Load(), StoredFailures: c.storedFailures.Load(), Released: c.released.Load(),
		LeaseLost: c.leaseLost.Load(), Heartbeats: c.heartbeats.Load(),
		TokensIssued: c.tokensIssued.Load(), TokensUnknown: c.tokensUnknown.Load(),
		RedisErrors: c.redisErrors.Load(),
	}
}
