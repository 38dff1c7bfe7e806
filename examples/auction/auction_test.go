package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/surgekit/surge/ratelimit"
)

// TestConcurrentBidders: many bidders race on one auction while readers poll it.
// Checks: the final price is the highest accepted bid and its bidder leads; every
// accepted bid is in SQL and SQL holds nothing else; accepted amounts are strictly
// increasing in fence order; after each acknowledged bid, no read (by the bidder
// or by any concurrent reader that started after the ack) returns a lower price.
func TestConcurrentBidders(t *testing.T) {
	e := newTestEnv(t, Config{BidLimit: ratelimit.PerSecond(100_000)}, nil)
	a := e.create(t, CreateRequest{StartPrice: 100, Increment: 5})
	ctx := context.Background()

	const bidders, attempts, readers = 32, 6, 4
	var (
		maxAcked   atomic.Int64 // highest price acknowledged to any bidder so far
		stale      atomic.Int64
		reads      atomic.Int64
		mu         sync.Mutex
		accepted   = map[string]BidRequest{}
		results    = map[string]int{}
		bidWG, rWG sync.WaitGroup
		done       = make(chan struct{})
	)
	raise := func(v int64) {
		for {
			cur := maxAcked.Load()
			if v <= cur || maxAcked.CompareAndSwap(cur, v) {
				return
			}
		}
	}
	check := func(floor int64) {
		got, err := e.svc.Get(ctx, a.ID)
		if err != nil {
			t.Error(err)
			return
		}
		reads.Add(1)
		if got.Price < floor {
			stale.Add(1)
			t.Errorf("stale read: price %d after %d was acknowledged", got.Price, floor)
		}
	}
	for range readers {
		rWG.Add(1)
		go func() {
			defer rWG.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				check(maxAcked.Load())
			}
		}()
	}
	for u := range bidders {
		bidWG.Add(1)
		go func() {
			defer bidWG.Done()
			user := fmt.Sprintf("user-%02d", u)
			for i := range attempts {
				cur, err := e.svc.Get(ctx, a.ID)
				if err != nil {
					t.Error(err)
					return
				}
				// Many bidders aim at the same few prices so they collide under the lock.
				amt := minBid(cur) + int64(rand.IntN(3))*cur.Increment
				req := BidRequest{AuctionID: a.ID, BidID: fmt.Sprintf("%s-%d", user, i), UserID: user, Amount: amt}
				r, err := e.svc.Bid(ctx, req)
				if err != nil {
					t.Errorf("bid %+v: %v", req, err)
					return
				}
				mu.Lock()
				results[r.Result]++
				if r.Result == ResultAccepted {
					accepted[req.BidID] = req
				}
				mu.Unlock()
				if r.Result == ResultAccepted {
					raise(amt)
					check(amt) // read-your-acknowledged-write
				}
			}
		}()
	}
	bidWG.Wait()
	close(done)
	rWG.Wait()

	final, err := e.svc.Get(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	var best BidRequest
	for _, b := range accepted {
		if b.Amount > best.Amount {
			best = b
		}
	}
	if len(accepted) == 0 {
		t.Fatal("no bid accepted")
	}
	if final.Price != best.Amount || final.Leader != best.UserID || final.BidCount != int64(len(accepted)) {
		t.Errorf("final %+v, want price %d leader %s count %d", final, best.Amount, best.UserID, len(accepted))
	}
	fromSQL, err := e.store.GetAuction(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if fromSQL != final {
		t.Errorf("cache %+v != SQL %+v after quiescence", final, fromSQL)
	}
	rows, err := e.store.Bids(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(accepted) {
		t.Errorf("SQL has %d bids, %d were accepted", len(rows), len(accepted))
	}
	lastAmt, lastFence := int64(0), int64(0)
	for _, r := range rows { // ordered by amount
		acc, ok := accepted[r.BidID]
		if !ok || acc.Amount != r.Amount || acc.UserID != r.UserID {
			t.Errorf("SQL bid %+v was not acknowledged as accepted", r)
		}
		if r.Amount <= lastAmt || r.Fence <= lastFence {
			t.Errorf("bid %+v does not beat the previous (amount %d, fence %d)", r, lastAmt, lastFence)
		}
		lastAmt, lastFence = r.Amount, r.Fence
	}
	if stale.Load() != 0 {
		t.Errorf("%d stale reads", stale.Load())
	}
	t.Logf("results %v, %d accepted, final price %d, %d checked reads, %d stale", results, len(accepted), final.Price, reads.Load(), stale.Load())
}

func TestBidIdempotentByID(t *testing.T) {
	e := newTestEnv(t, Config{}, nil)
	a := e.create(t, CreateRequest{StartPrice: 10, Increment: 2})
	ctx := context.Background()
	req := BidRequest{AuctionID: a.ID, BidID: "b-1", UserID: "alice", Amount: 10}
	r1, err := e.svc.Bid(ctx, req)
	if err != nil || r1.Result != ResultAccepted || r1.Replayed {
		t.Fatalf("first: %+v %v", r1, err)
	}
	r2, err := e.svc.Bid(ctx, req)
	if err != nil || r2.Result != ResultAccepted || !r2.Replayed || r2.Auction.Price != 10 {
		t.Fatalf("retry: %+v %v", r2, err)
	}
	if _, err := e.svc.Bid(ctx, BidRequest{AuctionID: a.ID, BidID: "b-1", UserID: "alice", Amount: 50}); !errors.Is(err, ErrMismatch) {
		t.Fatalf("same id, other amount: %v, want ErrMismatch", err)
	}
	low, err := e.svc.Bid(ctx, BidRequest{AuctionID: a.ID, BidID: "b-2", UserID: "bob", Amount: 11})
	if err != nil || low.Result != ResultTooLow || low.MinBid != 12 {
		t.Fatalf("too low: %+v %v", low, err)
	}
	got, _ := e.svc.Get(ctx, a.ID)
	bids, _ := e.store.Bids(ctx, a.ID)
	if got.BidCount != 1 || len(bids) != 1 {
		t.Fatalf("count %d, rows %d, want 1", got.BidCount, len(bids))
	}
}

func TestBidRateLimitedPerUser(t *testing.T) {
	e := newTestEnv(t, Config{BidLimit: ratelimit.Per(3, time.Minute)}, nil)
	a := e.create(t, CreateRequest{StartPrice: 1})
	ctx := context.Background()
	for i := range 3 {
		if _, err := e.svc.Bid(ctx, BidRequest{AuctionID: a.ID, BidID: fmt.Sprint("m", i), UserID: "mallory", Amount: int64(1 + i)}); err != nil {
			t.Fatal(err)
		}
	}
	_, err := e.svc.Bid(ctx, BidRequest{AuctionID: a.ID, BidID: "m3", UserID: "mallory", Amount: 100})
	if !errors.Is(err, ErrRateLimited) {
		t.Fatalf("4th bid in a minute: %v, want ErrRateLimited", err)
	}
	if r, err := e.svc.Bid(ctx, BidRequest{AuctionID: a.ID, BidID: "o1", UserID: "oscar", Amount: 100}); err != nil || r.Result != ResultAccepted {
		t.Fatalf("another user: %+v %v", r, err)
	}
}

// TestAntiSnipingAndClose: a bid inside the snipe window moves the end, the
// closer then records the leader as winner, and later bids are refused.
func TestAntiSnipingAndClose(t *testing.T) {
	const window = 1500 * time.Millisecond
	e := newTestEnv(t, Config{SnipeWindow: window}, nil)
	a := e.create(t, CreateRequest{StartPrice: 50, Increment: 10, DurationMs: 600})
	ctx := context.Background()
	before := time.Now()
	r, err := e.svc.Bid(ctx, BidRequest{AuctionID: a.ID, BidID: "s1", UserID: "sniper", Amount: 50})
	if err != nil || r.Result != ResultAccepted || !r.Extended {
		t.Fatalf("snipe bid: %+v %v", r, err)
	}
	if r.Auction.EndAt < before.Add(window).UnixMilli() {
		t.Fatalf("end %d not extended to >= now+%s", r.Auction.EndAt, window)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := e.svc.Get(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Closed {
			if got.Winner != "sniper" || got.Price != 50 {
				t.Fatalf("closed %+v, want winner sniper at 50", got)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not closed: %+v", got)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if time.Now().Before(before.Add(window)) {
		t.Fatal("closed before the extended end")
	}
	late, err := e.svc.Bid(ctx, BidRequest{AuctionID: a.ID, BidID: "s2", UserID: "late", Amount: 1000})
	if err != nil || late.Result != ResultClosed {
		t.Fatalf("late bid: %+v %v", late, err)
	}
	row, _ := e.store.GetAuction(ctx, a.ID)
	if !row.Closed || row.Winner != "sniper" {
		t.Fatalf("SQL row %+v", row)
	}
}

func TestInputRejectedBeforeIO(t *testing.T) {
	e := newTestEnv(t, Config{}, nil)
	ctx := context.Background()
	for _, b := range []BidRequest{
		{AuctionID: "", BidID: "x", UserID: "u", Amount: 1},
		{AuctionID: "a", BidID: "", UserID: "u", Amount: 1},
		{AuctionID: "a", BidID: "x", UserID: "u u", Amount: 1},
		{AuctionID: "a", BidID: "x", UserID: "u", Amount: 0},
		{AuctionID: "a{b}", BidID: "x", UserID: "u", Amount: 1},
	} {
		if _, err := e.svc.Bid(ctx, b); !errors.Is(err, ErrBadInput) {
			t.Errorf("%+v: %v", b, err)
		}
	}
	if _, err := e.svc.Create(ctx, CreateRequest{ID: "x", Increment: 0, DurationMs: 10}); !errors.Is(err, ErrBadInput) {
		t.Error(err)
	}
	r, err := e.svc.Bid(ctx, BidRequest{AuctionID: "missing", BidID: "x", UserID: "u", Amount: 1})
	if err != nil || r.Result != ResultNotFound {
		t.Errorf("missing auction: %+v %v", r, err)
	}
}
