package stock

import "errors"

// Sentinel errors. Test them with errors.Is; the messages may carry detail.
var (
	// ErrInvalid is returned, before any I/O, for bad input: an empty or oversized id,
	// a quantity ≤ 0, a SKU name with reserved characters, items of different groups.
	ErrInvalid = errors.New("stock: invalid argument")
	// ErrMixedGroups (also ErrInvalid) is returned when one op names SKUs of different
	// groups: they live under different hash tags, so one script cannot touch them all.
	ErrMixedGroups = errors.New("stock: items belong to different groups")
	// ErrSoldOut means the stock that may be sold is smaller than the quantity asked for.
	ErrSoldOut = errors.New("stock: sold out")
	// ErrGated (with ErrSoldOut) is returned by the local sold-out gate without asking
	// Redis: this call sold nothing. It says nothing about an earlier attempt of the
	// same op id; set Op.Retry (or use CheckBack) to ask the journal.
	ErrGated = errors.New("stock: rejected by the local sold-out gate")
	// ErrSafetyStock means there is stock, but selling it would dip into the safety stock.
	ErrSafetyStock = errors.New("stock: would dip into safety stock")
	// ErrOverLimit means the per-user purchase limit (限购) of a SKU would be exceeded.
	ErrOverLimit = errors.New("stock: per-user limit exceeded")
	// ErrUserRequired means a SKU has a per-user limit and the op carries no user.
	ErrUserRequired = errors.New("stock: SKU has a per-user limit; op needs a user")
	// ErrUnknownSKU means the SKU was never loaded.
	ErrUnknownSKU = errors.New("stock: unknown SKU")
	// ErrExists is returned by Load for a SKU that already exists (use Restock).
	ErrExists = errors.New("stock: SKU already exists")
	// ErrReverted means the op was reverted, released or tombstoned: it has no effect,
	// and a deduct or reserve arriving with its id is refused.
	ErrReverted = errors.New("stock: op was reverted or compensated")
	// ErrUnknownOp is returned by Confirm for an op id with no journal entry.
	ErrUnknownOp = errors.New("stock: unknown op")
	// ErrBadState means the transition is not allowed from the op's state (e.g.
	// Confirm after Release). Result.State holds the state found.
	ErrBadState = errors.New("stock: op is in a state that does not allow this")
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("stock: closed")
)
