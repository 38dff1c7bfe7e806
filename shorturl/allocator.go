package shorturl

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

//go:embed segment.lua
var segmentLua string

var segmentScript = redis.NewScript(segmentLua)

// maxID bounds the counter: Lua numbers are doubles, exact up to 2^53.
const maxID = 1 << 53

// MarkStore keeps a high-water mark outside the counter's Redis. LoadMark
// returns the highest segment end recorded (0 when none); SaveMark records v and
// must keep the maximum of all values saved (a smaller v is a no-op). Both must be
// durable before they return and safe for concurrent use.
type MarkStore interface {
	LoadMark(ctx context.Context) (uint64, error)
	SaveMark(ctx context.Context, v uint64) error
}

// Allocator hands out unique IDs (starting at 1) from Redis INCRBY segments.
// Next is a single atomic add on the current segment; the next segment is
// fetched in the background when 20% of the current one is used, so callers
// wait for Redis only when traffic outruns the prefetch. Many allocators (in one
// or many processes) may share a counter: every ID is issued at most once.
type Allocator struct {
	rdb   redis.UniversalClient
	keys  []string
	cfg   config
	limit uint64

	cur    atomic.Pointer[segment]
	closed atomic.Bool
	mark   atomic.Uint64 // highest segment end this allocator has seen

	mu       sync.Mutex
	next     *segment
	fetching chan struct{}
	fetchErr error
	step     int64

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	segments, backwards, skipped, waits, errs atomic.Int64
	issuedDone                                atomic.Uint64
}

type segment struct {
	next    atomic.Uint64
	lo, end uint64 // IDs in [lo, end)
	trigger uint64
	started time.Time
}

// AllocatorStats is a snapshot of an Allocator's counters.
type AllocatorStats struct {
	Segments   int64  // segments fetched from Redis
	Backwards  int64  // times the counter was found below the high-water mark
	SkippedIDs int64  // IDs jumped over because of that
	Waits      int64  // times Next had to wait for a segment
	Errors     int64  // failed fetches
	Step       int64  // current segment size
	Issued     uint64 // IDs handed out (exact after Close)
}

// NewAllocator returns an allocator for the counter named by WithCounterName.
// It does no I/O; the first segment is fetched by the first Next.
func NewAllocator(rdb redis.UniversalClient, opts ...Option) (*Allocator, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	return newAllocator(rdb, cfg)
}

func newAllocator(rdb redis.UniversalClient, cfg config) (*Allocator, error) {
	if rdb == nil {
		return nil, errorf("nil redis client")
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	tag := cfg.prefix + "su:{" + cfg.name + "}:"
	a := &Allocator{
		rdb:   rdb,
		keys:  []string{tag + "ctr", tag + "hwm"},
		cfg:   cfg,
		limit: maxID,
		step:  cfg.minStep,
	}
	if cfg.perm != nil {
		a.limit = cfg.perm.Domain()
	}
	a.ctx, a.cancel = context.WithCancel(context.Background())
	return a, nil
}

// Next returns a fresh ID. It blocks only when no reserved ID is left, until a
// segment arrives or ctx ends.
func (a *Allocator) Next(ctx context.Context) (uint64, error) {
	for {
		if a.closed.Load() {
			return 0, ErrClosed
		}
		s := a.cur.Load()
		if s != nil {
			id := s.next.Add(1) - 1
			if id < s.end {
				if id == s.trigger {
					a.prefetch()
				}
				return id, nil
			}
		}
		if err := a.refill(ctx, s); err != nil {
			return 0, err
		}
	}
}

// prefetch starts a background fetch of the next segment unless one is ready
// or in flight.
func (a *Allocator) prefetch() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.next == nil && a.fetching == nil && !a.closed.Load() {
		a.startFetchLocked()
	}
}

func (a *Allocator) startFetchLocked() {
	done := make(chan struct{})
	a.fetching = done
	step := a.step
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		seg, err := a.fetch(a.ctx, step)
		a.mu.Lock()
		if err != nil {
			a.errs.Add(1)
			a.fetchErr = err
		} else {
			a.next = seg
		}
		a.fetching = nil
		close(done)
		a.mu.Unlock()
	}()
}

// refill replaces the exhausted segment old with the prefetched one, fetching
// it first when needed.
func (a *Allocator) refill(ctx context.Context, old *segment) error {
	a.mu.Lock()
	waited := false
	for {
		switch {
		case a.closed.Load():
			a.mu.Unlock()
			return ErrClosed
		case a.cur.Load() != old:
			a.mu.Unlock()
			return nil // another caller swapped already
		case a.next != nil:
			if old != nil {
				a.adaptLocked(old)
				a.issuedDone.Add(old.end - old.lo)
			}
			// A prefetched segment waited unused; its life starts now, or the
			// size adaptation would see every segment as slower than it is.
			a.next.started = time.Now()
			a.cur.Store(a.next)
			a.next = nil
			a.mu.Unlock()
			return nil
		case a.fetchErr != nil && waited:
			err := a.fetchErr
			a.fetchErr = nil
			a.mu.Unlock()
			return err
		}
		if a.fetching == nil {
			a.fetchErr = nil
			a.startFetchLocked()
		}
		ch := a.fetching
		a.waits.Add(1)
		a.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
		waited = true
		a.mu.Lock()
	}
}

// adaptLocked resizes the next segment from how long old lasted.
func (a *Allocator) adaptLocked(old *segment) {
	life := time.Since(old.started)
	switch {
	case life < a.cfg.target/2 && a.step < a.cfg.maxStep:
		a.step = min(a.step*2, a.cfg.maxStep)
	case life > a.cfg.target*2 && a.step > a.cfg.minStep:
		a.step = max(a.step/2, a.cfg.minStep)
	}
}

// fetch reserves one segment. Its floor is the highest end known locally or in
// the MarkStore, so a counter that went backwards is skipped past, and the new
// end is saved to the MarkStore before any of its IDs is used.
func (a *Allocator) fetch(ctx context.Context, step int64) (*segment, error) {
	floor := a.mark.Load()
	if a.cfg.marks != nil {
		m, err := a.cfg.marks.LoadMark(ctx)
		if err != nil {
			return nil, fmt.Errorf("shorturl: load mark: %w", err)
		}
		floor = max(floor, m)
	}
	if floor >= maxID {
		return nil, ErrExhausted
	}
	res, err := segmentScript.Run(ctx, a.rdb, a.keys, step, floor).Int64Slice()
	if err != nil {
		return nil, fmt.Errorf("shorturl: reserve segment: %w", err)
	}
	if len(res) != 2 || res[0] < step {
		return nil, errors.New("shorturl: reserve segment: malformed reply")
	}
	hi := uint64(res[0])
	if a.cfg.marks != nil {
		if err := a.cfg.marks.SaveMark(ctx, hi); err != nil {
			return nil, fmt.Errorf("shorturl: save mark: %w", err)
		}
	}
	for {
		m := a.mark.Load()
		if m >= hi || a.mark.CompareAndSwap(m, hi) {
			break
		}
	}
	a.segments.Add(1)
	if res[1] > 0 {
		a.backwards.Add(1)
		a.skipped.Add(res[1])
	}
	lo := hi - uint64(step) + 1
	if lo >= a.limit {
		return nil, ErrExhausted
	}
	s := &segment{lo: lo, end: min(hi+1, a.limit), started: time.Now()}
	s.trigger = lo + (s.end-lo)/5
	s.next.Store(lo)
	return s, nil
}

// Stats returns a snapshot of the counters.
func (a *Allocator) Stats() AllocatorStats {
	a.mu.Lock()
	step := a.step
	a.mu.Unlock()
	issued := a.issuedDone.Load()
	if s := a.cur.Load(); s != nil {
		issued += min(s.next.Load(), s.end) - s.lo
	}
	return AllocatorStats{
		Segments:   a.segments.Load(),
		Backwards:  a.backwards.Load(),
		SkippedIDs: a.skipped.Load(),
		Waits:      a.waits.Load(),
		Errors:     a.errs.Load(),
		Step:       step,
		Issued:     issued,
	}
}

// Close stops handing out IDs and waits for a prefetch in flight. The unused
// rest of the reserved segments is abandoned (IDs are never reused, so a gap is
// the price of a restart).
func (a *Allocator) Close() error {
	a.mu.Lock()
	a.closed.Store(true)
	a.mu.Unlock()
	a.cancel()
	a.wg.Wait()
	return nil
}
