package stock

import (
	"sync"
	"time"
)

// gate is the local sold-out gate: SKUs this process has seen with nothing left to
// sell, each until a deadline, so that a sold-out flash sale costs no round trips.
type gate struct {
	ttl time.Duration
	mu  sync.RWMutex
	m   map[string]time.Time
}

func newGate(ttl time.Duration) *gate { return &gate{ttl: ttl, m: map[string]time.Time{}} }

func (g *gate) closedFor(sku string) bool {
	g.mu.RLock()
	until, ok := g.m[sku]
	g.mu.RUnlock()
	if !ok {
		return false
	}
	if time.Now().Before(until) {
		return true
	}
	// Expired: let calls through again (another process may have restocked).
	g.mu.Lock()
	if u, ok := g.m[sku]; ok && !time.Now().Before(u) {
		delete(g.m, sku)
	}
	g.mu.Unlock()
	return false
}

func (g *gate) close(sku string) {
	g.mu.Lock()
	g.m[sku] = time.Now().Add(g.ttl)
	g.mu.Unlock()
}

func (g *gate) reopen(sku string) {
	g.mu.Lock()
	delete(g.m, sku)
	g.mu.Unlock()
}

// Reopen opens the local sold-out gate of sku at once (e.g. after another process
// restocked it). It is a no-op without WithSoldOutGate.
func (s *Stock) Reopen(sku string) {
	if s.gate != nil {
		s.gate.reopen(sku)
	}
}

// GateClosed reports whether the local sold-out gate currently rejects sku.
func (s *Stock) GateClosed(sku string) bool {
	return s.gate != nil && s.gate.closedFor(sku)
}
