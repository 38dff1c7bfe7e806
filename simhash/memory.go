package simhash

import (
	"context"
	"sync"
	"sync/atomic"
)

// MemoryIndex is an in-process Index: k+1 hash tables, one per block, each
// mapping a block value to the entries that have it. A query looks at k+1
// buckets (about n/2^(64/(k+1)) entries each) instead of n entries. Safe for
// concurrent use (readers share a lock).
type MemoryIndex struct {
	b  blocks
	mu sync.RWMutex
	// tables[i][block value] -> entries. The fingerprint is kept in the bucket
	// so that a query scans buckets sequentially and touches ids only on a match.
	tables []map[uint64][]bucketEntry
	fps    []Fingerprint
	ids    []string
	byID   map[string]int32
	free   []int32

	queries, candidates, matches atomic.Int64
}

type bucketEntry struct {
	fp   Fingerprint
	slot int32
}

// MemoryStats is a snapshot of a MemoryIndex.
type MemoryStats struct {
	Len                          int
	Queries, Candidates, Matches int64
}

// NewMemoryIndex returns an empty index for distance k (0..7; 3 is the usual
// choice for 64-bit simhash).
func NewMemoryIndex(k int) (*MemoryIndex, error) {
	b, err := newBlocks(k)
	if err != nil {
		return nil, err
	}
	m := &MemoryIndex{b: b, byID: map[string]int32{}}
	for range b.n {
		m.tables = append(m.tables, map[uint64][]bucketEntry{})
	}
	return m, nil
}

// K is the largest distance a query finds.
func (m *MemoryIndex) K() int { return m.b.n - 1 }

// Add stores fp under id, replacing the previous fingerprint of id.
func (m *MemoryIndex) Add(_ context.Context, id string, fp Fingerprint) error {
	if !validID(id) {
		return ErrInvalidID
	}
	if fp == Empty {
		return ErrEmpty
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if slot, ok := m.byID[id]; ok {
		m.removeLocked(slot)
	}
	var slot int32
	if n := len(m.free); n > 0 {
		slot = m.free[n-1]
		m.free = m.free[:n-1]
		m.fps[slot], m.ids[slot] = fp, id
	} else {
		slot = int32(len(m.fps))
		m.fps = append(m.fps, fp)
		m.ids = append(m.ids, id)
	}
	m.byID[id] = slot
	for i, t := range m.tables {
		v := m.b.value(fp, i)
		t[v] = append(t[v], bucketEntry{fp, slot})
	}
	return nil
}

// Remove deletes id.
func (m *MemoryIndex) Remove(_ context.Context, id string) (bool, error) {
	if !validID(id) {
		return false, ErrInvalidID
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	slot, ok := m.byID[id]
	if ok {
		m.removeLocked(slot)
	}
	return ok, nil
}

func (m *MemoryIndex) removeLocked(slot int32) {
	fp := m.fps[slot]
	for i, t := range m.tables {
		v := m.b.value(fp, i)
		bucket := t[v]
		for j, e := range bucket {
			if e.slot == slot {
				bucket[j] = bucket[len(bucket)-1]
				bucket = bucket[:len(bucket)-1]
				break
			}
		}
		if len(bucket) == 0 {
			delete(t, v)
		} else {
			t[v] = bucket
		}
	}
	delete(m.byID, m.ids[slot])
	m.fps[slot], m.ids[slot] = Empty, ""
	m.free = append(m.free, slot)
}

// Query returns every entry within K bits of fp. Empty matches nothing.
func (m *MemoryIndex) Query(_ context.Context, fp Fingerprint) ([]Match, error) {
	return m.query(fp, nil), nil
}

// AppendQuery is Query appending to dst, for callers that reuse a slice.
func (m *MemoryIndex) AppendQuery(dst []Match, fp Fingerprint) []Match {
	return m.query(fp, dst)
}

func (m *MemoryIndex) query(fp Fingerprint, out []Match) []Match {
	m.queries.Add(1)
	if fp == Empty {
		return out
	}
	k := m.b.n - 1
	cands, before := 0, len(out)
	m.mu.RLock()
	for i, t := range m.tables {
		bucket := t[m.b.value(fp, i)]
		cands += len(bucket)
		for _, e := range bucket {
			if d := Distance(fp, e.fp); d <= k && m.b.firstShared(fp, e.fp) == i {
				out = append(out, Match{ID: m.ids[e.slot], Fingerprint: e.fp, Distance: d})
			}
		}
	}
	m.mu.RUnlock()
	m.candidates.Add(int64(cands))
	m.matches.Add(int64(len(out) - before))
	return out
}

// Len is the number of entries.
func (m *MemoryIndex) Len() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.byID)
}

// Stats returns a snapshot of the counters.
func (m *MemoryIndex) Stats() MemoryStats {
	return MemoryStats{Len: m.Len(), Queries: m.queries.Load(), Candidates: m.candidates.Load(), Matches: m.matches.Load()}
}
