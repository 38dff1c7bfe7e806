package main

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// readRate runs workers goroutines calling read for d and returns reads/s.
func readRate(ctx context.Context, workers int, d time.Duration, read func(context.Context) error) (float64, error) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var n atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				if err := read(ctx); err != nil {
					if ctx.Err() == nil {
						firstErr.CompareAndSwap(nil, err)
					}
					return
				}
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	if e, ok := firstErr.Load().(error); ok {
		return 0, e
	}
	return float64(n.Load()) / time.Since(start).Seconds(), nil
}

// runLoad measures, in one run against the same backends: auction reads through
// the cache, the same reads straight from SQL, and accepted bids through the full
// write path (rate limit, idempotency, lock, fenced SQL, cache rebuild).
func runLoad(ctx context.Context, svc *Service, d time.Duration, workers int, out io.Writer) error {
	id := fmt.Sprintf("load-%d", time.Now().UnixNano())
	if _, err := svc.Create(ctx, CreateRequest{ID: id, Title: "load", StartPrice: 1, Increment: 1, DurationMs: 3600_000}); err != nil {
		return err
	}
	// Alternate short rounds so a burst of noise on a shared machine hits both sides.
	const rounds = 4
	var cacheRate, sqlRate float64
	for range rounds {
		r, err := readRate(ctx, workers, d/rounds, func(ctx context.Context) error { _, err := svc.Get(ctx, id); return err })
		if err != nil {
			return fmt.Errorf("cache reads: %w", err)
		}
		cacheRate += r / rounds
		r, err = readRate(ctx, workers, d/rounds, func(ctx context.Context) error { _, err := svc.store.GetAuction(ctx, id); return err })
		if err != nil {
			return fmt.Errorf("sql reads: %w", err)
		}
		sqlRate += r / rounds
	}
	var seq atomic.Int64
	var accepted atomic.Int64
	bidRate, err := readRate(ctx, workers, d, func(ctx context.Context) error {
		i := seq.Add(1)
		r, err := svc.Bid(ctx, BidRequest{AuctionID: id, BidID: fmt.Sprintf("b%d", i), UserID: fmt.Sprintf("u%d", i%1000), Amount: 1 + i})
		if err == nil && r.Result == ResultAccepted {
			accepted.Add(1)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("bids: %w", err)
	}
	fmt.Fprintf(out, "auction load run: %d workers, %s per side, redis+sql backends of this run\n", workers, d)
	fmt.Fprintf(out, "  reads via cache      %10.0f reads/s\n", cacheRate)
	fmt.Fprintf(out, "  reads direct SQL     %10.0f reads/s\n", sqlRate)
	fmt.Fprintf(out, "  cache / SQL ratio    %10.2fx\n", cacheRate/sqlRate)
	fmt.Fprintf(out, "  bids (write-through) %10.0f bids/s (%d accepted; rest lost the race: too_low)\n", bidRate, accepted.Load())
	return nil
}
