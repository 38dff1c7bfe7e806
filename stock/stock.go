package stock

import (
	_ "embed"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

var (
	//go:embed apply.lua
	applySrc string
	//go:embed settle.lua
	settleSrc string
	//go:embed load.lua
	loadSrc string
	//go:embed snapshot.lua
	snapshotSrc string
)

// Stock is an inventory on Redis. It is safe for concurrent use. Create it with New.
type Stock struct {
	rdb redis.UniversalClient
	cfg config
	ttl int64 // journal TTL in seconds

	apply, settle, load, snapshot *redis.Script

	gate *gate
	comb *combiner

	closed atomic.Bool
	st     counters
}

// New returns a Stock on rdb (a *redis.Client, *redis.ClusterClient, ...). The options
// are validated; a bad one returns ErrInvalid.
func New(rdb redis.UniversalClient, opts ...Option) (*Stock, error) {
	cfg := defaults()
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if rdb == nil {
		return nil, errorf("nil redis client")
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &Stock{
		rdb:      rdb,
		cfg:      cfg,
		ttl:      int64(cfg.journalTTL / time.Second),
		apply:    redis.NewScript(applySrc),
		settle:   redis.NewScript(settleSrc),
		load:     redis.NewScript(loadSrc),
		snapshot: redis.NewScript(snapshotSrc),
	}
	if cfg.gateTTL > 0 {
		s.gate = newGate(cfg.gateTTL)
	}
	if cfg.combineMax > 0 {
		s.comb = newCombiner(s, cfg.combineMax, cfg.combineWait)
	}
	return s, nil
}

// Close stops accepting calls and waits for combined calls in flight to finish.
// It does not close the Redis client.
func (s *Stock) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	if s.comb != nil {
		s.comb.close()
	}
	return nil
}

// Key layout (see doc.go): everything of a group shares the hash tag {group}.
func (s *Stock) base(group string) string { return s.cfg.prefix + "stock:{" + group + "}:" }

func (s *Stock) journalKey(group string) string { return s.base(group) + "j" }
func (s *Stock) outboxKey(group string) string  { return s.base(group) + "o" }
func (s *Stock) skuKey(group, sku string) string {
	return s.base(group) + "s:" + sku
}
func (s *Stock) userKey(group, sku string) string { return s.base(group) + "u:" + sku }
func (s *Stock) skusKey(group string) string      { return s.base(group) + "skus" }

// Item is a quantity of one SKU.
type Item struct {
	SKU string
	Qty int64
}

// Op is one deduct or reserve: an op id that makes it idempotent, the buyer (needed
// when a SKU has a per-user limit; may be empty otherwise) and its items. All items
// must be in one group.
type Op struct {
	ID    string
	User  string
	Items []Item
	// Retry marks a repeat of an op whose first outcome is unknown (a timeout): it
	// bypasses the local sold-out gate so that the journal answers. Without it, a gated
	// SKU answers ErrSoldOut+ErrGated even if an earlier attempt of this op id sold.
	Retry bool
}

// SKUConfig is the per-SKU configuration set by Load.
type SKUConfig struct {
	// Safety stock: units that sales never take (available never drops below it).
	Safety int64
	// LowThreshold: results carry LowStock when available falls to or below it (0: off).
	LowThreshold int64
	// UserLimit: the most units one user may hold of this SKU (0: no limit).
	UserLimit int64
}

// State is the journaled state of an op.
type State byte

// Op states as written in the journal.
const (
	StateUnknown   State = 0
	StateDeducted  State = 'D' // sold directly by Deduct
	StateReserved  State = 'R' // reserved, unpaid
	StateConfirmed State = 'C' // reserved, then paid
	StateReleased  State = 'L' // reserved, then released (stock back on sale)
	StateReverted  State = 'V' // compensated by Revert
	StateTombstone State = 'T' // reverted/checked back before it arrived: refused forever
	StateStockIn   State = 'I' // a Load or Restock
	StatePassed    State = 'P' // a hot-SKU bucket refused the op for lack of stock (final there)
	StateMovedOut  State = 'O' // units moved out of a hot-SKU bucket by Rebalance
)

func (st State) String() string {
	switch st {
	case StateDeducted:
		return "deducted"
	case StateReserved:
		return "reserved"
	case StateConfirmed:
		return "confirmed"
	case StateReleased:
		return "released"
	case StateReverted:
		return "reverted"
	case StateTombstone:
		return "tombstone"
	case StateStockIn:
		return "stock-in"
	case StatePassed:
		return "passed"
	case StateMovedOut:
		return "moved-out"
	}
	return "unknown"
}

// Applied reports whether the op's stock movement is in effect (sold, reserved, paid).
func (st State) Applied() bool {
	return st == StateDeducted || st == StateReserved || st == StateConfirmed || st == StateStockIn
}

// Result describes what a call did or found.
type Result struct {
	Op        string
	State     State  // the op's state after the call
	Duplicate bool   // the call changed nothing: the op id was already in this state (or beyond)
	LowStock  bool   // available of an item is at or below its low-stock threshold
	Remaining int64  // sellable units left of the SKU that decided the call; -1 if not known
	User      string // from the journal entry
	Items     []Item // from the journal entry
	Time      time.Time
}

// Stats is a snapshot of what a Stock did since New.
type Stats struct {
	Calls        uint64 // Deduct + Reserve calls
	Applied      uint64 // deducts/reserves that took stock
	Duplicates   uint64 // calls answered from the journal
	SoldOut      uint64 // ErrSoldOut, from Redis or from the gate
	GateRejects  uint64 // ErrSoldOut answered by the local gate, no round trip
	Rejected     uint64 // safety stock, over limit, user required, unknown SKU, reverted
	Errors       uint64 // I/O or script errors (the op's outcome is unknown: CheckBack it)
	Settles      uint64 // Confirm/Release/Revert/CheckBack calls
	Tombstones   uint64 // tombstones written
	ScriptCalls  uint64 // apply script calls (a combined batch is one)
	BatchedOps   uint64 // ops sent in apply script calls
	MaxBatch     uint64 // largest batch sent
	InvalidCalls uint64 // rejected before I/O
}

type counters struct {
	calls, applied, dups, soldOut, gate, rejected, errors, settles, tombs,
	scripts, batched, maxBatch, invalid atomic.Uint64
}

// Stats returns a snapshot of the counters.
func (s *Stock) Stats() Stats {
	c := &s.st
	return Stats{
		Calls: c.calls.Load(), Applied: c.applied.Load(), Duplicates: c.dups.Load(),
		SoldOut: c.soldOut.Load(), GateRejects: c.gate.Load(), Rejected: c.rejected.Load(),
		Errors: c.errors.Load(), Settles: c.settles.Load(), Tombstones: c.tombs.Load(),
		ScriptCalls: c.scripts.Load(), BatchedOps: c.batched.Load(), MaxBatch: c.maxBatch.Load(),
		InvalidCalls: c.invalid.Load(),
	}
}

func (c *counters) noteBatch(n int) {
	c.scripts.Add(1)
	c.batched.Add(uint64(n))
	for {
		m := c.maxBatch.Load()
		if uint64(n) <= m || c.maxBatch.CompareAndSwap(m, uint64(n)) {
			return
		}
	}
}
