package main

import (
	"context"
	"database/sql"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/surgekit/surge/internal/redistest"
	"github.com/surgekit/surge/lock"
)

// faultEnv builds a service whose locks have no watchdog (so a stalled holder
// really loses its lease) and a way to let the lease run out: on the miniredis
// tier keys do not expire in real time, so the test fast-forwards its clock.
func faultEnv(t *testing.T, lockTTL time.Duration) (*testEnv, func()) {
	var rdb redis.UniversalClient
	expire := func() { time.Sleep(lockTTL + 50*time.Millisecond) }
	if !redistest.Real() {
		m, c := redistest.Mini(t)
		rdb = c
		expire = func() { time.Sleep(lockTTL + 50*time.Millisecond); m.FastForward(lockTTL + 50*time.Millisecond) }
	}
	e := newTestEnv(t, Config{
		LockTTL:     lockTTL,
		LockOptions: []lock.AcquireOption{lock.WithRetry(lock.LinearBackoff(5 * time.Millisecond))},
	}, rdb)
	return e, expire
}

// TestFencingRefusesPausedHolder: a writer takes the auction's write lock (the
// same lock WriteThrough uses), then "pauses" past the lock's TTL before its SQL
// update. Meanwhile the lock passes to a normal bid, which commits with a newer
// fencing token. When the paused writer resumes and runs its update — even on a
// context that never noticed the lost lock, as a GC or VM pause would cause — the
// `WHERE fence < ?` guard refuses it: SQL keeps the newer bid.
func TestFencingRefusesPausedHolder(t *testing.T) {
	const ttl = 300 * time.Millisecond
	e, expire := faultEnv(t, ttl)
	a := e.create(t, CreateRequest{StartPrice: 100, Increment: 10})
	ctx := context.Background()

	held, err := e.svc.locker.Acquire(ctx, e.svc.cfg.Prefix+"cache:lock:"+a.ID, ttl)
	if err != nil {
		t.Fatal(err)
	}
	staleFence, _ := fenceFrom(held.Context())

	expire() // the pause: the lease runs out while the holder is stalled
	select {
	case <-held.Context().Done():
	case <-time.After(5 * time.Second):
		t.Fatal("lock context not cancelled after its TTL")
	}

	// The lock is free: a normal bid goes through the whole write path.
	r, err := e.svc.Bid(ctx, BidRequest{AuctionID: a.ID, BidID: "fresh", UserID: "fresh", Amount: 200})
	if err != nil || r.Result != ResultAccepted {
		t.Fatalf("fresh bid: %+v %v", r, err)
	}
	if r.Auction.Fence <= staleFence {
		t.Fatalf("new fence %d not above the stale holder's %d", r.Auction.Fence, staleFence)
	}

	// The stale holder resumes and tries to commit a (higher!) bid with its fence.
	_, err = e.store.fencedTx(context.Background(), a.ID, staleFence, func(tx *sql.Tx, cur Auction) (Auction, error) {
		if err := insertBid(ctx, tx, Bid{AuctionID: a.ID, BidID: "stale", UserID: "stale", Amount: 5000, Fence: staleFence}); err != nil {
			return cur, err
		}
		cur.Price, cur.Leader, cur.BidCount = 5000, "stale", cur.BidCount+1
		return cur, nil
	})
	if !errors.Is(err, ErrStaleFence) {
		t.Fatalf("stale update: %v, want ErrStaleFence", err)
	}
	row, _ := e.store.GetAuction(ctx, a.ID)
	bids, _ := e.store.Bids(ctx, a.ID)
	if row.Price != 200 || row.Leader != "fresh" || len(bids) != 1 || bids[0].BidID != "fresh" {
		t.Fatalf("after the stale update: row %+v bids %+v", row, bids)
	}
	got, err := e.svc.Get(ctx, a.ID)
	if err != nil || got.Price != 200 {
		t.Fatalf("cached %+v %v", got, err)
	}
	_ = held.Release(ctx) // token-checked: must not release the new owner's lock (it is already free)
}

// TestStalledBidLosesLock: the same pause inside the real bid path (a hook stalls
// the write before its SQL transaction past the lock TTL). Another bid commits in
// the meantime; the stalled bid is not committed, reports an error (it may be
// retried with the same bid id), and reads show the other bid.
func TestStalledBidLosesLock(t *testing.T) {
	const ttl = 300 * time.Millisecond
	e, expire := faultEnv(t, ttl)
	a := e.create(t, CreateRequest{StartPrice: 100, Increment: 10})
	ctx := context.Background()

	paused, resume := make(chan int64, 1), make(chan struct{})
	var first atomic.Bool
	e.svc.beforeSQL = func(_ context.Context, fence int64) {
		if !first.CompareAndSwap(false, true) {
			return // only the first write (the "slow" bid) stalls
		}
		paused <- fence
		<-resume
	}
	errc := make(chan error, 1)
	var slow BidResult
	go func() {
		var err error
		slow, err = e.svc.Bid(ctx, BidRequest{AuctionID: a.ID, BidID: "slow", UserID: "slow", Amount: 150})
		errc <- err
	}()
	staleFence := <-paused
	expire()
	r, err := e.svc.Bid(ctx, BidRequest{AuctionID: a.ID, BidID: "fast", UserID: "fast", Amount: 300})
	if err != nil || r.Result != ResultAccepted || r.Auction.Fence <= staleFence {
		t.Fatalf("fast bid: %+v %v (stale fence %d)", r, err, staleFence)
	}
	close(resume)
	if err := <-errc; err == nil {
		t.Fatalf("stalled bid returned %+v, want an error", slow)
	}
	row, _ := e.store.GetAuction(ctx, a.ID)
	bids, _ := e.store.Bids(ctx, a.ID)
	if row.Price != 300 || len(bids) != 1 || bids[0].BidID != "fast" {
		t.Fatalf("row %+v bids %+v", row, bids)
	}
	if got, err := e.svc.Get(ctx, a.ID); err != nil || got.Price != 300 {
		t.Fatalf("cached %+v %v", got, err)
	}
}
