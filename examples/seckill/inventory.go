package main

import (
	"context"
	"errors"
	"time"
)

// Inventory is the stock seam of the service. Everything the HTTP layer needs from
// inventory goes through it so the surge stock package can be dropped in as the
// implementation (see inventory_lua.go for the status of that wiring).
type Inventory interface {
	// Create loads a sale's stock once (a repeated Create for the same sale is a no-op).
	Create(ctx context.Context, sale string, qty, perUser int64) error
	// Restock adds qty under op; a repeated op adds nothing.
	Restock(ctx context.Context, sale, op string, qty int64) error
	// Reserve takes one unit for user under op. A repeated op returns the first outcome
	// with Duplicate set, so a retried buy maps to the same order.
	Reserve(ctx context.Context, sale, op, user string) (Reservation, error)
	// Confirm turns a reservation into a sale (payment). ErrReleased if it timed out.
	Confirm(ctx context.Context, sale, op string) error
	// Release returns a reserved unit to the sale. nil when released now or before;
	// ErrPaid when the order was confirmed (nothing to release).
	Release(ctx context.Context, sale, op string) error
	// Counts reads the sale's counters.
	Counts(ctx context.Context, sale string) (Counts, error)
	// State reads the journal state of op ("" when unknown).
	State(ctx context.Context, sale, op string) (state, user string, err error)
	// Outbox reads applied operations (reserve/confirm/release) of a sale, at least once.
	Outbox() Outbox
	// Stats is a snapshot of counters for /metrics.
	Stats() map[string]int64
}

// Outbox delivers every applied stock operation to a handler at least once, in
// stream order per sale; the handler must be idempotent by op id.
type Outbox interface {
	Run(ctx context.Context, sale string, handle func(context.Context, []Event) error) error
}

// Event is one applied stock operation as read from the outbox.
type Event struct {
	Type string // reserve | confirm | release
	Sale string
	Op   string
	User string
	Qty  int64
	At   time.Time
}

// Reservation is the outcome of Reserve.
type Reservation struct {
	Outcome   Outcome
	Duplicate bool // op seen before; Outcome is what happened the first time
	State     string
}

// Outcome of a reserve attempt.
type Outcome int

const (
	Reserved Outcome = iota
	SoldOut
	OverLimit
	NoSale
)

func (o Outcome) String() string {
	switch o {
	case Reserved:
		return "reserved"
	case SoldOut:
		return "sold_out"
	case OverLimit:
		return "limit"
	case NoSale:
		return "no_sale"
	}
	return "unknown"
}

// Counts are a sale's stock counters in Redis.
type Counts struct {
	Available, Reserved, Sold int64
}

var (
	// ErrReleased: the order timed out (or was cancelled) before payment.
	ErrReleased = errors.New("seckill: order released")
	// ErrPaid: the order is already paid.
	ErrPaid = errors.New("seckill: order already paid")
	// ErrUnknownOrder: no such reservation.
	ErrUnknownOrder = errors.New("seckill: unknown order")
)
