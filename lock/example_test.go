package lock_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/surgekit/surge/lock"
)

// A lock around a critical section, with its fencing token.
func ExampleClient_Acquire() {
	m, _ := miniredis.Run()
	defer m.Close()
	rdb := redis.NewClient(&redis.Options{Addr: m.Addr()})
	defer rdb.Close()

	locks, _ := lock.New(rdb)
	defer locks.Close()
	ctx := context.Background()

	l, err := locks.Acquire(ctx, "order:42", 5*time.Second)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("fence", l.Fence())

	// Held: a second acquirer is refused at once (the default is NoRetry).
	_, err = locks.Acquire(ctx, "order:42", 5*time.Second)
	fmt.Println(errors.Is(err, lock.ErrNotObtained))

	_ = l.Release(ctx)
	l, _ = locks.Acquire(ctx, "order:42", 5*time.Second)
	fmt.Println("fence", l.Fence())
	_ = l.Release(ctx)
	// Output:
	// fence 1
	// true
	// fence 2
}

// Waiting for a busy lock: a retry strategy and a wait deadline, separate
// from the lease.
func ExampleWithRetry() {
	m, _ := miniredis.Run()
	defer m.Close()
	rdb := redis.NewClient(&redis.Options{Addr: m.Addr()})
	defer rdb.Close()
	locks, _ := lock.New(rdb)
	defer locks.Close()
	ctx := context.Background()

	first, _ := locks.Acquire(ctx, "report", time.Minute)
	time.AfterFunc(50*time.Millisecond, func() { _ = first.Release(ctx) })

	l, err := locks.Acquire(ctx, "report", time.Minute,
		lock.WithRetry(lock.ExponentialBackoff(5*time.Millisecond, 100*time.Millisecond)),
		lock.WithWait(5*time.Second))
	fmt.Println(err, l.Fence())
	_ = l.Release(ctx)
	// Output: <nil> 2
}

// The watchdog keeps the lease alive while work runs; the work follows the
// lock's context, which ends the moment the lock is lost.
func ExampleWithWatchdog() {
	m, _ := miniredis.Run()
	defer m.Close()
	rdb := redis.NewClient(&redis.Options{Addr: m.Addr()})
	defer rdb.Close()
	locks, _ := lock.New(rdb)
	defer locks.Close()
	ctx := context.Background()

	l, err := locks.Acquire(ctx, "settle", time.Second, lock.WithWatchdog(100*time.Millisecond))
	if err != nil {
		fmt.Println(err)
		return
	}
	select {
	case <-time.After(300 * time.Millisecond): // three refreshes of work
		fmt.Println("work done, still held:", l.Context().Err() == nil)
	case <-l.Context().Done():
		fmt.Println("lost:", context.Cause(l.Context()))
	}
	_ = l.Release(ctx)
	fmt.Println(context.Cause(l.Context()))
	// Output:
	// work done, still held: true
	// lock: released
}

// Redlock: same API, a majority of independent masters.
func ExampleNewRedlock() {
	var nodes []redis.UniversalClient
	for range 3 {
		m, _ := miniredis.Run()
		defer m.Close()
		c := redis.NewClient(&redis.Options{Addr: m.Addr()})
		defer c.Close()
		nodes = append(nodes, c)
	}
	locks, _ := lock.NewRedlock(nodes)
	defer locks.Close()
	ctx := context.Background()

	l, err := locks.Acquire(ctx, "auction:7", 2*time.Second)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(l.Fence() > 0, time.Until(l.ValidUntil()) < 2*time.Second)
	fmt.Println(l.Release(ctx))
	// Output:
	// true true
	// <nil>
}
