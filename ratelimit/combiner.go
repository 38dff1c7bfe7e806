package ratelimit

import (
	"context"
	"sync"
)

// call is one pending Redis decision.
type call struct {
	key  string
	args []any
	res  []int64
	err  error
	// wake receives nil when res/err are set, or the batch this call must now
	// flush as the leader.
	wake  chan []*call
	state int // callQueued, callBatched (guarded by combiner.mu)
}

const (
	callQueued = iota
	callBatched
)

// combiner turns concurrent decisions into pipelines without a background
// goroutine: a caller that finds a free lane flushes everything queued (its own
// call included) in one round trip; calls arriving meanwhile queue up, and when
// the round trip ends the leader hands the queued batch to one of its callers,
// which flushes it in turn. A lone caller therefore pays one plain round trip,
// and under load each round trip carries many decisions.
type combiner struct {
	lanes int
	flush func(ctx context.Context, batch []*call)

	mu       sync.Mutex
	pending  []*call
	inflight int
}

func (c *combiner) do(ctx context.Context, cl *call) {
	cl.wake = make(chan []*call, 1)
	c.mu.Lock()
	c.pending = append(c.pending, cl)
	if c.inflight < c.lanes {
		c.inflight++
		batch := c.take()
		c.mu.Unlock()
		c.lead(ctx, batch)
	} else {
		c.mu.Unlock()
	}
	for {
		select {
		case batch := <-cl.wake:
			if batch == nil {
				return
			}
			c.lead(ctx, batch)
		case <-ctx.Done():
			c.mu.Lock()
			if cl.state == callQueued {
				for i, p := range c.pending {
					if p == cl {
						c.pending = append(c.pending[:i], c.pending[i+1:]...)
						break
					}
				}
				c.mu.Unlock()
				cl.err = ctx.Err()
				return
			}
			c.mu.Unlock()
			// Already in a batch: its result (or the leadership of the next
			// batch, which must not be dropped) is on the way within one round
			// trip, bounded by the client's timeouts.
			ctx = context.WithoutCancel(ctx)
		}
	}
}

// take removes the queued calls as one batch; c.mu must be held.
func (c *combiner) take() []*call {
	b := c.pending
	c.pending = nil
	for _, p := range b {
		p.state = callBatched
	}
	return b
}

// lead flushes batch, then either hands the next queued batch to one of its calls
// or releases the lane.
func (c *combiner) lead(ctx context.Context, batch []*call) {
	// The round trip serves other callers too: one caller's cancellation must
	// not fail theirs. The client's read/write timeouts bound it.
	c.flush(context.WithoutCancel(ctx), batch)
	c.mu.Lock()
	var next []*call
	if len(c.pending) > 0 {
		next = c.take()
	} else {
		c.inflight--
	}
	c.mu.Unlock()
	if next != nil { // start the next round trip before waking this batch
		next[0].wake <- next
	}
	for _, cl := range batch {
		cl.wake <- nil
	}
}
