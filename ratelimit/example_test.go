package ratelimit_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/surgekit/surge/ratelimit"
)

// One request per user per 2 seconds, shared by every instance through Redis.
func ExampleNew() {
	mr, _ := miniredis.Run()
	defer mr.Close()
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer rdb.Close()

	lim, err := ratelimit.New(rdb, ratelimit.Every(2*time.Second), ratelimit.WithPrefix("shop:"))
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	for range 2 {
		r, _ := lim.Allow(ctx, "user:42")
		fmt.Println(r.Allowed, r.RetryAfter.Round(time.Second))
	}
	fmt.Println(lim.Key("user:42"))
	// Output:
	// true 0s
	// false 2s
	// shop:ratelimit:user:42
}

// A hot SKU gets a tighter limit than the default; a VIP a looser one.
func ExampleLocal_SetOverride() {
	now := time.Unix(0, 0)
	lim, _ := ratelimit.NewLocal(ratelimit.PerSecond(5),
		ratelimit.WithClock(func() time.Time { return now })) // frozen clock: deterministic
	_ = lim.SetOverride("sku:iphone", ratelimit.PerSecond(2))
	ctx := context.Background()
	for _, key := range []string{"sku:iphone", "sku:socks"} {
		n := 0
		for range 10 {
			if r, _ := lim.Allow(ctx, key); r.Allowed {
				n++
			}
		}
		fmt.Println(key, n)
	}
	// Output:
	// sku:iphone 2
	// sku:socks 5
}

// The middleware answers 429 with Retry-After and RateLimit-* headers.
func ExampleMiddleware() {
	now := time.Unix(0, 0)
	lim, _ := ratelimit.NewLocal(ratelimit.PerMinute(2),
		ratelimit.WithClock(func() time.Time { return now }))
	h := ratelimit.Middleware(lim, ratelimit.KeyByHeader("X-User-ID"))(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") }))
	for range 3 {
		req := httptest.NewRequest("POST", "/seckill", nil)
		req.Header.Set("X-User-ID", "42")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		fmt.Printf("%d remaining=%s retry-after=%q\n", rec.Code,
			rec.Header().Get("RateLimit-Remaining"), rec.Header().Get("Retry-After"))
	}
	// Output:
	// 200 remaining=1 retry-after=""
	// 200 remaining=0 retry-after=""
	// 429 remaining=0 retry-after="30"
}

// With three instances behind a load balancer, each falls back to a third of the
// limit while Redis is unreachable, and returns to Redis by itself.
func ExampleWithFallback() {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	lim, _ := ratelimit.New(rdb, ratelimit.PerSecond(300),
		ratelimit.WithFallback(3),
		ratelimit.WithOnStateChange(func(c ratelimit.StateChange) {
			slog.Warn("rate limiter", "from", c.From, "to", c.To, "err", c.Err)
		}))
	r, err := lim.Allow(context.Background(), "ip:203.0.113.7")
	fmt.Println(r.Allowed, r.Fallback, err)
}
