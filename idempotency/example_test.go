package idempotency_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/surgekit/surge/idempotency"
)

func ExampleStore_Do() {
	m, _ := miniredis.Run()
	defer m.Close()
	rdb := redis.NewClient(&redis.Options{Addr: m.Addr()})
	defer rdb.Close()
	store, _ := idempotency.New(rdb)
	defer store.Close()

	ctx := context.Background()
	key := idempotency.Key{Scope: "user:42", ID: "checkout-7f3a"} // scope: who; ID: the client's key
	fp := idempotency.Fingerprint([]byte(`{"sku":"A1","qty":1}`))
	createOrder := func(ctx context.Context) ([]byte, error) {
		fmt.Println("creating the order")
		return []byte("order 1001"), nil
	}

	r, _ := store.Do(ctx, key, fp, createOrder)
	fmt.Println(string(r.Value), r.Replayed)
	r, _ = store.Do(ctx, key, fp, createOrder) // the retry after a timeout
	fmt.Println(string(r.Value), r.Replayed)

	other := idempotency.Fingerprint([]byte(`{"sku":"A1","qty":5}`))
	_, err := store.Do(ctx, key, other, createOrder)
	fmt.Println(errors.Is(err, idempotency.ErrMismatch))
	// Output:
	// creating the order
	// order 1001 false
	// order 1001 true
	// true
}

func ExamplePermanent() {
	m, _ := miniredis.Run()
	defer m.Close()
	rdb := redis.NewClient(&redis.Options{Addr: m.Addr()})
	defer rdb.Close()
	store, _ := idempotency.New(rdb)
	defer store.Close()
	ctx := context.Background()
	key := idempotency.Key{Scope: "user:42", ID: "pay-1"}

	charge := func(ctx context.Context) ([]byte, error) {
		// A declined card fails the same way every time: store it. A plain error
		// (timeout, database down) would release the key for a retry instead.
		return nil, idempotency.Permanent(errors.New("card declined"))
	}
	_, err := store.Do(ctx, key, "fp", charge)
	fmt.Println(err)
	_, err = store.Do(ctx, key, "fp", charge)
	fmt.Println(errors.Is(err, idempotency.ErrStoredFailure), err)
	// Output:
	// card declined
	// true idempotency: stored failure replayed: card declined
}

func ExampleStore_Middleware() {
	m, _ := miniredis.Run()
	defer m.Close()
	rdb := redis.NewClient(&redis.Options{Addr: m.Addr()})
	defer rdb.Close()
	store, _ := idempotency.New(rdb)
	defer store.Close()

	orders := 0
	create := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		orders++
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, "order %d", orders)
	})
	byUser := idempotency.Scope(func(r *http.Request) string { return r.Header.Get("X-User") })
	srv := httptest.NewServer(store.Middleware(byUser)(create))
	defer srv.Close()

	send := func(key, body string) {
		req, _ := http.NewRequest("POST", srv.URL+"/orders", strings.NewReader(body))
		req.Header.Set("X-User", "42")
		if key != "" {
			req.Header.Set("Idempotency-Key", key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			fmt.Println(err)
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode >= 400 {
			b = nil // a problem+json document
		}
		fmt.Println(strings.TrimSpace(fmt.Sprint(resp.StatusCode, " ", resp.Header.Get("Idempotent-Replayed"), " ", string(b))))
	}
	send(`"k-1"`, `{"qty":1}`) // runs
	send(`"k-1"`, `{"qty":1}`) // replayed
	send(`"k-1"`, `{"qty":2}`) // same key, other payload
	send(``, `{"qty":1}`)      // key required
	// Output:
	// 201  order 1
	// 201 true order 1
	// 422
	// 400
}

func ExampleStore_IssueToken() {
	m, _ := miniredis.Run()
	defer m.Close()
	rdb := redis.NewClient(&redis.Options{Addr: m.Addr()})
	defer rdb.Close()
	store, _ := idempotency.New(rdb)
	defer store.Close()
	ctx := context.Background()
	buyer := idempotency.Key{Scope: "user:42", ID: "sale:iphone"}

	// The user opens the order page twice: both pages carry the same preOrderId.
	page1, _ := store.IssueToken(ctx, buyer)
	page2, _ := store.IssueToken(ctx, buyer)
	fmt.Println(page1 == page2)

	// Both pages submit: one order (payOrderId), the second submit replays it.
	placeOrder := func(ctx context.Context) ([]byte, error) { return []byte("payOrder-9001"), nil }
	r1, _ := store.RedeemToken(ctx, buyer, page1, placeOrder)
	r2, _ := store.RedeemToken(ctx, buyer, page2, placeOrder)
	fmt.Println(string(r1.Value), r1.Replayed, string(r2.Value), r2.Replayed)

	_, err := store.RedeemToken(ctx, buyer, "forged", placeOrder)
	fmt.Println(errors.Is(err, idempotency.ErrTokenUnknown))
	// Output:
	// true
	// payOrder-9001 false payOrder-9001 true
	// true
}

func ExampleParseKeyHeader() {
	for _, v := range []string{`"8e03978e-40d5-43e8-bc93-6894a57f9324"`, `plain-key-1`, `"k";v=1`, `"open`} {
		key, err := idempotency.ParseKeyHeader(v, false)
		fmt.Printf("%q %v\n", key, err)
	}
	// Output:
	// "8e03978e-40d5-43e8-bc93-6894a57f9324" <nil>
	// "plain-key-1" <nil>
	// "k" <nil>
	// "" idempotency: Idempotency-Key header is not a valid structured-field string
}
