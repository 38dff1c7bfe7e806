package lock

import (
	"sync/atomic"
	"time"
)

// Stats is a snapshot of a Client's counters since New.
type Stats struct {
	Acquired        uint64        // successful Acquire calls
	Contended       uint64        // attempts that found the lock held by another owner
	NotObtained     uint64        // Acquire calls that gave up (retry, wait deadline or context)
	Errors          uint64        // attempts failed by Redis errors or missing quorum
	Released        uint64        // successful Release calls
	Refreshed       uint64        // successful refreshes (manual and watchdog)
	RefreshFailures uint64        // refreshes that failed (error or lock gone)
	Lost            uint64        // locks whose context was cancelled with ErrLost
	Held            int64         // locks obtained by this Client and not yet released or lost
	AcquireLatency  time.Duration // total wall time of successful Acquire calls
	AcquireMax      time.Duration // slowest successful Acquire
}

// MeanAcquireLatency is AcquireLatency / Acquired (0 when nothing was acquired).
func (s Stats) MeanAcquireLatency() time.Duration {
	if s.Acquired == 0 {
		return 0
	}
	return s.AcquireLatency / time.Duration(s.Acquired)
}

type counters struct {
	acquired, contended, notObtained, errors atomic.Uint64
	released, refreshed, refreshFailed, lost atomic.Uint64
	held                                     atomic.Int64
	latency, latencyMax                      atomic.Int64
}

func (c *counters) observeAcquire(d time.Duration) {
	c.acquired.Add(1)
	c.latency.Add(int64(d))
	for {
		m := c.latencyMax.Load()
		if int64(d) <= m || c.latencyMax.CompareAndSwap(m, int64(d)) {
			return
		}
	}
}

func (c *counters) snapshot() Stats {
	return Stats{
		Acquired:        c.acquired.Load(),
		Contended:       c.contended.Load(),
		NotObtained:     c.notObtained.Load(),
		Errors:          c.errors.Load(),
		Released:        c.released.Load(),
		Refreshed:       c.refreshed.Load(),
		RefreshFailures: c.refreshFailed.Load(),
		Lost:            c.lost.Load(),
		Held:            c.held.Load(),
		AcquireLatency:  time.Duration(c.latency.Load()),
		AcquireMax:      time.Duration(c.latencyMax.Load()),
	}
}
