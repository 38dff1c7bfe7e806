package ratelimit

import (
	"maps"
	"sync"
	"sync/atomic"
)

// limits resolves the limit of a key: a per-key override (hot parameter) or the
// default. Reads are lock-free (copy-on-write map) because every decision reads
// and overrides change rarely.
type limits struct {
	def Limit
	mu  sync.Mutex // serialises writers
	m   atomic.Pointer[map[string]Limit]
}

func newLimits(def Limit, init map[string]Limit) *limits {
	l := &limits{def: def}
	m := maps.Clone(init)
	if m == nil {
		m = map[string]Limit{}
	}
	l.m.Store(&m)
	return l
}

func (l *limits) get(key string) Limit {
	if m := *l.m.Load(); len(m) > 0 {
		if v, ok := m[key]; ok {
			return v
		}
	}
	return l.def
}

func (l *limits) set(key string, v Limit) error {
	if err := validKey(key); err != nil {
		return err
	}
	if err := v.Validate(); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	m := maps.Clone(*l.m.Load())
	m[key] = v
	l.m.Store(&m)
	return nil
}

func (l *limits) del(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	m := maps.Clone(*l.m.Load())
	delete(m, key)
	l.m.Store(&m)
}

func (l *limits) snapshot() map[string]Limit { return maps.Clone(*l.m.Load()) }
