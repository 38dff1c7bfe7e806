package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/surgekit/surge/stock"
)

// inventory adapts surge stock to the sale model: one SKU (and so one hash tag, one
// journal and one outbox stream) per sale; an order is a Reserve whose op id is the
// order id; payment is Confirm; the pay timeout is Release.
type inventory struct {
	st *stock.Stock
}

func newInventory(rdb redis.UniversalClient, prefix string, gateTTL time.Duration) (*inventory, error) {
	st, err := stock.New(rdb,
		stock.WithPrefix(prefix),
		stock.WithSoldOutGate(gateTTL),          // a sold-out sale costs no Redis round trip
		stock.WithCombiner(256, 10*time.Second), // concurrent reserves share one script call
	)
	if err != nil {
		return nil, err
	}
	return &inventory{st: st}, nil
}

// Reservation is the outcome of Reserve.
type Reservation struct {
	Outcome   Outcome
	Duplicate bool // op seen before; this is what happened the first time
}

// Outcome of a reserve attempt.
type Outcome int

const (
	Reserved Outcome = iota
	SoldOut
	OverLimit
	NoSale
	Expired // the op id was released or reverted: that click is over
)

// Counts are a sale's stock counters in Redis.
type Counts struct {
	Available, Reserved, Sold, Total int64
}

var (
	// ErrReleased: the order timed out (or was cancelled) before payment.
	ErrReleased = errors.New("seckill: order released")
	// ErrPaid: the order is already paid.
	ErrPaid = errors.New("seckill: order already paid")
	// ErrUnknownOrder: no such order.
	ErrUnknownOrder = errors.New("seckill: unknown order")
)

// Create loads a sale's stock once; a repeat is a no-op.
func (v *inventory) Create(ctx context.Context, sale string, qty, perUser int64) error {
	_, err := v.st.Load(ctx, "load:"+sale, sale, qty, stock.SKUConfig{UserLimit: perUser})
	if errors.Is(err, stock.ErrExists) {
		return nil
	}
	return err
}

// Restock adds qty under op; a repeated op adds nothing.
func (v *inventory) Restock(ctx context.Context, sale, op string, qty int64) error {
	_, err := v.st.Restock(ctx, "restock:"+op, sale, qty)
	if errors.Is(err, stock.ErrUnknownSKU) {
		return ErrUnknownSale
	}
	return err
}

// Reserve takes one unit for user under op. retry bypasses the local gate so that the
// journal answers for an op whose first attempt had an unknown outcome.
func (v *inventory) Reserve(ctx context.Context, sale, op, user string, retry bool) (Reservation, error) {
	r, err := v.st.Reserve(ctx, stock.Op{ID: op, User: user, Items: []stock.Item{{SKU: sale, Qty: 1}}, Retry: retry})
	switch {
	case err == nil:
		return Reservation{Outcome: Reserved, Duplicate: r.Duplicate}, nil
	case errors.Is(err, stock.ErrSoldOut), errors.Is(err, stock.ErrSafetyStock):
		return Reservation{Outcome: SoldOut}, nil
	case errors.Is(err, stock.ErrOverLimit):
		return Reservation{Outcome: OverLimit}, nil
	case errors.Is(err, stock.ErrUnknownSKU):
		return Reservation{Outcome: NoSale}, nil
	case errors.Is(err, stock.ErrReverted):
		return Reservation{Outcome: Expired}, nil
	}
	return Reservation{}, err
}

// Confirm turns a reservation into a sale (payment).
func (v *inventory) Confirm(ctx context.Context, sale, op string) error {
	r, err := v.st.Confirm(ctx, sale, op)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, stock.ErrUnknownOp):
		return ErrUnknownOrder
	case errors.Is(err, stock.ErrBadState):
		if r.State == stock.StateConfirmed {
			return nil
		}
		return ErrReleased
	}
	return err
}

// Release returns a reserved unit to the sale: released reports whether this call
// did it (false: released before, e.g. by another instance's worker); ErrPaid when
// the order was paid.
func (v *inventory) Release(ctx context.Context, sale, op string) (released bool, err error) {
	r, err := v.st.Release(ctx, sale, op)
	if errors.Is(err, stock.ErrBadState) {
		if r.State == stock.StateConfirmed || r.State == stock.StateDeducted {
			return false, ErrPaid
		}
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return !r.Duplicate, nil
}

// Counts reads the sale's counters.
func (v *inventory) Counts(ctx context.Context, sale string) (Counts, error) {
	l, err := v.st.Levels(ctx, sale)
	if errors.Is(err, stock.ErrUnknownSKU) {
		return Counts{}, ErrUnknownSale
	}
	if err != nil {
		return Counts{}, err
	}
	return Counts{Available: l.Available, Reserved: l.Reserved, Sold: l.Sold, Total: l.Total}, nil
}

// Event is one applied order operation as read from the stock outbox.
type Event struct {
	Type string // reserve | confirm | release
	Sale string
	Op   string
	User string
	Qty  int64
	At   time.Time
}

// eventOf maps a stock outbox event to an order event (ok=false: not an order event,
// e.g. the Load or a Restock).
func eventOf(ev stock.Event) (Event, bool) {
	var t string
	switch ev.State {
	case stock.StateReserved:
		t = "reserve"
	case stock.StateConfirmed:
		t = "confirm"
	case stock.StateReleased, stock.StateReverted:
		t = "release"
	default:
		return Event{}, false
	}
	var qty int64
	for _, it := range ev.Items {
		qty += it.Qty
	}
	return Event{Type: t, Sale: ev.Group, Op: ev.Op, User: ev.User, Qty: qty, At: ev.Time}, true
}

func (v *inventory) Stats() map[string]int64 {
	s := v.st.Stats()
	return map[string]int64{
		"calls": int64(s.Calls), "applied": int64(s.Applied), "duplicates": int64(s.Duplicates),
		"sold_out": int64(s.SoldOut), "gate_rejects": int64(s.GateRejects), "rejected": int64(s.Rejected),
		"errors": int64(s.Errors), "settles": int64(s.Settles), "tombstones": int64(s.Tombstones),
		"script_calls": int64(s.ScriptCalls), "batched_ops": int64(s.BatchedOps), "max_batch": int64(s.MaxBatch),
		"invalid_calls": int64(s.InvalidCalls),
	}
}

func (v *inventory) String() string { return fmt.Sprintf("stock(%p)", v.st) }
