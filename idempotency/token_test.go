package idempotency

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
)

func TestPreOrderTokenOneOrder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	alice := Key{Scope: "user:alice", ID: "sale:42"}

	// Opening the order page twice shows the same token.
	tok1, err := s.IssueToken(ctx, alice)
	if err != nil {
		t.Fatal(err)
	}
	tok2, err := s.IssueToken(ctx, alice)
	if err != nil || tok2 != tok1 {
		t.Fatalf("second open: %q %v, want %q", tok2, err, tok1)
	}
	bob := Key{Scope: "user:bob", ID: "sale:42"}
	tokBob, _ := s.IssueToken(ctx, bob)
	if tokBob == tok1 {
		t.Fatal("two users share a token")
	}

	// Both pages submit, many times, concurrently: one order.
	var orders atomic.Int32
	var wg sync.WaitGroup
	results := make(chan string, 200)
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := s.RedeemToken(ctx, alice, tok1, func(context.Context) ([]byte, error) {
				n := orders.Add(1)
				return []byte(fmt.Sprintf("payOrder-%d", n)), nil
			})
			if err == nil {
				results <- string(r.Value)
			} else if !errors.Is(err, ErrInProgress) {
				t.Errorf("redeem: %v", err)
			}
		}()
	}
	wg.Wait()
	close(results)
	if orders.Load() != 1 {
		t.Fatalf("%d orders from one token", orders.Load())
	}
	for v := range results {
		if v != "payOrder-1" {
			t.Fatalf("caller saw %q", v)
		}
	}
	// Re-opening the page after ordering shows the same (used) token; submitting replays.
	tok3, _ := s.IssueToken(ctx, alice)
	if tok3 != tok1 {
		t.Fatal("token changed after redemption")
	}
	r, err := s.RedeemToken(ctx, alice, tok1, value("again"))
	if err != nil || !r.Replayed || string(r.Value) != "payOrder-1" {
		t.Fatalf("resubmit: %+v %v", r, err)
	}

	// A token is bound to its user and purpose; invented tokens are refused.
	for _, c := range []struct {
		k   Key
		tok string
	}{{bob, tok1}, {alice, tokBob}, {Key{Scope: "user:alice", ID: "sale:43"}, tok1}, {Key{Scope: "user:carol", ID: "sale:42"}, "made-up"}} {
		if _, err := s.RedeemToken(ctx, c.k, c.tok, value("x")); !errors.Is(err, ErrTokenUnknown) {
			t.Fatalf("redeem %+v with %q: %v", c.k, c.tok, err)
		}
	}
	if st := s.Stats(); st.TokensIssued != 2 || st.TokensUnknown != 4 {
		t.Fatalf("stats %+v", st)
	}
}

func TestPreOrderTokenTransientFailureKeepsToken(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	k := Key{Scope: "user:1", ID: "sale:1"}
	tok, err := s.IssueToken(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.RedeemToken(ctx, k, tok, func(context.Context) ([]byte, error) {
		return nil, errors.New("db down")
	}); err == nil {
		t.Fatal("want the error")
	}
	if again, _ := s.IssueToken(ctx, k); again != tok {
		t.Fatal("released token was replaced")
	}
	r, err := s.RedeemToken(ctx, k, tok, value("order"))
	if err != nil || r.Replayed || string(r.Value) != "order" {
		t.Fatalf("%+v %v", r, err)
	}
}
