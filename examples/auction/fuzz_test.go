package main

import (
	"testing"
	"time"
)

// FuzzBidValidate: any bid either validates or returns ErrBadInput, never panics,
// and a valid one only has ids safe for Redis keys (no hash-tag braces).
func FuzzBidValidate(f *testing.F) {
	f.Add("a1", "b1", "u1", int64(10))
	f.Add("", "b", "u", int64(-1))
	f.Add("a{x}", "b", "u", int64(1<<60))
	f.Fuzz(func(t *testing.T, auction, bid, user string, amount int64) {
		b := BidRequest{AuctionID: auction, BidID: bid, UserID: user, Amount: amount}
		if err := b.Validate(); err != nil {
			return
		}
		for _, s := range []string{auction, bid, user} {
			if !validID(s) {
				t.Fatalf("accepted id %q", s)
			}
		}
		if amount <= 0 || amount > maxAmount {
			t.Fatalf("accepted amount %d", amount)
		}
	})
}

func FuzzCreateValidate(f *testing.F) {
	f.Add("x", "title", int64(1), int64(1), int64(1000), int64(0))
	f.Add("x", "", int64(-5), int64(0), int64(0), int64(1))
	f.Fuzz(func(t *testing.T, id, title string, start, inc, dur, end int64) {
		now := time.UnixMilli(1_700_000_000_000)
		a, err := CreateRequest{ID: id, Title: title, StartPrice: start, Increment: inc, DurationMs: dur, EndAt: end}.Validate(now)
		if err != nil {
			return
		}
		if a.EndAt <= now.UnixMilli() || a.Increment <= 0 || a.StartPrice < 0 || !validID(a.ID) || a.Price != a.StartPrice {
			t.Fatalf("accepted %+v", a)
		}
	})
}
