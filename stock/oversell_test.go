package stock

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/surgekit/surge/internal/redistest"
)

// TestOversell hammers one hot SKU from thousands of goroutines, each op id sent twice
// (a retry) and some ops reverted, and checks that exactly the stock was sold, that
// every op id has exactly one outcome, and that counters, journal and outbox agree.
func TestOversell(t *testing.T) {
	for _, mode := range []string{"direct", "combined", "gated"} {
		t.Run(mode, func(t *testing.T) {
			var opts []Option
			switch mode {
			case "combined":
				opts = append(opts, WithCombiner(64, 10*time.Second))
			case "gated":
				opts = append(opts, WithCombiner(64, 10*time.Second), WithSoldOutGate(time.Minute))
			}
			s, _ := newStock(t, opts...)
			stock, buyers := int64(500), 2000
			if mode == "direct" && !redistest.Real() {
				// miniredis runs each uncombined script call through its Lua VM slowly
				// under -race; the real tiers run the full load.
				stock, buyers = 150, 600
			}
			mustLoad(t, s, "hot", stock, SKUConfig{})
			ctx := context.Background()

			var won, lost atomic.Int64
			outcome := make([]string, buyers)
			var wg sync.WaitGroup
			for i := range buyers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					op := one(fmt.Sprintf("op-%d", i), fmt.Sprintf("u%d", i), "hot", 1)
					r1, err1 := s.Deduct(ctx, op)
					op.Retry = true
					r2, err2 := s.Deduct(ctx, op) // a retry: must agree with the first call
					switch {
					case err1 == nil:
						if err2 != nil || !r2.Duplicate || r2.State != StateDeducted || r1.Duplicate {
							t.Errorf("op %d: first ok, retry %+v %v", i, r2, err2)
						}
						won.Add(1)
						outcome[i] = "sold"
					case errors.Is(err1, ErrSoldOut):
						if !errors.Is(err2, ErrSoldOut) {
							t.Errorf("op %d: sold out, then retry %+v %v", i, r2, err2)
						}
						lost.Add(1)
						outcome[i] = "soldout"
					default:
						t.Errorf("op %d: %v", i, err1)
					}
				}()
			}
			wg.Wait()
			if won.Load() != stock || won.Load()+lost.Load() != int64(buyers) {
				t.Fatalf("won %d lost %d, stock %d", won.Load(), lost.Load(), stock)
			}
			if l := levels(t, s, "hot"); l != (Levels{Sold: stock, Total: stock}) {
				t.Fatalf("levels %+v", l)
			}
			rep := mustReconcile(t, s, "hot")
			if int64(rep.Ops) != stock+1 || int64(rep.Events) != stock+1 {
				t.Fatalf("outbox holds %d ops / %d events, want %d", rep.Ops, rep.Events, stock+1)
			}
			// Every op id has exactly one outcome: sold ones check back Succeeded and
			// stay sold; the others check back Failed (a tombstone) and stay refused.
			for i := 0; i < buyers; i += 7 {
				id := fmt.Sprintf("op-%d", i)
				st, err := s.CheckBack(ctx, "hot", id)
				want := Failed
				if outcome[i] == "sold" {
					want = Succeeded
				}
				if err != nil || st != want {
					t.Fatalf("%s (%s): check-back %v %v", id, outcome[i], st, err)
				}
			}
			if mode == "gated" {
				// The sale is over: a late buyer is refused locally, and a restock reopens.
				_, err := s.Deduct(ctx, one("late", "", "hot", 1))
				if !errors.Is(err, ErrSoldOut) || !errors.Is(err, ErrGated) || s.Stats().GateRejects == 0 {
					t.Fatalf("late buyer: %v, stats %+v", err, s.Stats())
				}
				if _, err := s.Restock(ctx, "restock", "hot", 1); err != nil {
					t.Fatal(err)
				}
				if _, err := s.Deduct(ctx, one("late", "", "hot", 1)); err != nil {
					t.Fatalf("after restock: %v", err)
				}
				if _, err := s.Revert(ctx, "hot", "late"); err != nil {
					t.Fatal(err)
				}
				if _, err := s.Deduct(ctx, one("later", "", "hot", 2)); !errors.Is(err, ErrSoldOut) || errors.Is(err, ErrGated) {
					t.Fatalf("2 of 1 left: %v", err)
				}
				if s.GateClosed("hot") {
					t.Fatal("gate closed although 1 unit is left")
				}
				return
			}
			if mode != "direct" && s.Stats().MaxBatch < 2 {
				t.Logf("combiner never batched (stats %+v)", s.Stats())
			}
			mustReconcile(t, s, "hot")
		})
	}
}

// TestOversellWithReverts mixes deducts, reserves, confirms, releases and reverts on
// a small stock and checks conservation and the journal/outbox agreement.
func TestOversellWithReverts(t *testing.T) {
	s, _ := newStock(t, WithCombiner(32, 10*time.Second))
	stock, workers := int64(50), 1000
	if !redistest.Real() {
		workers = 400 // miniredis runs Lua slowly under -race
	}
	mustLoad(t, s, "k", stock, SKUConfig{LowThreshold: 5})
	ctx := context.Background()
	var held atomic.Int64 // units an op holds after all its steps
	var wg sync.WaitGroup
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(i), 7))
			id := fmt.Sprintf("w%d", i)
			op := one(id, "", "k", 1+rng.Int64N(2))
			var err error
			if rng.IntN(2) == 0 {
				_, err = s.Deduct(ctx, op)
			} else {
				_, err = s.Reserve(ctx, op)
				if err == nil && rng.IntN(2) == 0 {
					_, err = s.Confirm(ctx, "k", id)
				}
			}
			if err != nil && !errors.Is(err, ErrSoldOut) {
				t.Errorf("%s: %v", id, err)
				return
			}
			if rng.IntN(3) == 0 {
				if _, err := s.Revert(ctx, "k", id); err != nil {
					t.Errorf("revert %s: %v", id, err)
				}
			}
			st, err := s.CheckBack(ctx, "k", id)
			if err != nil {
				t.Errorf("checkback %s: %v", id, err)
			}
			if st == Succeeded {
				held.Add(op.Items[0].Qty)
			}
		}()
	}
	wg.Wait()
	l := levels(t, s, "k")
	if l.Available < 0 || l.Reserved+l.Sold != held.Load() || l.Total != stock {
		t.Fatalf("levels %+v, ops hold %d", l, held.Load())
	}
	mustReconcile(t, s, "k")
}
