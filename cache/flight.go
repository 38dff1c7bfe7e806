package cache

import (
	"sync"
	"sync/atomic"
)

// flights is an in-process singleflight that knows when sharing a result is
// safe. A plain singleflight hands a load that read the source at time t to
// callers who arrived after t — after a write may have been acknowledged —
// which is a stale read by construction. Here the leader stamps the moment
// it sends the Redis or source operation whose result makes the value fresh
// (validAt); only followers that joined before that stamp share the result,
// later ones start a new flight. Stamps come from one atomic sequence, so
// "before" is exact within the process.
type flights struct {
	mu  sync.Mutex
	m   map[string]*flight
	seq atomic.Int64
}

type flight struct {
	done    chan struct{}
	val     any
	err     error
	validAt atomic.Int64 // followers with a join stamp below this may share
}

// stamp marks the point after which joiners must not share this flight's
// result. Call it right before sending the operation that fixes the value.
func (g *flights) stamp(f *flight) { f.validAt.Store(g.seq.Add(1)) }

// join returns the in-flight call for key and the caller's join stamp, or
// registers a new flight for which the caller is the leader.
func (g *flights) join(key string) (f *flight, stamp int64, leader bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.m == nil {
		g.m = make(map[string]*flight)
	}
	if f, ok := g.m[key]; ok {
		return f, g.seq.Add(1), false
	}
	f = &flight{done: make(chan struct{})}
	g.m[key] = f
	return f, 0, true
}

func (g *flights) finish(key string, f *flight) {
	g.mu.Lock()
	if g.m[key] == f {
		delete(g.m, key)
	}
	g.mu.Unlock()
	close(f.done)
}
