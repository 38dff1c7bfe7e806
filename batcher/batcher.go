package batcher

import (
	"context"
	"fmt"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"
)

// Batcher aggregates items of type T into batches and hands each batch to one
// flush function. It is safe for concurrent use. Create it with New; stop it with
// Close, which delivers every accepted item before returning.
type Batcher[T any] struct {
	cfg        config
	flush      func(context.Context, []T) error
	key        func(T) string
	keyHash    func(T) uint64
	size       func(T) int
	deadLetter func(context.Context, []T, error)

	seed   maphash.Seed
	shards []*shard[T]
	mask   uint64 // len(shards)-1 when a power of two, else 0

	// hints gives each P (through sync.Pool's per-P cache) a sticky shard for
	// unkeyed items, so producers on different cores mostly lock different shards
	// and a shard's cache line stays on one core. Losing a hint to GC is harmless.
	hints sync.Pool
	rr    atomic.Uint64

	pmu       sync.Mutex // guards producers and the sweeper's channels
	producers map[*Producer[T]]struct{}
	sweepStop chan struct{}
	sweepDone chan struct{}

	running atomic.Int32  // shard goroutines still running
	done    chan struct{} // closed by the last shard goroutine to exit
	closing atomic.Bool
}

// New returns a running Batcher that calls flush with batches of items. One
// goroutine per shard is started here and stopped by Close.
//
// flush must not retain the slice after it returns (the batcher reuses it). Its
// error becomes the error of every item in the batch; a panic becomes a
// *PanicError. Option callbacks (WithKey, WithSize, WithDeadLetter) must be typed
// for T, else New returns an error wrapping ErrInvalid.
func New[T any](flush func(ctx context.Context, items []T) error, opts ...Option) (*Batcher[T], error) {
	if flush == nil {
		return nil, fmt.Errorf("%w: nil flush function", ErrInvalid)
	}
	cfg := config{maxItems: DefaultMaxItems, maxWait: DefaultMaxWait, attempts: 1}
	for _, o := range opts {
		if o == nil {
			cfg.fail("nil option")
			continue
		}
		o(&cfg)
	}
	if cfg.err != nil {
		return nil, cfg.err
	}
	b := &Batcher[T]{cfg: cfg, flush: flush, seed: maphash.MakeSeed(), done: make(chan struct{})}
	var ok bool
	if cfg.key != nil {
		if b.key, ok = cfg.key.(func(T) string); !ok {
			return nil, fmt.Errorf("%w: WithKey got %T, want func(%T) string", ErrInvalid, cfg.key, *new(T))
		}
	}
	if cfg.keyHash != nil {
		if b.key != nil {
			return nil, fmt.Errorf("%w: both WithKey and WithKeyHash", ErrInvalid)
		}
		if b.keyHash, ok = cfg.keyHash.(func(T) uint64); !ok {
			return nil, fmt.Errorf("%w: WithKeyHash got %T, want func(%T) uint64", ErrInvalid, cfg.keyHash, *new(T))
		}
	}
	if cfg.size != nil {
		if b.size, ok = cfg.size.(func(T) int); !ok {
			return nil, fmt.Errorf("%w: WithSize got %T, want func(%T) int", ErrInvalid, cfg.size, *new(T))
		}
	}
	if cfg.maxBytes > 0 && b.size == nil {
		return nil, fmt.Errorf("%w: WithMaxBytes needs WithSize", ErrInvalid)
	}
	if cfg.deadLetter != nil {
		if b.deadLetter, ok = cfg.deadLetter.(func(context.Context, []T, error)); !ok {
			return nil, fmt.Errorf("%w: WithDeadLetter got %T, want func(context.Context, []%T, error)", ErrInvalid, cfg.deadLetter, *new(T))
		}
	}
	if !cfg.shardsSet {
		cfg.shards = 1
		if b.key != nil || b.keyHash != nil {
			cfg.shards = DefaultKeyShards
		}
	}
	if !cfg.queueSet {
		cfg.queue = 64 * min(cfg.maxItems, 1<<20) // no overflow for huge max items
	}
	b.cfg = cfg
	n := cfg.shards
	if n&(n-1) == 0 {
		b.mask = uint64(n - 1)
	}
	b.shards = make([]*shard[T], n)
	for i := range b.shards {
		b.shards[i] = newShard(b)
	}
	b.running.Store(int32(n))
	for _, s := range b.shards {
		go s.run()
	}
	return b, nil
}

// pick returns the shard of item (keyed) or a random shard (unkeyed).
func (b *Batcher[T]) pick(item T) *shard[T] {
	n := len(b.shards)
	if n == 1 {
		return b.shards[0]
	}
	var h uint64
	switch {
	case b.key != nil:
		h = maphash.String(b.seed, b.key(item))
	case b.keyHash != nil:
		h = mix(b.keyHash(item))
	default:
		hp, _ := b.hints.Get().(*uint64)
		if hp == nil {
			hp = new(uint64)
			*hp = b.rr.Add(1)
		}
		h = *hp
		b.hints.Put(hp)
	}
	if b.mask != 0 {
		return b.shards[h&b.mask]
	}
	return b.shards[h%uint64(n)]
}

func (b *Batcher[T]) itemSize(item T) (int, error) {
	if b.size == nil {
		return 0, nil
	}
	sz := b.size(item)
	if sz < 0 {
		return 0, fmt.Errorf("%w: %d", ErrNegativeSize, sz)
	}
	return sz, nil
}

// Add accepts item for delivery, fire-and-forget: a failure of its batch goes to
// the dead-letter callback, the error handler and Stats, not to the caller. If the
// item's shard is full, Add blocks until there is room, ctx ends (ctx.Err()) or the
// batcher is closed (ErrClosed). ctx only bounds that wait. A nil error means the
// item will be flushed exactly once (or dead-lettered), even across Close.
func (b *Batcher[T]) Add(ctx context.Context, item T) error {
	if b.closing.Load() {
		return ErrClosed
	}
	_, err := b.add(ctx, item, true, false)
	return err
}

// TryAdd is Add without waiting: it returns ErrFull when the shard is full.
func (b *Batcher[T]) TryAdd(item T) error {
	if b.closing.Load() {
		return ErrClosed
	}
	_, err := b.add(nil, item, false, false)
	return err
}

// Submit is Add returning a Future that reports the item's flush result: the final
// error of the batch it was flushed in, or the item's own entry when the flush
// function returns ItemErrors. The Future costs no allocation per item.
func (b *Batcher[T]) Submit(ctx context.Context, item T) (Future, error) {
	if b.closing.Load() {
		return Future{}, ErrClosed
	}
	return b.add(ctx, item, true, true)
}

// TrySubmit is Submit without waiting: it returns ErrFull when the shard is full.
func (b *Batcher[T]) TrySubmit(item T) (Future, error) {
	if b.closing.Load() {
		return Future{}, ErrClosed
	}
	return b.add(nil, item, false, true)
}

func (b *Batcher[T]) add(ctx context.Context, item T, block, future bool) (Future, error) {
	sz, err := b.itemSize(item)
	if err != nil {
		return Future{}, err
	}
	s := b.pick(item)
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return Future{}, ErrClosed
		}
		if s.depth < b.cfg.queue {
			bt := s.appendLocked(item, sz)
			var f Future
			if future {
				f = Future{&bt.outcome, len(bt.items) - 1}
				if bt.done == nil {
					bt.done = make(chan struct{})
				}
			}
			s.mu.Unlock()
			return f, nil
		}
		if !block {
			s.stats.rejected++
			s.mu.Unlock()
			return Future{}, ErrFull
		}
		space := s.spaceLocked()
		s.mu.Unlock()
		if ctx == nil {
			ctx = context.Background()
		}
		select {
		case <-space:
		case <-ctx.Done():
			s.mu.Lock()
			s.stats.rejected++
			s.mu.Unlock()
			return Future{}, ctx.Err()
		}
	}
}

// AddMany accepts items in order, fire-and-forget, taking each shard's lock once
// per run of items rather than once per item: this is the fast path for producers
// that already hold a slice (a consumed Kafka poll, a bulk HTTP request). It blocks
// like Add and returns how many leading items were accepted; on error, items[n:]
// were not.
func (b *Batcher[T]) AddMany(ctx context.Context, items []T) (int, error) {
	if b.closing.Load() {
		return 0, ErrClosed
	}
	if b.key != nil || b.keyHash != nil || b.size != nil {
		// Keyed or sized: items may route to different shards / need a size each.
		for i := range items {
			if _, err := b.add(ctx, items[i], true, false); err != nil {
				return i, err
			}
		}
		return len(items), nil
	}
	var zero T
	s := b.pick(zero)
	n, err := b.addRun(ctx, s, items, time.Time{}, true)
	if err != nil && err != ErrClosed {
		s.mu.Lock()
		s.stats.rejected += uint64(len(items) - n)
		s.mu.Unlock()
	}
	return n, err
}

// addRun appends unsized, unkeyed items to s in order, one lock per run that
// fits. first, if set, is when the oldest item arrived (a producer's buffer): the
// shard's max-wait clock starts there.
func (b *Batcher[T]) addRun(ctx context.Context, s *shard[T], items []T, first time.Time, block bool) (int, error) {
	n := 0
	for n < len(items) {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return n, ErrClosed
		}
		room := b.cfg.queue - s.depth
		if room > 0 {
			end := min(len(items), n+room)
			s.appendManyLocked(items[n:end], first)
			n = end
			s.mu.Unlock()
			continue
		}
		if !block {
			s.mu.Unlock()
			return n, ErrFull
		}
		space := s.spaceLocked()
		s.mu.Unlock()
		if ctx == nil {
			ctx = context.Background()
		}
		select {
		case <-space:
		case <-ctx.Done():
			return n, ctx.Err()
		}
	}
	return n, nil
}

// Flush seals every shard's pending batch and waits until every item accepted
// before the call has finished (delivered or dead-lettered), or ctx ends. After
// Close it returns ErrClosed.
func (b *Batcher[T]) Flush(ctx context.Context) error {
	if b.closing.Load() {
		return ErrClosed
	}
	if err := b.flushProducers(ctx); err != nil {
		return err
	}
	waits := make([]chan struct{}, 0, len(b.shards))
	for _, s := range b.shards {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return ErrClosed
		}
		if s.cur != nil {
			s.sealLocked()
		}
		if s.last != nil {
			if s.last.done == nil {
				s.last.done = make(chan struct{})
			}
			waits = append(waits, s.last.done)
		}
		s.mu.Unlock()
	}
	if ctx == nil {
		ctx = context.Background()
	}
	for _, w := range waits {
		select {
		case <-w:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// Close refuses new items (ErrClosed), flushes every accepted one and waits for the
// shard goroutines to exit. If ctx ends first Close returns ctx.Err(), but the
// draining goes on in the background; call Close again to wait for it. Close is
// idempotent and returns nil once everything is drained.
func (b *Batcher[T]) Close(ctx context.Context) error {
	if b.closing.CompareAndSwap(false, true) {
		// Producers' buffers must reach the shards before the shards close; that
		// can wait on a slow sink, so it runs apart from ctx: an early return of
		// Close never abandons accepted items.
		go func() {
			b.drainProducers()
			for _, s := range b.shards {
				s.mu.Lock()
				s.closed = true
				if s.cur != nil {
					s.sealLocked()
				}
				if s.space != nil {
					close(s.space) // wake blocked Adds: they see closed and return ErrClosed
					s.space = nil
				}
				s.kickLocked()
				s.mu.Unlock()
			}
		}()
	}
	if ctx == nil {
		ctx = context.Background()
	}
	select {
	case <-b.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Stats returns a snapshot of the counters summed over all shards.
func (b *Batcher[T]) Stats() Stats {
	st := newStats(len(b.shards))
	for _, s := range b.shards {
		s.mu.Lock()
		st.add(&s.stats)
		st.QueueDepth += s.depth
		s.mu.Unlock()
	}
	if st.Batches > 0 {
		st.FlushLatencyMean /= time.Duration(st.Batches)
	}
	return st
}

// mix is the SplitMix64 finalizer: it spreads sequential or low-entropy ids over
// all bits so that id % shards is balanced.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
