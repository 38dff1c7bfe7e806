package stock

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/surgekit/surge/internal/redistest"
)

func TestCRC16(t *testing.T) {
	if got := crc16("123456789"); got != 0x31C3 {
		t.Fatalf("crc16 check value %#x", got)
	}
}

func TestHotBucketsSpreadSlots(t *testing.T) {
	s, err := New(deadClient())
	if err != nil {
		t.Fatal(err)
	}
	h, err := s.Hot("phone", 6)
	if err != nil {
		t.Fatal(err)
	}
	for i := range h.Buckets() {
		slot := int(crc16(h.Bucket(i)) % 16384)
		if slot < i*16384/6 || slot >= (i+1)*16384/6 {
			t.Fatalf("bucket %d %q slot %d", i, h.Bucket(i), slot)
		}
	}
	for _, n := range []int{0, 1025} {
		if _, err := s.Hot("x", n); !errors.Is(err, ErrInvalid) {
			t.Fatalf("n=%d: %v", n, err)
		}
	}
	if _, err := h.Deduct(context.Background(), one("o", "", "other", 1)); !errors.Is(err, ErrInvalid) {
		t.Fatal(err)
	}
	if err := h.Load(context.Background(), "l", 10, SKUConfig{UserLimit: 1}); !errors.Is(err, ErrInvalid) {
		t.Fatal(err)
	}
}

// TestHotOversell: thousands of goroutines on a bucketed hot SKU, every op sent twice
// at the same time (a duplicate request) and a third of them reverted concurrently:
// sold never exceeds the stock, each op is applied in at most one bucket, and the
// counters, journals and outboxes of all buckets agree.
func TestHotOversell(t *testing.T) {
	for _, combined := range []bool{false, true} {
		t.Run(fmt.Sprintf("combined=%v", combined), func(t *testing.T) {
			var opts []Option
			if combined {
				opts = append(opts, WithCombiner(64, 10*time.Second), WithSoldOutGate(time.Minute))
			}
			s, _ := newStock(t, opts...)
			ctx := context.Background()
			h, err := s.Hot("hot", 5)
			if err != nil {
				t.Fatal(err)
			}
			stock, buyers := int64(301), 1500
			if !combined {
				// uncombined, 3 calls per op hit the pool at once: keep it under its size
				stock, buyers = 101, 500
			}
			if !redistest.Real() {
				// miniredis runs Lua slowly under -race: the real tiers carry the load
				stock, buyers = stock/6, buyers/6
			}
			if err := h.Load(ctx, "load", stock, SKUConfig{}); err != nil {
				t.Fatal(err)
			}
			var applied atomic.Int64
			var wg sync.WaitGroup
			for i := range buyers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					id := fmt.Sprintf("op-%d", i)
					var twin sync.WaitGroup
					var oks atomic.Int32
					for range 2 {
						twin.Add(1)
						go func() {
							defer twin.Done()
							r, err := h.Deduct(ctx, Op{ID: id, Items: []Item{{"hot", 1}}, Retry: true})
							switch {
							case err == nil:
								if !r.Duplicate {
									oks.Add(1)
								}
							case errors.Is(err, ErrSoldOut), errors.Is(err, ErrReverted):
							default:
								t.Errorf("%s: %v", id, err)
							}
						}()
					}
					if i%3 == 0 {
						if _, err := h.Revert(ctx, id); err != nil {
							t.Errorf("revert %s: %v", id, err)
						}
					}
					twin.Wait()
					if oks.Load() > 1 {
						t.Errorf("%s applied %d times", id, oks.Load())
					}
					st, err := h.CheckBack(ctx, id)
					if err != nil {
						t.Errorf("checkback %s: %v", id, err)
					}
					if st == Succeeded {
						applied.Add(1)
					}
				}()
			}
			wg.Wait()
			sum, per, err := h.Levels(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if sum.Total != stock || sum.Sold != applied.Load() || sum.Sold > stock || sum.Available < 0 ||
				sum.Available+sum.Sold != stock {
				t.Fatalf("levels %+v (buckets %+v), ops applied %d", sum, per, applied.Load())
			}
			reps, err := h.Reconcile(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for i, rep := range reps {
				if !rep.OK() {
					t.Fatalf("bucket %d drift: %+v", i, rep)
				}
			}
		})
	}
}

func TestHotRebalanceAndMoveResume(t *testing.T) {
	s, _ := newStock(t)
	ctx := context.Background()
	h, err := s.Hot("rb", 4)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Load(ctx, "load", 40, SKUConfig{}); err != nil {
		t.Fatal(err)
	}
	// Empty bucket 0 through deductions that start there.
	sold := 0
	for i := 0; sold < 10; i++ {
		id := fmt.Sprintf("o%d", i)
		if h.start(id) != 0 {
			continue
		}
		if _, err := h.Deduct(ctx, one(id, "", "rb", 1)); err != nil {
			t.Fatal(err)
		}
		sold++
	}
	// A move that crashed after its first step: units are out of bucket 1 only.
	if _, err := s.stockInAt(ctx, "out", "mv", h.Bucket(1), h.Bucket(1), 3, SKUConfig{}); err != nil {
		t.Fatal(err)
	}
	if sum, _, _ := h.Levels(ctx); sum.Available != 27 {
		t.Fatalf("after half a move: %+v", sum)
	}
	if moved, err := h.Move(ctx, "mv", 1, 2, 3); err != nil || moved != 3 {
		t.Fatalf("resumed move: %d %v", moved, err)
	}
	if moved, err := h.Move(ctx, "mv", 1, 2, 3); err != nil || moved != 3 {
		t.Fatalf("repeated move: %d %v", moved, err)
	}
	if err := h.Rebalance(ctx, "rb1"); err != nil {
		t.Fatal(err)
	}
	if err := h.Rebalance(ctx, "rb1"); err != nil { // a rerun replays the stored plan: no-op
		t.Fatal(err)
	}
	sum, per, err := h.Levels(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Available != 30 || sum.Sold != 10 || sum.Total != 40 {
		t.Fatalf("sum %+v", sum)
	}
	for i, l := range per {
		if l.Available < 7 || l.Available > 8 {
			t.Fatalf("bucket %d after rebalance: %+v (all %+v)", i, l, per)
		}
	}
	reps, err := h.Reconcile(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i, rep := range reps {
		if !rep.OK() {
			t.Fatalf("bucket %d: %+v", i, rep)
		}
	}
	if _, err := h.Move(ctx, "x", 0, 0, 1); !errors.Is(err, ErrInvalid) {
		t.Fatal(err)
	}
}
