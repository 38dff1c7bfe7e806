package stock_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/surgekit/surge/stock"
)

func Example() {
	mr, _ := miniredis.Run()
	defer mr.Close()
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer rdb.Close()
	ctx := context.Background()

	inv, err := stock.New(rdb)
	if err != nil {
		panic(err)
	}
	defer inv.Close()
	_, _ = inv.Load(ctx, "load-1", "phone", 2, stock.SKUConfig{UserLimit: 1})

	r, err := inv.Deduct(ctx, stock.Op{ID: "order-1", User: "alice", Items: []stock.Item{{SKU: "phone", Qty: 1}}})
	fmt.Println(r.State, r.Remaining, err)
	// A retry of the same op id is answered from the journal.
	r, err = inv.Deduct(ctx, stock.Op{ID: "order-1", User: "alice", Items: []stock.Item{{SKU: "phone", Qty: 1}}})
	fmt.Println(r.State, r.Duplicate, err)
	_, err = inv.Deduct(ctx, stock.Op{ID: "order-2", User: "alice", Items: []stock.Item{{SKU: "phone", Qty: 1}}})
	fmt.Println(errors.Is(err, stock.ErrOverLimit))
	_, _ = inv.Deduct(ctx, stock.Op{ID: "order-3", User: "bob", Items: []stock.Item{{SKU: "phone", Qty: 1}}})
	_, err = inv.Deduct(ctx, stock.Op{ID: "order-4", User: "carol", Items: []stock.Item{{SKU: "phone", Qty: 1}}})
	fmt.Println(errors.Is(err, stock.ErrSoldOut))
	// Output:
	// deducted 1 <nil>
	// deducted true <nil>
	// true
	// true
}

// Reserve at order time, confirm at payment or release on timeout.
func ExampleStock_Reserve() {
	mr, _ := miniredis.Run()
	defer mr.Close()
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer rdb.Close()
	ctx := context.Background()
	inv, _ := stock.New(rdb)
	defer inv.Close()
	_, _ = inv.Load(ctx, "load-1", "ticket", 10, stock.SKUConfig{})

	_, _ = inv.Reserve(ctx, stock.Op{ID: "paid", Items: []stock.Item{{SKU: "ticket", Qty: 2}}})
	_, _ = inv.Reserve(ctx, stock.Op{ID: "unpaid", Items: []stock.Item{{SKU: "ticket", Qty: 3}}})
	_, _ = inv.Confirm(ctx, "ticket", "paid")
	_, _ = inv.Release(ctx, "ticket", "unpaid")
	l, _ := inv.Levels(ctx, "ticket")
	fmt.Printf("%+v\n", l)
	// Output: {Available:8 Reserved:0 Sold:2 Total:10}
}

// Revert before the op arrives leaves a tombstone: the late op is refused.
func ExampleStock_Revert() {
	mr, _ := miniredis.Run()
	defer mr.Close()
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer rdb.Close()
	ctx := context.Background()
	inv, _ := stock.New(rdb)
	defer inv.Close()
	_, _ = inv.Load(ctx, "load-1", "gift", 1, stock.SKUConfig{})

	r, _ := inv.Revert(ctx, "gift", "tx-9") // the compensation overtook the try
	fmt.Println(r.State)
	_, err := inv.Deduct(ctx, stock.Op{ID: "tx-9", Items: []stock.Item{{SKU: "gift", Qty: 1}}})
	fmt.Println(errors.Is(err, stock.ErrReverted))
	st, _ := inv.CheckBack(ctx, "gift", "tx-9")
	fmt.Println(st)
	// Output:
	// tombstone
	// true
	// failed
}

// Consume delivers every applied op at least once; persist it idempotently by op id.
func ExampleStock_Consume() {
	mr, _ := miniredis.Run()
	defer mr.Close()
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer rdb.Close()
	inv, _ := stock.New(rdb)
	defer inv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	_, _ = inv.Load(ctx, "load-1", "mug", 5, stock.SKUConfig{})
	_, _ = inv.Deduct(ctx, stock.Op{ID: "order-1", Items: []stock.Item{{SKU: "mug", Qty: 2}}})

	seen := 0
	_ = inv.Consume(ctx, stock.ConsumerConfig{Group: "mug", Consumer: "worker-1"},
		func(_ context.Context, ev stock.Event) error {
			fmt.Println(ev.Op, ev.State, ev.Items)
			if seen++; seen == 2 {
				cancel()
			}
			return nil
		})
	// Output:
	// load-1 stock-in [{mug 5}]
	// order-1 deducted [{mug 2}]
}

// A hot SKU is split over buckets with different hash tags.
func ExampleStock_Hot() {
	mr, _ := miniredis.Run()
	defer mr.Close()
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer rdb.Close()
	ctx := context.Background()
	inv, _ := stock.New(rdb)
	defer inv.Close()
	h, _ := inv.Hot("console", 4)
	_ = h.Load(ctx, "load-1", 10, stock.SKUConfig{})
	sold := 0
	for i := range 12 {
		if _, err := h.Deduct(ctx, stock.Op{ID: fmt.Sprint("o", i), Items: []stock.Item{{SKU: "console", Qty: 1}}}); err == nil {
			sold++
		}
	}
	sum, _, _ := h.Levels(ctx)
	fmt.Println(sold, sum.Sold, sum.Available)
	// Output: 10 10 0
}
