package stock

import (
	"context"
	"fmt"
	"strconv"
)

// Load creates a SKU with qty units (qty may be 0) and its configuration, under op id
// opID. It never overwrites: an existing SKU returns ErrExists (use Restock). A
// repeated opID returns Duplicate.
func (s *Stock) Load(ctx context.Context, opID, sku string, qty int64, cfg SKUConfig) (Result, error) {
	if err := validQty(qty, true); err != nil {
		return s.invalid(err)
	}
	if cfg.Safety < 0 || cfg.LowThreshold < 0 || cfg.UserLimit < 0 ||
		cfg.Safety > maxQty || cfg.LowThreshold > maxQty || cfg.UserLimit > maxQty {
		return s.invalid(errorf("negative or huge SKU config %+v", cfg))
	}
	return s.stockIn(ctx, "load", opID, sku, qty, cfg)
}

// Restock adds qty (> 0) units to an existing SKU with INCRBY, under op id opID, and
// reopens the local sold-out gate of the SKU. A repeated opID returns Duplicate.
func (s *Stock) Restock(ctx context.Context, opID, sku string, qty int64) (Result, error) {
	if err := validQty(qty, false); err != nil {
		return s.invalid(err)
	}
	return s.stockIn(ctx, "restock", opID, sku, qty, SKUConfig{})
}

func (s *Stock) stockIn(ctx context.Context, mode, opID, sku string, qty int64, cfg SKUConfig) (Result, error) {
	if err := validOpID(opID); err != nil {
		return s.invalid(err)
	}
	g, err := s.groupOf(sku)
	if err != nil {
		return s.invalid(err)
	}
	return s.stockInAt(ctx, mode, opID, g, sku, qty, cfg)
}

func (s *Stock) stockInAt(ctx context.Context, mode, opID, g, sku string, qty int64, cfg SKUConfig) (Result, error) {
	if ctx == nil {
		return s.invalid(errorf("nil context"))
	}
	if s.closed.Load() {
		return Result{Op: opID, Remaining: -1}, ErrClosed
	}
	keys := []string{s.journalKey(g), s.outboxKey(g), s.skuKey(g, sku), s.skusKey(g)}
	res, err := s.load.Run(ctx, s.rdb, keys, s.ttl, mode, opID, sku, qty,
		cfg.Safety, cfg.LowThreshold, cfg.UserLimit).Slice()
	if err != nil {
		s.st.errors.Add(1)
		return Result{Op: opID, Remaining: -1}, err
	}
	status, raw := str(res, 0), str(res, 1)
	r := resultFrom(opID, raw)
	r.Remaining = num(res, 2)
	switch status {
	case "ok":
		if s.gate != nil {
			s.gate.reopen(sku)
		}
		return r, nil
	case "dup":
		r.Duplicate = true
		return r, nil
	case "empty":
		return r, nil // "out" found nothing sellable to move
	case "exists":
		return r, fmt.Errorf("%w: %q", ErrExists, sku)
	case "unknown":
		return r, fmt.Errorf("%w: %q", ErrUnknownSKU, sku)
	}
	return r, fmt.Errorf("stock: unexpected load reply %q", status)
}

// Deduct sells the op's items at once (available → sold), all or nothing. A repeated
// op id returns the first outcome with Duplicate set and touches no stock. Business
// refusals are errors: ErrSoldOut, ErrSafetyStock, ErrOverLimit, ErrUserRequired,
// ErrUnknownSKU, ErrReverted (the op id was reverted or tombstoned). Any other error
// (network, timeout) leaves the outcome unknown: resolve it with CheckBack or Revert.
func (s *Stock) Deduct(ctx context.Context, op Op) (Result, error) {
	return s.take(ctx, 'D', op)
}

// Reserve moves the op's items from available to reserved (可用库存 → 预占), all or
// nothing, for an order awaiting payment; Confirm or Release it later. Results and
// errors are as for Deduct.
func (s *Stock) Reserve(ctx context.Context, op Op) (Result, error) {
	return s.take(ctx, 'R', op)
}

type request struct {
	mode  byte
	op    Op
	items []Item
}

func (s *Stock) take(ctx context.Context, mode byte, op Op) (Result, error) {
	s.st.calls.Add(1)
	g, items, err := s.normalize(op)
	if err != nil {
		return s.invalid(err)
	}
	if ctx == nil {
		return s.invalid(errorf("nil context"))
	}
	if s.closed.Load() {
		return Result{Op: op.ID, Remaining: -1}, ErrClosed
	}
	if s.gate != nil && !op.Retry {
		for _, it := range items {
			if s.gate.closedFor(it.SKU) {
				s.st.soldOut.Add(1)
				s.st.gate.Add(1)
				return Result{Op: op.ID, Remaining: 0}, fmt.Errorf("%w: %w: %q", ErrSoldOut, ErrGated, it.SKU)
			}
		}
	}
	return s.exec(ctx, g, request{mode: mode, op: op, items: items})
}

// exec sends one validated request, through the combiner when there is one.
func (s *Stock) exec(ctx context.Context, g string, req request) (Result, error) {
	op := req.op
	if s.comb != nil {
		return s.comb.do(ctx, g, req)
	}
	out, err := s.runApply(ctx, g, []request{req})
	if err != nil {
		return Result{Op: op.ID, Remaining: -1}, err
	}
	return out[0].r, out[0].err
}

type answer struct {
	r   Result
	err error
}

// runApply sends a batch of requests of one group in one script call and answers
// each one. A transport error fails the whole batch (every outcome is unknown).
func (s *Stock) runApply(ctx context.Context, g string, reqs []request) ([]answer, error) {
	idx := map[string]int{}
	var names []string
	for _, rq := range reqs {
		for _, it := range rq.items {
			if _, ok := idx[it.SKU]; !ok {
				idx[it.SKU] = len(names) + 1
				names = append(names, it.SKU)
			}
		}
	}
	keys := make([]string, 0, 2+2*len(names))
	keys = append(keys, s.journalKey(g), s.outboxKey(g))
	args := make([]any, 0, 3+len(names)+len(reqs)*8)
	args = append(args, s.ttl, len(names))
	for _, n := range names {
		keys = append(keys, s.skuKey(g, n), s.userKey(g, n))
		args = append(args, n)
	}
	args = append(args, len(reqs))
	for _, rq := range reqs {
		args = append(args, rq.op.ID, string(rq.mode), rq.op.User, len(rq.items))
		for _, it := range rq.items {
			args = append(args, idx[it.SKU], it.Qty)
		}
	}
	s.st.noteBatch(len(reqs))
	res, err := s.apply.Run(ctx, s.rdb, keys, args...).Slice()
	if err == nil && len(res) != 4*len(reqs) {
		err = fmt.Errorf("stock: apply replied %d values for %d ops", len(res), len(reqs))
	}
	if err != nil {
		s.st.errors.Add(uint64(len(reqs)))
		return nil, err
	}
	out := make([]answer, len(reqs))
	for i, rq := range reqs {
		status, raw := str(res, 4*i), str(res, 4*i+1)
		r, at := Result{Op: rq.op.ID}, raw
		if status == "ok" || status == "dup" {
			r, at = resultFrom(rq.op.ID, raw), ""
		}
		r.LowStock = num(res, 4*i+2) == 1
		r.Remaining = num(res, 4*i+3)
		err := s.applyOutcome(status, rq, &r, at)
		out[i] = answer{r: r, err: err}
	}
	return out, nil
}

// applyOutcome maps a script status to the sentinel error and the counters.
// at is the SKU that refused the op.
func (s *Stock) applyOutcome(status string, rq request, r *Result, at string) error {
	switch status {
	case "ok":
		s.st.applied.Add(1)
		return nil
	case "dup":
		s.st.dups.Add(1)
		r.Duplicate = true
		switch r.State {
		case StateReverted, StateTombstone, StateReleased:
			return fmt.Errorf("%w: op %q is %s", ErrReverted, rq.op.ID, r.State)
		case StatePassed:
			// a hot-SKU bucket that refused this op before: it stays refused here
			return fmt.Errorf("%w: op %q passed this bucket", ErrSoldOut, rq.op.ID)
		}
		return nil
	case "soldout":
		s.st.soldOut.Add(1)
		if s.gate != nil && r.Remaining <= 0 {
			// nothing is left to sell to anyone: later calls need no round trip
			s.gate.close(at)
		}
		return fmt.Errorf("%w: %q", ErrSoldOut, at)
	case "safety":
		s.st.rejected.Add(1)
		return fmt.Errorf("%w: %q", ErrSafetyStock, at)
	case "limit":
		s.st.rejected.Add(1)
		return fmt.Errorf("%w: %q, user %q", ErrOverLimit, at, rq.op.User)
	case "nouser":
		s.st.rejected.Add(1)
		return fmt.Errorf("%w: %q", ErrUserRequired, at)
	case "unknown":
		s.st.rejected.Add(1)
		return fmt.Errorf("%w: %q", ErrUnknownSKU, at)
	}
	s.st.errors.Add(1)
	return fmt.Errorf("stock: unexpected apply reply %q", status)
}

// Confirm turns a reservation into a sale (payment arrived). sku is any SKU of the op
// (it selects the group). Confirm of a confirmed op is Duplicate; of an op never seen
// ErrUnknownOp; after Release or Revert ErrBadState.
func (s *Stock) Confirm(ctx context.Context, sku, opID string) (Result, error) {
	return s.settleOp(ctx, 'C', sku, opID)
}

// Release puts a reservation back on sale (order timeout or cancel). Release of an op
// never seen writes a tombstone, so a reserve that arrives late is refused; Release of
// a released op is Duplicate; of a deducted or confirmed op ErrBadState (use Revert).
func (s *Stock) Release(ctx context.Context, sku, opID string) (Result, error) {
	return s.settleOp(ctx, 'L', sku, opID)
}

// Revert compensates an op: a deducted, reserved or confirmed op gives its units back
// and becomes Reverted; an op never seen gets a tombstone so that it is refused if it
// arrives later (null compensation and anti-hanging); a repeated Revert is a no-op
// (Duplicate). sku is any SKU of the op.
func (s *Stock) Revert(ctx context.Context, sku, opID string) (Result, error) {
	return s.settleOp(ctx, 'V', sku, opID)
}

// CheckBackStatus answers a check-back.
type CheckBackStatus int

// Check-back answers.
const (
	// Failed: the op has no effect and never will (reverted, released, tombstoned).
	Failed CheckBackStatus = iota + 1
	// Succeeded: the op's stock movement is in effect.
	Succeeded
)

func (c CheckBackStatus) String() string {
	if c == Succeeded {
		return "succeeded"
	}
	if c == Failed {
		return "failed"
	}
	return "unknown"
}

// CheckBack resolves an op whose outcome is unknown (the 2-phase-message query, DTM's
// QueryPrepared): applied → Succeeded; reverted, released or tombstoned → Failed; never
// seen → a tombstone is written (a late arrival is refused) and the answer is Failed.
// The answer is final. sku is any SKU of the op.
func (s *Stock) CheckBack(ctx context.Context, sku, opID string) (CheckBackStatus, error) {
	r, err := s.settleOp(ctx, 'Q', sku, opID)
	if err != nil {
		return 0, err
	}
	if r.State.Applied() {
		return Succeeded, nil
	}
	return Failed, nil
}

func (s *Stock) settleOp(ctx context.Context, action byte, sku, opID string) (Result, error) {
	if err := validOpID(opID); err != nil {
		return s.invalid(err)
	}
	g, err := s.groupOf(sku)
	if err != nil {
		return s.invalid(err)
	}
	return s.settleAt(ctx, action, g, opID)
}

func (s *Stock) settleAt(ctx context.Context, action byte, g, opID string) (Result, error) {
	if ctx == nil {
		return s.invalid(errorf("nil context"))
	}
	if s.closed.Load() {
		return Result{Op: opID, Remaining: -1}, ErrClosed
	}
	s.st.settles.Add(1)
	keys := []string{s.journalKey(g), s.outboxKey(g), s.base(g)}
	res, err := s.settle.Run(ctx, s.rdb, keys, s.ttl, string(action), opID).Slice()
	if err != nil {
		s.st.errors.Add(1)
		return Result{Op: opID, Remaining: -1}, err
	}
	status, raw := str(res, 0), str(res, 1)
	r := resultFrom(opID, raw)
	switch status {
	case "ok":
		if s.gate != nil && (action == 'L' || action == 'V') {
			for _, it := range r.Items {
				s.gate.reopen(it.SKU)
			}
		}
		return r, nil
	case "succeeded", "failed":
		return r, nil
	case "tomb":
		s.st.tombs.Add(1)
		return r, nil
	case "dup":
		r.Duplicate = true
		return r, nil
	case "unknown":
		return r, fmt.Errorf("%w: %q", ErrUnknownOp, opID)
	case "state":
		if action == 'C' && (r.State == StateReverted || r.State == StateTombstone || r.State == StateReleased) {
			return r, fmt.Errorf("%w: %w: op %q is %s", ErrBadState, ErrReverted, opID, r.State)
		}
		return r, fmt.Errorf("%w: op %q is %s", ErrBadState, opID, r.State)
	}
	s.st.errors.Add(1)
	return r, fmt.Errorf("stock: unexpected settle reply %q", status)
}

func (s *Stock) invalid(err error) (Result, error) {
	s.st.invalid.Add(1)
	return Result{Remaining: -1}, err
}

func str(v []any, i int) string {
	if i >= len(v) {
		return ""
	}
	switch x := v[i].(type) {
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	}
	return ""
}

func num(v []any, i int) int64 {
	if i >= len(v) {
		return -1
	}
	switch x := v[i].(type) {
	case int64:
		return x
	case string:
		n, err := strconv.ParseInt(x, 10, 64)
		if err == nil {
			return n
		}
	}
	return -1
}
