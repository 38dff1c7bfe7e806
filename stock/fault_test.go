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

// TestFaultKillAndPause runs buyers against a private redis-server (AOF, appendfsync
// always) that is killed and restarted, then frozen, mid-run. Callers must get errors,
// never wrong answers: every op answered "sold" is applied after the restart, every op
// answered "sold out" is not, and CheckBack resolves every op whose call failed. Then
// the sold count adds up and Reconcile finds no drift.
func TestFaultKillAndPause(t *testing.T) {
	for _, combined := range []bool{false, true} {
		t.Run(fmt.Sprintf("combined=%v", combined), func(t *testing.T) {
			srv := redistest.Server(t, redistest.WithAOF())
			rdb := srv.Client()
			opts := []Option{WithPrefix(redistest.Prefix(t))}
			if combined {
				opts = append(opts, WithCombiner(32, 400*time.Millisecond))
			}
			s, err := New(rdb, opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			ctx := context.Background()
			const stock = 1000
			mustLoad(t, s, "f", stock, SKUConfig{})

			type outcome int
			const (
				sold outcome = iota + 1
				soldOut
				unknown
			)
			var mu sync.Mutex
			ops := map[string]outcome{}
			var definite atomic.Int64
			stop := make(chan struct{})
			var wg sync.WaitGroup
			for w := range 50 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; ; i++ {
						select {
						case <-stop:
							return
						default:
						}
						id := fmt.Sprintf("w%d-%d", w, i)
						cctx, cancel := context.WithTimeout(ctx, time.Second)
						_, err := s.Deduct(cctx, one(id, "", "f", 1))
						cancel()
						o := unknown
						switch {
						case err == nil:
							o = sold
							definite.Add(1)
						case errors.Is(err, ErrSoldOut):
							o = soldOut
							definite.Add(1)
						case errors.Is(err, ErrInvalid), errors.Is(err, ErrReverted), errors.Is(err, ErrUnknownSKU):
							t.Errorf("%s: wrong answer %v", id, err)
						default:
							time.Sleep(5 * time.Millisecond) // the server is down: don't spin
						}
						mu.Lock()
						ops[id] = o
						mu.Unlock()
					}
				}()
			}
			waitFor := func(n int64) {
				deadline := time.Now().Add(20 * time.Second)
				for definite.Load() < n {
					if time.Now().After(deadline) {
						close(stop)
						t.Fatalf("only %d definite answers", definite.Load())
					}
					time.Sleep(5 * time.Millisecond)
				}
			}
			waitFor(150)
			srv.Kill() // a crash mid-run
			time.Sleep(300 * time.Millisecond)
			srv.Start()
			waitFor(definite.Load() + 150)
			<-srv.Pause(700 * time.Millisecond) // a stall longer than the client timeouts
			waitFor(definite.Load() + 150)
			close(stop)
			wg.Wait()

			var nSold, nUnknown, resolved int64
			for id, o := range ops {
				st, err := s.CheckBack(ctx, "f", id)
				if err != nil {
					t.Fatalf("checkback %s after restart: %v", id, err)
				}
				switch o {
				case sold:
					nSold++
					if st != Succeeded {
						t.Errorf("%s was answered sold but is %v after the restart", id, st)
					}
				case soldOut:
					if st != Failed {
						t.Errorf("%s was answered sold out but is %v", id, st)
					}
				case unknown:
					nUnknown++
					if st == Succeeded {
						resolved++
					}
				}
			}
			l := levels(t, s, "f")
			if l.Sold != nSold+resolved || l.Sold > stock || l.Available+l.Sold != stock {
				t.Fatalf("levels %+v: %d answered sold + %d unknown resolved as sold", l, nSold, resolved)
			}
			mustReconcile(t, s, "f")
			t.Logf("%d ops: %d sold, %d unknown (%d of them applied), levels %+v", len(ops), nSold, nUnknown, resolved, l)
			if nUnknown == 0 {
				t.Errorf("the faults produced no failed call: the test proved nothing")
			}
		})
	}
}
