package cache_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/surgekit/surge/cache"
)

type product struct {
	Name  string
	Price int
}

func Example() {
	mr, _ := miniredis.Run()
	defer mr.Close()
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer rdb.Close()
	ctx := context.Background()

	db := map[string]product{"p1": {"lamp", 30}}
	load := func(ctx context.Context, id string) (product, error) {
		p, ok := db[id]
		if !ok {
			return product{}, cache.ErrNotFound
		}
		return p, nil
	}
	products, err := cache.New[product](rdb, cache.WithTTL(time.Minute))
	if err != nil {
		panic(err)
	}
	p, _ := products.Get(ctx, "p1", load) // miss: loads and fills
	p, _ = products.Get(ctx, "p1", load)  // hit
	fmt.Println(p.Name, p.Price)
	_, err = products.Get(ctx, "nope", load) // cached as a not-found placeholder
	fmt.Println(errors.Is(err, cache.ErrNotFound))
	st := products.Stats()
	fmt.Println("loads:", st.Loads, "hits:", st.Hits)
	// Output:
	// lamp 30
	// true
	// loads: 2 hits: 1
}

// The strong mode: reads fill only under a lease that Update voids.
func ExampleCache_Update() {
	mr, _ := miniredis.Run()
	defer mr.Close()
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer rdb.Close()
	ctx := context.Background()

	price := 30
	load := func(context.Context, string) (int, error) { return price, nil }
	prices, _ := cache.New[int](rdb, cache.WithStrategy(cache.Lease))
	v, _ := prices.Get(ctx, "p1", load)
	fmt.Println(v)
	_ = prices.Update(ctx, "p1", func(ctx context.Context) error {
		price = 25 // UPDATE products SET price = 25 ...
		return nil
	})
	v, _ = prices.Get(ctx, "p1", load)
	fmt.Println(v)
	// Output:
	// 30
	// 25
}

// Delayed double delete: the third delete is scheduled in Redis and run by a
// worker that the application starts and closes.
func ExampleNewDeleteWorker() {
	mr, _ := miniredis.Run()
	defer mr.Close()
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer rdb.Close()
	ctx := context.Background()

	c, _ := cache.New[int](rdb, cache.WithStrategy(cache.DoubleDelete), cache.WithDoubleDeleteDelay(10*time.Millisecond))
	w, _ := cache.NewDeleteWorker(rdb, cache.WithPollInterval(5*time.Millisecond))
	_ = w.Start()
	_ = c.Update(ctx, "p1", func(context.Context) error { return nil })
	for deadline := time.Now().Add(5 * time.Second); w.Stats().Deleted == 0 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	_ = w.Close()
	fmt.Println("delayed deletes:", w.Stats().Deleted)
	// Output:
	// delayed deletes: 1
}

// A Bloom filter sized for a million ids at 1% false positives, in front of
// the loader: ids it has never seen do not reach Redis placeholders or the DB.
func ExampleBloomSize() {
	m, k, _ := cache.BloomSize(1_000_000, 0.01)
	fmt.Printf("%d bits (%.1f MiB), %d hashes\n", m, float64(m)/8/(1<<20), k)
	f, _ := cache.NewLocalBloom(m, k)
	_ = f.Add(context.Background(), "p1")
	in, _ := f.MayContain(context.Background(), "p1")
	fmt.Println(in)
	// Output:
	// 9585059 bits (1.1 MiB), 7 hashes
	// true
}
