package ratelimit

import "time"

// Stats is a snapshot of a limiter's counters.
type Stats struct {
	Allowed uint64 // decisions that allowed the request
	Limited uint64 // decisions that refused it
	Errors  uint64 // calls that returned an error after validation (Redis limiter)

	// Local limiter (or the fallback of a Redis limiter).
	Evictions uint64 // keys removed because their bucket was full again (lossless)
	Overflows uint64 // new keys refused because the hard key cap was reached
	Keys      int    // keys currently held in memory

	// Redis limiter.
	Fallback          bool          // currently deciding locally
	FallbackSwitches  uint64        // times the limiter switched to its fallback
	FallbackDecisions uint64        // decisions taken by the fallback
	FallbackTime      time.Duration // total time spent in fallback, including now
	Pipelines         uint64        // round trips that carried combined decisions
	PipelinedCalls    uint64        // decisions carried by those round trips
}
