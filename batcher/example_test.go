package batcher_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/surgekit/surge/batcher"
)

// Orders are aggregated into writes of up to 3; Close delivers the tail.
func Example() {
	ctx := context.Background()
	b, err := batcher.New(func(ctx context.Context, orders []string) error {
		fmt.Println("write", orders) // e.g. one Kafka produce request
		return nil
	}, batcher.WithMaxItems(3), batcher.WithMaxWait(time.Hour))
	if err != nil {
		panic(err)
	}
	for _, o := range []string{"o1", "o2", "o3", "o4"} {
		if err := b.Add(ctx, o); err != nil {
			panic(err)
		}
	}
	if err := b.Close(ctx); err != nil {
		panic(err)
	}
	fmt.Println(b.Add(ctx, "o5"))
	// Output:
	// write [o1 o2 o3]
	// write [o4]
	// batcher: closed
}

// Submit returns a Future reporting the error of the item's batch; failed batches
// go to the dead-letter callback after the retries.
func ExampleBatcher_Submit() {
	ctx := context.Background()
	b, _ := batcher.New(func(ctx context.Context, ids []int) error {
		for _, id := range ids {
			if id < 0 {
				return batcher.Permanent(errors.New("negative id")) // no retry
			}
		}
		return nil
	}, batcher.WithMaxItems(1),
		batcher.WithRetry(3, 10*time.Millisecond, time.Second),
		batcher.WithDeadLetter(func(ctx context.Context, ids []int, err error) {
			fmt.Println("dead letter", ids, err)
		}))
	defer b.Close(ctx)

	ok, _ := b.Submit(ctx, 7)
	fmt.Println("7:", ok.Wait(ctx))
	bad, _ := b.Submit(ctx, -1)
	fmt.Println("-1:", bad.Wait(ctx))
	// Output:
	// 7: <nil>
	// dead letter [-1] negative id
	// -1: negative id
}

// WithKey keeps each user's events in order while different users flush in
// parallel.
func ExampleWithKey() {
	type event struct {
		user string
		seq  int
	}
	var mu sync.Mutex
	got := map[string][]int{}
	b, _ := batcher.New(func(ctx context.Context, evs []event) error {
		mu.Lock()
		defer mu.Unlock()
		for _, e := range evs {
			got[e.user] = append(got[e.user], e.seq)
		}
		return nil
	}, batcher.WithKey(func(e event) string { return e.user }), batcher.WithMaxItems(2))
	ctx := context.Background()
	for i := range 5 {
		b.Add(ctx, event{"alice", i})
		b.Add(ctx, event{"bob", i})
	}
	b.Close(ctx)
	users := []string{}
	for u := range got {
		users = append(users, u)
	}
	sort.Strings(users)
	for _, u := range users {
		fmt.Println(u, got[u])
	}
	// Output:
	// alice [0 1 2 3 4]
	// bob [0 1 2 3 4]
}

// TryAdd sheds load instead of waiting when the queue is full.
func ExampleBatcher_TryAdd() {
	release := make(chan struct{})
	b, _ := batcher.New(func(ctx context.Context, items []int) error {
		<-release // a stuck sink
		return nil
	}, batcher.WithMaxItems(1), batcher.WithQueueSize(1))
	fmt.Println(b.TryAdd(1))
	fmt.Println(b.TryAdd(2))
	close(release)
	b.Close(context.Background())
	fmt.Println(b.Stats().Delivered, b.Stats().Rejected)
	// Output:
	// <nil>
	// batcher: queue full
	// 1 1
}

// A flush function that knows which items failed returns ItemErrors: each Future
// gets its own item's result and only the failed items are dead-lettered.
func ExampleItemErrors() {
	ctx := context.Background()
	b, _ := batcher.New(func(ctx context.Context, skus []string) error {
		errs := make(batcher.ItemErrors, len(skus))
		for i, s := range skus {
			if s == "" {
				errs[i] = errors.New("empty sku")
			}
		}
		return errs
	}, batcher.WithMaxItems(3), batcher.WithDeadLetter(func(ctx context.Context, skus []string, err error) {
		fmt.Printf("dead letter %q: %v\n", skus, err)
	}))
	var fs []batcher.Future
	for _, s := range []string{"a", "", "c"} {
		f, _ := b.Submit(ctx, s)
		fs = append(fs, f)
	}
	for _, f := range fs {
		fmt.Println(f.Wait(ctx))
	}
	b.Close(ctx)
	fmt.Println(b.Stats().Delivered, b.Stats().Failed)
	// Output:
	// dead letter [""]: empty sku
	// <nil>
	// empty sku
	// <nil>
	// 2 1
}

// A Producer gives one goroutine a private buffer, so many producers adding one
// item at a time do not contend on the shard lock. Close drains its buffer.
func ExampleBatcher_NewProducer() {
	ctx := context.Background()
	b, _ := batcher.New(func(ctx context.Context, ids []int) error {
		fmt.Println("write", ids)
		return nil
	}, batcher.WithMaxItems(10), batcher.WithMaxWait(time.Hour))
	p, _ := b.NewProducer(2) // hands items over two at a time
	for i := range 5 {
		if err := p.Add(ctx, i); err != nil {
			panic(err)
		}
	}
	b.Close(ctx) // item 4 is still in the producer's buffer: Close pushes it
	fmt.Println(p.Add(ctx, 5))
	// Output:
	// write [0 1 2 3 4]
	// batcher: closed
}
