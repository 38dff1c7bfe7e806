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
