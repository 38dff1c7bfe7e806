package cache_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/surgekit/surge/cache"
	"github.com/surgekit/surge/internal/redistest"
)

// The delayed delete removes a stale fill that landed after the writer's
// immediate delete.
func TestDoubleDeleteRemovesLateStaleFill(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Client(t)
	src := newSource(1)
	delay := 150 * time.Millisecond
	c := newCache(t, rdb, cache.WithStrategy(cache.DoubleDelete), cache.WithDoubleDeleteDelay(delay))
	w, err := cache.NewDeleteWorker(rdb, cache.WithPrefix(redistest.Prefix(t)), cache.WithPollInterval(10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	g := newGate(src)
	done := make(chan struct{})
	go func() { _, _ = c.Get(ctx, "sku0", g.load); close(done) }()
	<-g.read
	if err := c.Update(ctx, "sku0", func(context.Context) error {
		src.set("sku0", item{ID: "sku0", Price: 200})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	close(g.release)
	<-done
	if v, ok, _ := c.Peek(ctx, "sku0"); !ok || v.Price != 100 {
		t.Fatalf("expected the stale fill to land first, cache holds %+v %v", v, ok)
	}
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, ok, _ := c.Peek(ctx, "sku0"); !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the delayed delete never ran")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if st := w.Stats(); st.Deleted != 1 {
		t.Fatalf("worker stats %+v", st)
	}
	if st := c.Stats(); st.Scheduled != 1 {
		t.Fatalf("cache stats %+v", st)
	}
	if v, err := c.Get(ctx, "sku0", src.load); err != nil || v.Price != 200 {
		t.Fatalf("%+v %v", v, err)
	}
	if err := w.Start(); err == nil {
		t.Fatal("a closed worker restarted")
	}
}

// The schedule is durable: the writer process may vanish right after Update
// and the Redis server may be killed and restarted (AOF) before the delete
// is due; a worker started later still runs it.
func TestDoubleDeleteSurvivesCrashAndRestart(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Server(t, redistest.WithAOF())
	rdb := srv.Client()
	src := newSource(1)
	writer := newCache(t, rdb, cache.WithStrategy(cache.DoubleDelete), cache.WithDoubleDeleteDelay(50*time.Millisecond))
	if err := writer.Update(ctx, "sku0", func(context.Context) error { return nil }); err != nil {
		t.Fatal(err)
	}
	// A stale value lands after both immediate deletes.
	if _, err := writer.Get(ctx, "sku0", src.load); err != nil {
		t.Fatal(err)
	}
	srv.Kill()
	srv.Start()
	rdb2 := srv.Client()
	w, err := cache.NewDeleteWorker(rdb2, cache.WithPrefix(redistest.Prefix(t)))
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(60 * time.Millisecond)
	var n int
	for i := 0; i < 50 && n == 0; i++ {
		if n, err = w.ProcessDue(ctx); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n != 1 {
		t.Fatalf("processed %d", n)
	}
	reader := newCache(t, rdb2)
	if _, ok, _ := reader.Peek(ctx, "sku0"); ok {
		t.Fatal("the scheduled delete did not survive the restart")
	}
}

// A worker that claimed deletes and died before executing them: after the
// visibility timeout another worker runs them.
func TestDoubleDeleteClaimRecovery(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Client(t)
	p := redistest.Prefix(t)
	c := newCache(t, rdb, cache.WithStrategy(cache.DoubleDelete), cache.WithDoubleDeleteDelay(time.Millisecond))
	src := newSource(3)
	for _, k := range []string{"sku0", "sku1", "sku2"} {
		if err := c.Update(ctx, k, func(context.Context) error { return nil }); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(5 * time.Millisecond)
	// The dying worker: claims all three, hangs in its first delete and
	// never acknowledges (as if the process froze or died).
	dying, err := cache.NewDeleteWorker(rdb, cache.WithPrefix(p), cache.WithVisibility(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	started, block, dead := make(chan struct{}, 3), make(chan struct{}), make(chan struct{})
	cache.SetWorkerDelete(dying, func(ctx context.Context, key string) error {
		started <- struct{}{}
		<-block
		return errors.New("frozen worker")
	})
	go func() { defer close(dead); _, _ = dying.ProcessDue(ctx) }()
	defer func() { close(block); <-dead }()
	<-started
	for _, k := range []string{"sku0", "sku1", "sku2"} {
		if _, err := c.Get(ctx, k, src.load); err != nil { // stale fills
			t.Fatal(err)
		}
	}
	healthy, err := cache.NewDeleteWorker(rdb, cache.WithPrefix(p))
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := healthy.ProcessDue(ctx); n != 0 {
		t.Fatalf("claimed deletes were visible before the timeout: %d", n)
	}
	time.Sleep(1100 * time.Millisecond)
	if n, err := healthy.ProcessDue(ctx); err != nil || n != 3 {
		t.Fatalf("recovered %d, %v", n, err)
	}
	for _, k := range []string{"sku0", "sku1", "sku2"} {
		if _, ok, _ := c.Peek(ctx, k); ok {
			t.Fatalf("%s not deleted", k)
		}
	}
}

// Deletes that keep failing are retried with backoff, then reported.
func TestDoubleDeleteRetryThenReport(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Client(t)
	p := redistest.Prefix(t)
	c := newCache(t, rdb, cache.WithStrategy(cache.DoubleDelete), cache.WithDoubleDeleteDelay(time.Millisecond))
	if err := c.Update(ctx, "sku0", func(context.Context) error { return nil }); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var reported []string
	w, err := cache.NewDeleteWorker(rdb, cache.WithPrefix(p), cache.WithRetry(3, time.Millisecond),
		cache.WithPollInterval(2*time.Millisecond),
		cache.WithFailureHandler(func(key string, err error) {
			mu.Lock()
			reported = append(reported, key)
			mu.Unlock()
		}))
	if err != nil {
		t.Fatal(err)
	}
	attempts := 0
	cache.SetWorkerDelete(w, func(ctx context.Context, key string) error {
		attempts++
		return context.DeadlineExceeded
	})
	deadline := time.Now().Add(5 * time.Second)
	for w.Stats().Failed == 0 && time.Now().Before(deadline) {
		if _, err := w.ProcessDue(ctx); err != nil {
			t.Fatal(err)
		}
		time.Sleep(3 * time.Millisecond)
	}
	st := w.Stats()
	if st.Failed != 1 || st.Retried != 2 || attempts != 3 {
		t.Fatalf("stats %+v attempts %d", st, attempts)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(reported) != 1 || reported[0] != p+"cache:{sku0}" {
		t.Fatalf("reported %v", reported)
	}
	failed, err := rdb.LRange(ctx, p+"cache:{dd}:failed", 0, -1).Result()
	if err != nil || len(failed) != 1 {
		t.Fatalf("failed list %v %v", failed, err)
	}
}
