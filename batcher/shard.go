package batcher

import (
	"context"
	"errors"
	"math/rand/v2"
	"runtime/debug"
	"sync"
	"time"
)

// batch is a group of items flushed together. Its outcome is shared by the
// futures of all its items.
type batch[T any] struct {
	outcome
	items []T
	bytes int
	first time.Time // when the first item arrived; the max-wait clock starts here
}

// shard owns a FIFO of batches and the one goroutine that flushes them, so a shard
// never has two batches in flight: that is what preserves per-key order. All
// state is guarded by mu; Add touches it once per item (or once per AddMany run)
// and the flusher once per batch.
type shard[T any] struct {
	b  *Batcher[T]
	mu sync.Mutex

	cur    *batch[T]   // batch being filled, nil if none
	sealed []*batch[T] // full or expired batches waiting for the flusher, oldest first
	last   *batch[T]   // most recently sealed batch not yet finished (Flush waits on it)
	depth  int         // items accepted and not finished: cur + sealed + in flight
	closed bool
	space  chan struct{} // closed when depth drops; made only when an Add waits
	free   [][]T         // recycled item slices (flush must not retain them)
	stats  shardStats

	kick chan struct{} // cap 1: wakes the flusher after new/sealed batch or Close

	_ [64]byte // keep hot shards on separate cache lines
}

func newShard[T any](b *Batcher[T]) *shard[T] {
	return &shard[T]{b: b, kick: make(chan struct{}, 1)}
}

func (s *shard[T]) kickLocked() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

func (s *shard[T]) spaceLocked() chan struct{} {
	if s.space == nil {
		s.space = make(chan struct{})
	}
	return s.space
}

func (s *shard[T]) newBatchLocked() *batch[T] {
	bt := &batch[T]{first: time.Now()}
	if n := len(s.free); n > 0 {
		bt.items = s.free[n-1]
		s.free[n-1] = nil
		s.free = s.free[:n-1]
	} else {
		// A batch never holds more than the queue allows; a huge max items must
		// not turn into a huge allocation, so larger batches grow by append.
		bt.items = make([]T, 0, min(s.b.cfg.maxItems, s.b.cfg.queue, 4096))
	}
	s.cur = bt
	s.kickLocked() // the flusher arms its max-wait timer for this batch
	return bt
}

func (s *shard[T]) sealLocked() {
	s.sealed = append(s.sealed, s.cur)
	s.last = s.cur
	s.cur = nil
	s.kickLocked()
}

// appendLocked adds one accepted item and returns the batch it went into.
func (s *shard[T]) appendLocked(item T, sz int) *batch[T] {
	cfg := &s.b.cfg
	bt := s.cur
	if bt != nil && cfg.maxBytes > 0 && bt.bytes+sz > cfg.maxBytes {
		s.sealLocked() // keep batches under maxBytes; an oversized item goes alone
		bt = nil
	}
	if bt == nil {
		bt = s.newBatchLocked()
	}
	bt.items = append(bt.items, item)
	bt.bytes += sz
	s.depth++
	s.stats.added++
	s.stats.bytes += uint64(sz)
	if len(bt.items) >= cfg.maxItems || (cfg.maxBytes > 0 && bt.bytes >= cfg.maxBytes) {
		s.sealLocked()
	}
	return bt
}

// appendManyLocked adds unsized items with one copy per batch. A non-zero first
// backdates the max-wait clock to when the oldest of them arrived.
func (s *shard[T]) appendManyLocked(items []T, first time.Time) {
	max := s.b.cfg.maxItems
	s.depth += len(items)
	s.stats.added += uint64(len(items))
	for len(items) > 0 {
		bt := s.cur
		if bt == nil {
			bt = s.newBatchLocked()
		}
		if !first.IsZero() && first.Before(bt.first) {
			bt.first = first
			s.kickLocked() // the flusher re-arms its timer for the earlier deadline
		}
		k := min(max-len(bt.items), len(items))
		bt.items = append(bt.items, items[:k]...)
		items = items[k:]
		if len(bt.items) >= max {
			s.sealLocked()
		}
	}
}

// run is the shard's flusher: it takes sealed batches in order, seals the pending
// batch when its max wait is over (or on Close), and exits once closed and empty.
func (s *shard[T]) run() {
	defer func() {
		if s.b.running.Add(-1) == 0 {
			close(s.b.done)
		}
	}()
	// Max wait is a bound on the longest wait, so the batch is sealed early by
	// min(1ms, maxWait/2): Go's runtime sleeps in whole milliseconds when it has
	// nothing else to do (netpoll rounds sub-ms timeouts up to 1ms), so a timer
	// armed for exactly maxWait fires up to ~1ms late at low load.
	maxWait := s.b.cfg.maxWait - min(time.Millisecond, s.b.cfg.maxWait/2)
	timer := time.NewTimer(maxWait)
	timer.Stop()
	for {
		s.mu.Lock()
		if len(s.sealed) == 0 && s.cur != nil && (s.closed || time.Since(s.cur.first) >= maxWait) {
			s.sealLocked()
		}
		if len(s.sealed) > 0 {
			bt := s.sealed[0]
			s.sealed[0] = nil
			s.sealed = s.sealed[1:]
			if len(s.sealed) == 0 {
				s.sealed = nil // let the backing array go; the next append starts small
			}
			s.mu.Unlock()
			s.process(bt)
			continue
		}
		if s.closed {
			s.mu.Unlock()
			return
		}
		pending := s.cur != nil
		var wait time.Duration
		if pending {
			// Measured again after the check above: it may have crossed zero in
			// between, and a pending batch must never wait without a timer.
			wait = maxWait - time.Since(s.cur.first)
		}
		s.mu.Unlock()
		if !pending {
			<-s.kick // nothing pending: the next batch or Close kicks
			continue
		}
		if wait <= 0 {
			continue
		}
		timer.Reset(wait)
		select {
		case <-s.kick:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// process flushes one batch with retries, dead-letters what finally failed, then
// publishes the outcome and frees the batch's queue room.
func (s *shard[T]) process(bt *batch[T]) {
	start := time.Now()
	errs, retries, panics := s.attempts(bt.items)
	n := len(bt.items)
	failed := 0
	var dlPanic bool
	if errs != nil {
		failedItems, dlErr := failures(bt.items, errs)
		failed = len(failedItems)
		if failed > 0 {
			if s.b.deadLetter != nil {
				dlPanic = s.deadLetter(failedItems, dlErr)
			}
			if h := s.b.cfg.onError; h != nil {
				func() {
					defer func() { _ = recover() }()
					h(dlErr)
				}()
			}
		} else {
			errs = nil
		}
	}
	lat := time.Since(start)

	s.mu.Lock()
	bt.errs = errs
	st := &s.stats
	st.batches++
	st.retries += retries
	st.panics += panics
	if dlPanic {
		st.deadLetterPanics++
	}
	if failed > 0 {
		st.failedBatches++
	}
	st.failed += uint64(failed)
	st.delivered += uint64(n - failed)
	st.sizes[sizeBucket(n)]++
	st.latency[latencyBucket(lat)]++
	st.latencySum += lat
	if lat > st.latencyMax {
		st.latencyMax = lat
	}
	s.depth -= n
	if s.last == bt {
		s.last = nil
	}
	if s.space != nil {
		close(s.space)
		s.space = nil
	}
	if len(s.free) < 4 {
		clear(bt.items) // drop references so recycled slices do not pin items
		s.free = append(s.free, bt.items[:0])
	}
	bt.items = nil
	done := bt.done
	s.mu.Unlock()
	if done != nil {
		close(done)
	}
}

// attempts calls the flush function up to the configured number of times. It
// returns nil if every item was written, else the final error of each item (nil
// for items that were written). A whole-batch error applies to every item still
// being attempted; an ItemErrors of the right length applies item by item, and
// only the failed, non-permanent items are retried, in their original order.
func (s *shard[T]) attempts(items []T) (errs []error, retries, panics uint64) {
	cfg := &s.b.cfg
	cur := items
	var pos []int // pos[j] = index in items of cur[j]; nil while cur == items
	for attempt := 1; ; attempt++ {
		err, panicked := s.call(cur)
		if panicked {
			panics++
		}
		if err == nil {
			if errs != nil {
				for j := range cur {
					errs[at(pos, j)] = nil
				}
			}
			return errs, retries, panics
		}
		if errs == nil {
			errs = make([]error, len(items))
		}
		var ie ItemErrors
		perItem := errors.As(err, &ie) && len(ie) == len(cur)
		for j := range cur {
			if perItem {
				errs[at(pos, j)] = ie[j]
			} else {
				errs[at(pos, j)] = err
			}
		}
		// A per-item result is permanent only if wrapped as a whole (errors.As
		// would find a Permanent entry inside it); entries are checked below.
		_, wholePermanent := err.(permanentError)
		if attempt >= cfg.attempts || wholePermanent || (!perItem && isPermanent(err)) {
			return errs, retries, panics
		}
		// Retry the failed, retryable items only.
		var next []T
		var nextPos []int
		for j := range cur {
			if e := errs[at(pos, j)]; e != nil && !isPermanent(e) {
				next = append(next, cur[j])
				nextPos = append(nextPos, at(pos, j))
			}
		}
		if len(next) == 0 {
			return errs, retries, panics
		}
		cur, pos = next, nextPos
		retries++
		time.Sleep(backoff(cfg.backoffBase, cfg.backoffMax, attempt))
	}
}

func at(pos []int, j int) int {
	if pos == nil {
		return j
	}
	return pos[j]
}

// failures returns the items that finally failed and the error to report for
// them: their common error, or an ItemErrors aligned with the returned items when
// they failed differently.
func failures[T any](items []T, errs []error) ([]T, error) {
	var first error
	same, count := true, 0
	for _, e := range errs {
		if e == nil {
			continue
		}
		if count == 0 {
			first = e
		} else if same && !sameErr(e, first) {
			same = false
		}
		count++
	}
	if count == len(items) && same {
		return items, first
	}
	out := make([]T, 0, count)
	var ie ItemErrors
	if !same {
		ie = make(ItemErrors, 0, count)
	}
	for i, e := range errs {
		if e != nil {
			out = append(out, items[i])
			if !same {
				ie = append(ie, e)
			}
		}
	}
	if same {
		return out, first
	}
	return out, ie
}

// call runs the flush function once, turning a panic into a *PanicError.
func (s *shard[T]) call(items []T) (err error, panicked bool) {
	ctx := context.Background()
	if d := s.b.cfg.flushTimeout; d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	defer func() {
		if v := recover(); v != nil {
			err, panicked = &PanicError{Value: v, Stack: debug.Stack()}, true
		}
	}()
	return s.b.flush(ctx, items), false
}

func (s *shard[T]) deadLetter(items []T, err error) (panicked bool) {
	defer func() {
		if recover() != nil {
			panicked = true
		}
	}()
	s.b.deadLetter(context.Background(), items, err)
	return false
}

// backoff returns the wait before attempt+1: exponential from base, capped at max,
// with "equal jitter" (half fixed, half random) so shards retrying against the same
// sink do not synchronise.
func backoff(base, max time.Duration, attempt int) time.Duration {
	if base <= 0 {
		return 0
	}
	d := base
	for i := 1; i < attempt && d < max; i++ {
		d *= 2
	}
	d = min(d, max)
	half := d / 2
	return half + rand.N(d-half+1)
}

// sameErr reports a == b without panicking on uncomparable dynamic types (an
// ItemErrors is a slice).
func sameErr(a, b error) (eq bool) {
	defer func() {
		if recover() != nil {
			eq = false
		}
	}()
	return a == b
}
