package stock

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
)

// Hot is one hot SKU split into buckets, each a SKU of its own group (its own hash
// tag), so that a Redis Cluster spreads the SKU's traffic over its masters. A buyer
// starts at the bucket chosen by a hash of the op id and probes the others, in a fixed
// order, before a final ErrSoldOut. A bucket that refuses an op for lack of stock
// journals it as passed (StatePassed), so an op is applied in at most one bucket even
// when it is retried or duplicated concurrently, and Revert/CheckBack, walking the
// same order, can never overtake an op in flight. Total sold never exceeds the total
// loaded: every bucket is an ordinary SKU with its own atomic counters.
//
// Bucket i is the SKU named Bucket(i): "<sku>#<j>", where j is chosen so that the
// buckets' hash slots are evenly spaced over the 16384 slots of a cluster (with the
// usual contiguous slot ranges per master, buckets spread evenly over masters).
// Per-user limits are per SKU and so not offered on a Hot SKU.
type Hot struct {
	s       *Stock
	sku     string
	buckets []string
}

// Hot returns the bucketed view of sku with n buckets (1..1024). Every process must
// use the same n for a SKU.
func (s *Stock) Hot(sku string, n int) (*Hot, error) {
	if err := validName("SKU", sku, false); err != nil {
		return nil, err
	}
	if len(sku) > maxNameLen-8 {
		return nil, errorf("hot SKU name longer than %d bytes", maxNameLen-8)
	}
	if n < 1 || n > 1024 {
		return nil, errorf("hot SKU buckets %d (1..1024)", n)
	}
	h := &Hot{s: s, sku: sku, buckets: make([]string, n)}
	j := 0
	for i := range n {
		lo, hi := i*16384/n, (i+1)*16384/n
		for ; ; j++ {
			name := sku + "#" + strconv.Itoa(j)
			if slot := int(crc16(name) % 16384); slot >= lo && slot < hi {
				h.buckets[i] = name
				j++
				break
			}
		}
	}
	return h, nil
}

// Bucket returns the SKU name (and group) of bucket i.
func (h *Hot) Bucket(i int) string { return h.buckets[i] }

// Buckets returns the number of buckets.
func (h *Hot) Buckets() int { return len(h.buckets) }

// split spreads q over the buckets (the first q%n get one more).
func (h *Hot) split(q int64, i int) int64 {
	n := int64(len(h.buckets))
	v := q / n
	if int64(i) < q%n {
		v++
	}
	return v
}

// Load creates every bucket with its share of qty, safety and low threshold, under op
// ids opID#i. It is idempotent: an existing bucket loaded by the same op is skipped.
func (h *Hot) Load(ctx context.Context, opID string, qty int64, cfg SKUConfig) error {
	if cfg.UserLimit != 0 {
		return errorf("per-user limits are not supported on a hot SKU")
	}
	if err := validOpID(opID); err != nil {
		return err
	}
	if err := validQty(qty, true); err != nil {
		return err
	}
	if cfg.Safety < 0 || cfg.LowThreshold < 0 || cfg.Safety > maxQty || cfg.LowThreshold > maxQty {
		return errorf("negative or huge SKU config %+v", cfg)
	}
	for i, b := range h.buckets {
		c := SKUConfig{Safety: h.split(cfg.Safety, i), LowThreshold: h.split(cfg.LowThreshold, i)}
		if _, err := h.s.stockInAt(ctx, "load", opID+"#"+strconv.Itoa(i), b, b, h.split(qty, i), c); err != nil {
			return fmt.Errorf("bucket %d: %w", i, err)
		}
	}
	return nil
}

// Restock adds qty spread over the buckets, under op ids opID#i, and reopens the gate.
func (h *Hot) Restock(ctx context.Context, opID string, qty int64) error {
	if err := validOpID(opID); err != nil {
		return err
	}
	if err := validQty(qty, false); err != nil {
		return err
	}
	for i, b := range h.buckets {
		if q := h.split(qty, i); q > 0 {
			if _, err := h.s.stockInAt(ctx, "restock", opID+"#"+strconv.Itoa(i), b, b, q, SKUConfig{}); err != nil {
				return fmt.Errorf("bucket %d: %w", i, err)
			}
		}
	}
	h.s.Reopen(h.sku)
	return nil
}

// Deduct sells op's quantity of the hot SKU from one bucket. op.Items must name only
// this SKU. Results and errors are as for Stock.Deduct; Result.Items names the bucket.
func (h *Hot) Deduct(ctx context.Context, op Op) (Result, error) { return h.take(ctx, 'd', op) }

// Reserve reserves op's quantity of the hot SKU in one bucket.
func (h *Hot) Reserve(ctx context.Context, op Op) (Result, error) { return h.take(ctx, 'r', op) }

func (h *Hot) start(opID string) int {
	f := fnv.New32a()
	_, _ = f.Write([]byte(opID))
	return int(f.Sum32() % uint32(len(h.buckets)))
}

func (h *Hot) take(ctx context.Context, mode byte, op Op) (Result, error) {
	s := h.s
	s.st.calls.Add(1)
	if err := validOpID(op.ID); err != nil {
		return s.invalid(err)
	}
	if err := validName("user", op.User, true); err != nil {
		return s.invalid(err)
	}
	var qty int64
	for _, it := range op.Items {
		if it.SKU != h.sku {
			return s.invalid(errorf("hot SKU %q op names %q", h.sku, it.SKU))
		}
		if err := validQty(it.Qty, false); err != nil {
			return s.invalid(err)
		}
		qty += it.Qty
	}
	if len(op.Items) == 0 || qty > maxQty {
		return s.invalid(errorf("hot SKU op needs items of total 1..%d", int64(maxQty)))
	}
	if ctx == nil {
		return s.invalid(errorf("nil context"))
	}
	if s.closed.Load() {
		return Result{Op: op.ID, Remaining: -1}, ErrClosed
	}
	if s.gate != nil && !op.Retry && s.gate.closedFor(h.sku) {
		s.st.soldOut.Add(1)
		s.st.gate.Add(1)
		return Result{Op: op.ID, Remaining: 0}, fmt.Errorf("%w: %w: %q", ErrSoldOut, ErrGated, h.sku)
	}
	first := h.start(op.ID)
	var last error
	for k := range h.buckets {
		b := h.buckets[(first+k)%len(h.buckets)]
		r, err := s.exec(ctx, b, request{mode: mode, op: op, items: []Item{{SKU: b, Qty: qty}}})
		if errors.Is(err, ErrSoldOut) || errors.Is(err, ErrSafetyStock) {
			last = err // journaled as passed in this bucket: try the next one
			continue
		}
		return r, err
	}
	if s.gate != nil && errors.Is(last, ErrSoldOut) {
		s.gate.close(h.sku)
	}
	return Result{Op: op.ID, Remaining: 0}, fmt.Errorf("%w: %q (all %d buckets)", ErrSoldOut, h.sku, len(h.buckets))
}

// walk runs a settle action bucket by bucket in the op's probe order until a bucket
// holds something other than "passed".
func (h *Hot) walk(ctx context.Context, action byte, opID string) (Result, error) {
	if err := validOpID(opID); err != nil {
		return h.s.invalid(err)
	}
	first := h.start(opID)
	var r Result
	var err error
	for k := range h.buckets {
		r, err = h.s.settleAt(ctx, action, h.buckets[(first+k)%len(h.buckets)], opID)
		if r.State != StatePassed {
			return r, err
		}
	}
	return r, err
}

// Confirm confirms the op's reservation in the bucket that holds it.
func (h *Hot) Confirm(ctx context.Context, opID string) (Result, error) {
	r, err := h.walk(ctx, 'C', opID)
	if err == nil && r.State == StatePassed {
		return r, fmt.Errorf("%w: %q was refused in every bucket", ErrBadState, opID)
	}
	return r, err
}

// Release releases the op's reservation; an op never seen is tombstoned.
func (h *Hot) Release(ctx context.Context, opID string) (Result, error) {
	return h.walk(ctx, 'L', opID)
}

// Revert compensates the op in the bucket that holds it; an op never seen is
// tombstoned in the first bucket of its probe order, so it cannot arrive anywhere.
func (h *Hot) Revert(ctx context.Context, opID string) (Result, error) {
	return h.walk(ctx, 'V', opID)
}

// CheckBack resolves the op as Stock.CheckBack does, across the buckets.
func (h *Hot) CheckBack(ctx context.Context, opID string) (CheckBackStatus, error) {
	r, err := h.walk(ctx, 'Q', opID)
	if err != nil {
		return 0, err
	}
	if r.State.Applied() {
		return Succeeded, nil
	}
	return Failed, nil
}

// Levels returns the summed counters and those of every bucket.
func (h *Hot) Levels(ctx context.Context) (Levels, []Levels, error) {
	var sum Levels
	if ctx == nil {
		return sum, nil, errorf("nil context")
	}
	per := make([]Levels, len(h.buckets))
	for i, b := range h.buckets {
		v, err := h.s.rdb.HMGet(ctx, h.s.skuKey(b, b), "avail", "reserved", "sold", "total").Result()
		if err != nil {
			return sum, nil, err
		}
		if v[0] == nil {
			return sum, nil, fmt.Errorf("%w: %q bucket %d", ErrUnknownSKU, h.sku, i)
		}
		l := Levels{Available: num(v, 0), Reserved: num(v, 1), Sold: num(v, 2), Total: num(v, 3)}
		per[i] = l
		sum.Available += l.Available
		sum.Reserved += l.Reserved
		sum.Sold += l.Sold
		sum.Total += l.Total
	}
	return sum, per, nil
}

// Reconcile reconciles every bucket; the reports are in bucket order.
func (h *Hot) Reconcile(ctx context.Context) ([]Report, error) {
	out := make([]Report, len(h.buckets))
	for i, b := range h.buckets {
		r, err := h.s.Reconcile(ctx, b)
		if err != nil {
			return nil, err
		}
		out[i] = r
	}
	return out, nil
}

// crc16 is the CRC16-CCITT (XMODEM) Redis Cluster uses for key slots.
func crc16(s string) uint16 {
	var crc uint16
	for i := 0; i < len(s); i++ {
		crc ^= uint16(s[i]) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}
