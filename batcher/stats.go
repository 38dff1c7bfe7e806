package batcher

import (
	"math/bits"
	"time"
)

const (
	sizeBuckets    = 16 // ≤1, ≤2, ≤4, ... ≤16384, more
	latencyBuckets = 24 // ≤1µs, ≤2µs, ... ≤4.2s, more
)

// shardStats is owned by a shard and only touched under its mutex, so counting
// costs no atomic operation on the Add path.
type shardStats struct {
	added, rejected, delivered, failed uint64
	batches, failedBatches, retries    uint64
	panics, deadLetterPanics           uint64
	bytes                              uint64
	sizes                              [sizeBuckets]uint64
	latency                            [latencyBuckets]uint64
	latencySum, latencyMax             time.Duration
}

// Bucket is one histogram bucket: Count observations ≤ Le (and greater than the
// previous bucket's Le). The last bucket's Le is -1: everything larger.
type Bucket struct {
	Le    int64
	Count uint64
}

// Stats is a snapshot of a Batcher's counters, summed over its shards.
type Stats struct {
	Added     uint64 // items accepted by Add, TryAdd, Submit, AddMany
	Rejected  uint64 // items refused with ErrFull or a context error while waiting
	Delivered uint64 // items whose batch the flush function accepted
	Failed    uint64 // items whose batch finally failed (handed to the dead-letter callback)
	Bytes     uint64 // sum of item sizes accepted (with WithSize)

	Batches          uint64 // batches finished (delivered or failed)
	FailedBatches    uint64 // batches that finally failed
	Retries          uint64 // extra flush attempts
	Panics           uint64 // flush attempts that panicked
	DeadLetterPanics uint64 // dead-letter callbacks that panicked

	QueueDepth int // items accepted and not yet finished, now
	Shards     int

	BatchSizes []Bucket // items per batch; Le is an item count

	FlushLatencyMax  time.Duration // per batch, all attempts and backoff included
	FlushLatencyMean time.Duration
	FlushLatency     []Bucket // Le in nanoseconds
}

func sizeBucket(n int) int {
	if n <= 1 {
		return 0
	}
	b := bits.Len(uint(n - 1)) // smallest b with n ≤ 2^b
	if b >= sizeBuckets {
		return sizeBuckets - 1
	}
	return b
}

func latencyBucket(d time.Duration) int {
	us := uint64(d / time.Microsecond)
	if d%time.Microsecond != 0 {
		us++
	}
	if us <= 1 {
		return 0
	}
	b := bits.Len64(us - 1)
	if b >= latencyBuckets {
		return latencyBuckets - 1
	}
	return b
}

func (s *Stats) add(o *shardStats) {
	s.Added += o.added
	s.Rejected += o.rejected
	s.Delivered += o.delivered
	s.Failed += o.failed
	s.Bytes += o.bytes
	s.Batches += o.batches
	s.FailedBatches += o.failedBatches
	s.Retries += o.retries
	s.Panics += o.panics
	s.DeadLetterPanics += o.deadLetterPanics
	for i, c := range o.sizes {
		s.BatchSizes[i].Count += c
	}
	for i, c := range o.latency {
		s.FlushLatency[i].Count += c
	}
	s.FlushLatencyMean += o.latencySum // divided at the end
	if o.latencyMax > s.FlushLatencyMax {
		s.FlushLatencyMax = o.latencyMax
	}
}

func newStats(shards int) Stats {
	s := Stats{Shards: shards, BatchSizes: make([]Bucket, sizeBuckets), FlushLatency: make([]Bucket, latencyBuckets)}
	for i := range s.BatchSizes {
		s.BatchSizes[i].Le = 1 << i
	}
	s.BatchSizes[sizeBuckets-1].Le = -1
	for i := range s.FlushLatency {
		s.FlushLatency[i].Le = int64(time.Microsecond) << i
	}
	s.FlushLatency[latencyBuckets-1].Le = -1
	return s
}
