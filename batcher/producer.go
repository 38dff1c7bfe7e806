package batcher

import (
	"context"
	"sync"
	"time"
)

// Producer is a front end for one producing goroutine: Add appends to a private
// buffer under a lock that only this producer and the batcher's sweeper take (so
// it stays on the producer's core), and the buffer is handed to the shards in one
// run when it is full. This removes the shared shard lock from the per-item path:
// many goroutines adding one item at a time no longer queue on one mutex.
//
// Items are accepted when Add returns nil: Flush and Close push every producer's
// buffer before they drain the shards, and a sweeper goroutine (started by the
// first NewProducer, stopped by Close) pushes buffers that have waited a quarter
// of the max wait, so a partly filled buffer still meets the max wait (unkeyed
// batchers keep the buffer's first-item time; with a key or size function the
// shard's clock starts at the push, adding up to half the max wait).
//
// A Producer is safe for concurrent use, but it is meant for one long-lived
// goroutine (a consumer loop, a worker): create it once, not per request, and
// Close it when the goroutine ends.
type Producer[T any] struct {
	b      *Batcher[T]
	mu     sync.Mutex
	buf    []T
	first  time.Time
	closed bool
}

// NewProducer returns a Producer buffering up to size items (1..65536; 0 means
// 64). It returns ErrClosed after Close.
func (b *Batcher[T]) NewProducer(size int) (*Producer[T], error) {
	if size == 0 {
		size = 64
	}
	if size < 1 || size > 1<<16 {
		return nil, ErrInvalid
	}
	p := &Producer[T]{b: b, buf: make([]T, 0, size)}
	b.pmu.Lock()
	defer b.pmu.Unlock()
	if b.closing.Load() {
		return nil, ErrClosed
	}
	if b.producers == nil {
		b.producers = map[*Producer[T]]struct{}{}
		b.sweepStop = make(chan struct{})
		b.sweepDone = make(chan struct{})
		go b.sweep()
	}
	b.producers[p] = struct{}{}
	return p, nil
}

// Add accepts item into the producer's buffer. When the buffer is full it is
// pushed to the shards first, which blocks like Batcher.Add while they are full;
// if ctx ends then, Add returns ctx.Err() and item is not accepted (the buffered
// items still are). After Close or Producer.Close it returns ErrClosed.
func (p *Producer[T]) Add(ctx context.Context, item T) error {
	if p.b.closing.Load() {
		// Checked before the lock so that, once Close starts, producers stop
		// competing with its drain for queue room. An Add that got past this
		// check finishes under p.mu before the drain takes it, so it is drained.
		return ErrClosed
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrClosed
	}
	if len(p.buf) == cap(p.buf) {
		if err := p.pushLocked(ctx, true); err != nil {
			return err
		}
	}
	if p.b.size != nil {
		if _, err := p.b.itemSize(item); err != nil {
			return err
		}
	}
	if len(p.buf) == 0 {
		p.first = time.Now()
	}
	p.buf = append(p.buf, item)
	if len(p.buf) == cap(p.buf) {
		_ = p.pushLocked(nil, false) // best effort; the next Add waits if needed
	}
	return nil
}

// Flush pushes the buffer to the shards (waiting for room, bounded by ctx). It
// does not wait for delivery; Batcher.Flush does.
func (p *Producer[T]) Flush(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pushLocked(ctx, true)
}

// Close pushes the buffer and detaches the producer; later Adds return ErrClosed.
func (p *Producer[T]) Close(ctx context.Context) error {
	p.mu.Lock()
	err := p.pushLocked(ctx, true)
	if err == nil {
		p.closed = true
	}
	p.mu.Unlock()
	if err == nil {
		p.b.pmu.Lock()
		delete(p.b.producers, p)
		p.b.pmu.Unlock()
	}
	return err
}

// pushLocked hands the buffer to the shards, keeping what they refused.
func (p *Producer[T]) pushLocked(ctx context.Context, block bool) error {
	if len(p.buf) == 0 {
		return nil
	}
	n, err := p.b.push(ctx, p.buf, p.first, block)
	rest := copy(p.buf, p.buf[n:])
	clear(p.buf[rest:])
	p.buf = p.buf[:rest]
	return err
}

// push delivers items into the shards, bypassing the closing check (Close drains
// producers before it closes the shards). It returns how many were accepted.
func (b *Batcher[T]) push(ctx context.Context, items []T, first time.Time, block bool) (int, error) {
	if b.key != nil || b.keyHash != nil || b.size != nil {
		for i := range items {
			if _, err := b.add(ctx, items[i], block, false); err != nil {
				return i, err
			}
		}
		return len(items), nil
	}
	var zero T
	return b.addRun(ctx, b.pick(zero), items, first, block)
}

// sweep pushes producer buffers whose first item has waited a quarter of the
// max wait, until Close.
func (b *Batcher[T]) sweep() {
	defer close(b.sweepDone)
	every := max(b.cfg.maxWait/4, time.Microsecond)
	t := time.NewTicker(every)
	defer t.Stop()
	var ps []*Producer[T]
	for {
		select {
		case <-b.sweepStop:
			return
		case <-t.C:
		}
		b.pmu.Lock()
		ps = ps[:0]
		for p := range b.producers {
			ps = append(ps, p)
		}
		b.pmu.Unlock()
		now := time.Now()
		for _, p := range ps {
			if !p.mu.TryLock() {
				continue // adding or pushing right now
			}
			if len(p.buf) > 0 && now.Sub(p.first) >= every {
				_ = p.pushLocked(nil, false)
			}
			p.mu.Unlock()
		}
	}
}

// drainProducers stops the sweeper and pushes every producer's buffer (waiting
// for room), marking producers closed. Called by Close before closing shards.
func (b *Batcher[T]) drainProducers() {
	b.pmu.Lock()
	stop, done := b.sweepStop, b.sweepDone
	ps := make([]*Producer[T], 0, len(b.producers))
	for p := range b.producers {
		ps = append(ps, p)
	}
	b.pmu.Unlock()
	if stop == nil {
		return
	}
	close(stop)
	<-done
	for _, p := range ps {
		p.mu.Lock()
		_ = p.pushLocked(context.Background(), true) // shards are open and draining
		p.closed = true
		p.mu.Unlock()
	}
}

// flushProducers pushes every producer's buffer, for Batcher.Flush.
func (b *Batcher[T]) flushProducers(ctx context.Context) error {
	b.pmu.Lock()
	ps := make([]*Producer[T], 0, len(b.producers))
	for p := range b.producers {
		ps = append(ps, p)
	}
	b.pmu.Unlock()
	for _, p := range ps {
		if err := p.Flush(ctx); err != nil {
			return err
		}
	}
	return nil
}
