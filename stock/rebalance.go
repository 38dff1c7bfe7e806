package stock

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Move moves up to qty sellable units from bucket from to bucket to under op id opID
// and returns how many moved. The two buckets live in different slots, so it is two
// journaled steps: units leave from (state O, total decreases) and are restocked into
// to under the same op id. If Move fails between the steps, calling it again with the
// same opID finishes the move (the first step answers from its journal entry); until
// then the units are out of sale, never sold twice.
func (h *Hot) Move(ctx context.Context, opID string, from, to int, qty int64) (int64, error) {
	n := len(h.buckets)
	if from < 0 || from >= n || to < 0 || to >= n || from == to {
		return 0, errorf("buckets %d → %d of %d", from, to, n)
	}
	if err := validOpID(opID); err != nil {
		return 0, err
	}
	if err := validQty(qty, false); err != nil {
		return 0, err
	}
	b := h.buckets[from]
	r, err := h.s.stockInAt(ctx, "out", opID, b, b, qty, SKUConfig{})
	if err != nil {
		return 0, err
	}
	if r.State != StateMovedOut || len(r.Items) != 1 {
		if r.Duplicate {
			return 0, fmt.Errorf("%w: op %q is %s in bucket %d", ErrBadState, opID, r.State, from)
		}
		return 0, nil // nothing sellable
	}
	moved := r.Items[0].Qty
	b = h.buckets[to]
	if _, err := h.s.stockInAt(ctx, "restock", opID, b, b, moved, SKUConfig{}); err != nil {
		return 0, fmt.Errorf("stock: %d units left bucket %d but are not yet in bucket %d; "+
			"call Move again with op id %q: %w", moved, from, to, opID, err)
	}
	h.s.Reopen(h.sku)
	return moved, nil
}

// Rebalance evens out the sellable stock of the buckets under op id opID. The plan is
// stored first (next to bucket 0, for the journal TTL), so a Rebalance that failed
// half-way finishes the same plan when called again with the same opID.
func (h *Hot) Rebalance(ctx context.Context, opID string) error {
	if err := validOpID(opID); err != nil {
		return err
	}
	if ctx == nil {
		return errorf("nil context")
	}
	key := h.s.base(h.buckets[0]) + "rb:" + opID
	plan, err := h.s.rdb.Get(ctx, key).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return err
	}
	if err != nil { // no stored plan: make one
		_, per, err := h.Levels(ctx)
		if err != nil {
			return err
		}
		plan = planMoves(per)
		ok, err := h.s.rdb.SetNX(ctx, key, plan, time.Duration(h.s.ttl)*time.Second).Result()
		if err != nil {
			return err
		}
		if !ok { // a concurrent Rebalance with this op id stored its plan first
			if plan, err = h.s.rdb.Get(ctx, key).Result(); err != nil {
				return err
			}
		}
	}
	for i, step := range strings.Split(plan, ";") {
		if step == "" {
			continue
		}
		var from, to int
		var q int64
		if _, err := fmt.Sscanf(step, "%d>%d=%d", &from, &to, &q); err != nil {
			return fmt.Errorf("stock: bad stored rebalance plan %q", plan)
		}
		if _, err := h.Move(ctx, opID+"#"+strconv.Itoa(i), from, to, q); err != nil {
			return err
		}
	}
	return nil
}

// planMoves pairs buckets above the mean sellable stock with buckets below it.
func planMoves(per []Levels) string {
	n := int64(len(per))
	var sum int64
	have := make([]int64, len(per))
	for i, l := range per {
		have[i] = l.Available
		sum += l.Available
	}
	want := make([]int64, len(per))
	for i := range want {
		want[i] = sum / n
		if int64(i) < sum%n {
			want[i]++
		}
	}
	var steps []string
	for from := range per {
		for to := range per {
			for have[from] > want[from] && have[to] < want[to] {
				q := min(have[from]-want[from], want[to]-have[to])
				steps = append(steps, fmt.Sprintf("%d>%d=%d", from, to, q))
				have[from] -= q
				have[to] += q
			}
		}
	}
	return strings.Join(steps, ";")
}
