package stock

import (
	"context"
	"sync"
	"time"
)

// combiner merges concurrent Deduct/Reserve calls of one group into one apply script
// call ("smart batching"). While no call of a group is in flight, a request is sent at
// once (low latency when idle); while one is in flight, new requests queue and go out
// together, up to max per call, as soon as it returns (high throughput under load).
// Each op is still journaled and answered on its own: the script runs them in order.
type combiner struct {
	s    *Stock
	max  int
	wait time.Duration

	mu     sync.Mutex
	groups map[string]*cgroup
	closed bool
	wg     sync.WaitGroup
}

type cgroup struct {
	pending []*call
}

type call struct {
	req  request
	done chan answer
}

func newCombiner(s *Stock, max int, wait time.Duration) *combiner {
	return &combiner{s: s, max: max, wait: wait, groups: map[string]*cgroup{}}
}

func (c *combiner) do(ctx context.Context, g string, req request) (Result, error) {
	cl := &call{req: req, done: make(chan answer, 1)}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return Result{Op: req.op.ID, Remaining: -1}, ErrClosed
	}
	grp, inflight := c.groups[g]
	if !inflight {
		// Idle group: this request goes out now, alone or with whatever joins before
		// the sender goroutine takes the queue.
		grp = &cgroup{}
		c.groups[g] = grp
		c.wg.Add(1)
		go c.run(g, grp)
	}
	grp.pending = append(grp.pending, cl)
	c.mu.Unlock()

	select {
	case a := <-cl.done:
		return a.r, a.err
	case <-ctx.Done():
		// The op may still be applied by the batch in flight: its outcome is unknown
		// to this caller, exactly as after a network timeout (CheckBack resolves it).
		c.s.st.errors.Add(1)
		return Result{Op: req.op.ID, Remaining: -1}, ctx.Err()
	}
}

// run sends the queued requests of one group, one script call at a time, until the
// queue is empty; then the group is idle again.
func (c *combiner) run(g string, grp *cgroup) {
	defer c.wg.Done()
	for {
		c.mu.Lock()
		n := len(grp.pending)
		if n == 0 {
			delete(c.groups, g)
			c.mu.Unlock()
			return
		}
		if n > c.max {
			n = c.max
		}
		batch := grp.pending[:n:n]
		grp.pending = grp.pending[n:]
		c.mu.Unlock()

		reqs := make([]request, len(batch))
		for i, cl := range batch {
			reqs[i] = cl.req
		}
		ctx, cancel := context.WithTimeout(context.Background(), c.wait)
		out, err := c.s.runApply(ctx, g, reqs)
		cancel()
		for i, cl := range batch {
			if err != nil {
				cl.done <- answer{r: Result{Op: cl.req.op.ID, Remaining: -1}, err: err}
			} else {
				cl.done <- out[i]
			}
		}
	}
}

// close refuses new requests and waits until every queued one is answered.
func (c *combiner) close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.wg.Wait()
}
