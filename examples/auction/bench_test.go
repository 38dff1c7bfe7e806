package main

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/surgekit/surge/ratelimit"
)

// parallelOps runs n calls of op over workers goroutines and returns ops/s.
func parallelOps(b *testing.B, n, workers int, op func(i int) error) float64 {
	var wg sync.WaitGroup
	start := time.Now()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				if err := op(i); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	return float64(n) / time.Since(start).Seconds()
}

// BenchmarkReadsCacheVsSQL: b.N auction-state reads through the service (Redis
// cache, Lease strategy) and b.N reads of the same row straight from SQL, 16
// concurrent readers each, in the same run on the backends of the tier in force.
func BenchmarkReadsCacheVsSQL(b *testing.B) {
	e := newTestEnv(b, Config{}, nil)
	a := e.create(b, CreateRequest{StartPrice: 1})
	ctx := context.Background()
	if _, err := e.svc.Bid(ctx, BidRequest{AuctionID: a.ID, BidID: "warm", UserID: "u", Amount: 1}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	cacheRate := parallelOps(b, b.N, 16, func(int) error { _, err := e.svc.Get(ctx, a.ID); return err })
	sqlRate := parallelOps(b, b.N, 16, func(int) error { _, err := e.store.GetAuction(ctx, a.ID); return err })
	b.ReportMetric(cacheRate, "cache_reads/s")
	b.ReportMetric(sqlRate, "sql_reads/s")
	b.ReportMetric(cacheRate/sqlRate, "cache/sql")
}

// BenchmarkBidWritePath: b.N accepted bids (each beats the last) through the full
// write path — rate limit, idempotency, lock, invalidate, fenced SQL, fenced
// rebuild, unlock — against the same bids as a bare SQL transaction with no
// lock and no cache (unsafe across instances; the floor of the SQL work).
func BenchmarkBidWritePath(b *testing.B) {
	e := newTestEnv(b, Config{BidLimit: ratelimit.PerSecond(1_000_000)}, nil)
	full := e.create(b, CreateRequest{StartPrice: 1})
	bare := e.create(b, CreateRequest{ID: full.ID + "-bare", StartPrice: 1})
	ctx := context.Background()
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		r, err := e.svc.Bid(ctx, BidRequest{AuctionID: full.ID, BidID: fmt.Sprint("b", i), UserID: "u", Amount: int64(1 + i)})
		if err != nil || r.Result != ResultAccepted {
			b.Fatalf("%+v %v", r, err)
		}
	}
	fullRate := float64(b.N) / time.Since(start).Seconds()
	start = time.Now()
	for i := range b.N {
		_, err := e.store.fencedTx(ctx, bare.ID, int64(i+1), func(tx *sql.Tx, cur Auction) (Auction, error) {
			if err := insertBid(ctx, tx, Bid{AuctionID: bare.ID, BidID: fmt.Sprint("b", i), UserID: "u", Amount: int64(1 + i), Fence: int64(i + 1)}); err != nil {
				return cur, err
			}
			cur.Price, cur.Leader, cur.BidCount = int64(1+i), "u", cur.BidCount+1
			return cur, nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	bareRate := float64(b.N) / time.Since(start).Seconds()
	b.ReportMetric(fullRate, "writepath_bids/s")
	b.ReportMetric(bareRate, "bare_sql_bids/s")
	b.ReportMetric(fullRate/bareRate, "writepath/bare")
}
