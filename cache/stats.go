package cache

import "sync/atomic"

// Stats is a snapshot of a Cache's counters since New.
type Stats struct {
	Hits          int64 // values served from Redis
	L1Hits        int64 // values (or not-found) served from the in-process L1 tier
	NotFoundHits  int64 // placeholders served from Redis (ErrNotFound without a load)
	Misses        int64 // Redis had nothing for the key
	Loads         int64 // loader calls (source reads) made by this process
	SharedLoads   int64 // callers that got another caller's in-flight load (singleflight)
	Rejoins       int64 // callers that joined a flight too late to share it safely and retried
	LoadErrors    int64 // loader calls that failed with an error other than ErrNotFound
	Fills         int64 // values or placeholders written to Redis
	FillsRefused  int64 // fills refused: NX lost, or the lease was voided/expired
	FillErrors    int64 // fills that failed at Redis
	FilterRejects int64 // misses answered ErrNotFound by the filter
	FilterErrors  int64 // filter errors (the source was read: fail open)
	LeasesGranted int64 // Lease: misses that took the lease
	LeaseWaits    int64 // Lease: misses that found another holder and waited
	LeaseFallback int64 // Lease: waiters that gave up and read the source without filling
	Invalidations int64 // entries deleted by Update / Invalidate / WriteThrough
	Scheduled     int64 // DoubleDelete: durable deletes scheduled
	Errors        int64 // Redis or codec errors returned to callers
}

type counters struct {
	hits, notFoundHits, misses, loads, sharedLoads, loadErrors   atomic.Int64
	fills, fillsRefused, fillErrors, filterRejects, filterErrors atomic.Int64
	leasesGranted, leaseWaits, leaseFallbacks, invalidations     atomic.Int64
	scheduled, errors, rejoins, l1Hits                           atomic.Int64
}

// Stats returns a snapshot of the counters.
func (c *Cache[T]) Stats() Stats {
	s := &c.stats
	return Stats{
		Hits: s.hits.Load(), NotFoundHits: s.notFoundHits.Load(), Misses: s.misses.Load(),
		Loads: s.loads.Load(), SharedLoads: s.sharedLoads.Load(), LoadErrors: s.loadErrors.Load(),
		Fills: s.fills.Load(), FillsRefused: s.fillsRefused.Load(), FillErrors: s.fillErrors.Load(),
		FilterRejects: s.filterRejects.Load(), FilterErrors: s.filterErrors.Load(),
		LeasesGranted: s.leasesGranted.Load(), LeaseWaits: s.leaseWaits.Load(),
		LeaseFallback: s.leaseFallbacks.Load(), Invalidations: s.invalidations.Load(),
		Scheduled: s.scheduled.Load(), Errors: s.errors.Load(), Rejoins: s.rejoins.Load(), L1Hits: s.l1Hits.Load(),
	}
}
