package batcher

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestNewValidation(t *testing.T) {
	noop := func(context.Context, []int) error { return nil }
	cases := map[string][]Option{
		"max items":     {WithMaxItems(0)},
		"max bytes":     {WithMaxBytes(-1)},
		"bytes no size": {WithMaxBytes(10)},
		"max wait":      {WithMaxWait(0)},
		"shards":        {WithShards(0)},
		"shards big":    {WithShards(5000)},
		"queue":         {WithQueueSize(0)},
		"retry":         {WithRetry(0, time.Millisecond, time.Second)},
		"retry max":     {WithRetry(3, time.Second, time.Millisecond)},
		"timeout":       {WithFlushTimeout(-1)},
		"nil option":    {nil},
		"nil key":       {WithKey[int](nil)},
		"nil size":      {WithSize[int](nil)},
		"nil dlq":       {WithDeadLetter[int](nil)},
		"nil handler":   {WithErrorHandler(nil)},
		"key type":      {WithKey(func(string) string { return "" })},
		"size type":     {WithSize(func(string) int { return 0 })},
		"dlq type":      {WithDeadLetter(func(context.Context, []string, error) {})},
		"nil key hash":  {WithKeyHash[int](nil)},
		"key hash type": {WithKeyHash(func(string) uint64 { return 0 })},
		"both keys":     {WithKey(func(int) string { return "" }), WithKeyHash(func(i int) uint64 { return 0 })},
	}
	for name, opts := range cases {
		b, err := New(noop, opts...)
		if !errors.Is(err, ErrInvalid) || b != nil {
			t.Errorf("%s: New = %v, %v; want ErrInvalid", name, b, err)
		}
	}
	if _, err := New[int](nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("nil flush: %v", err)
	}
	b, err := New(noop)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	var f Future
	if f.Wait(context.Background()) != ErrInvalid || f.Err() != ErrInvalid {
		t.Error("zero Future must report ErrInvalid")
	}
	<-f.Done()
}

// gate is a flush function that blocks until released, recording batches.
type gate struct {
	release chan struct{}
	mu      sync.Mutex
	got     []int
	entered chan struct{}
}

func newGate() *gate { return &gate{release: make(chan struct{}), entered: make(chan struct{}, 100)} }

func (g *gate) flush(_ context.Context, items []int) error {
	g.entered <- struct{}{}
	<-g.release
	g.mu.Lock()
	g.got = append(g.got, items...)
	g.mu.Unlock()
	return nil
}

func TestBackpressureTryAddAndContext(t *testing.T) {
	g := newGate()
	b, err := New(g.flush, WithMaxItems(1), WithQueueSize(2))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := range 2 {
		if err := b.TryAdd(i); err != nil {
			t.Fatal(err)
		}
	}
	<-g.entered // batch [0] in flight, [1] waiting: queue full
	if err := b.TryAdd(2); !errors.Is(err, ErrFull) {
		t.Fatalf("TryAdd on full queue: %v", err)
	}
	if _, err := b.TrySubmit(2); !errors.Is(err, ErrFull) {
		t.Fatalf("TrySubmit on full queue: %v", err)
	}
	// Deadline while blocked.
	dctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if err := b.Add(dctx, 2); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Add with deadline on full queue: %v", err)
	}
	// Cancel while blocked.
	cctx, cancel2 := context.WithCancel(ctx)
	errc := make(chan error, 1)
	go func() { _, err := b.AddMany(cctx, []int{7, 8}); errc <- err }()
	time.Sleep(10 * time.Millisecond)
	cancel2()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("AddMany canceled while blocked: %v", err)
	}
	// A blocked Add proceeds once room frees up.
	added := make(chan error, 1)
	go func() { added <- b.Add(ctx, 3) }()
	time.Sleep(10 * time.Millisecond)
	g.release <- struct{}{} // finish batch [0]
	if err := <-added; err != nil {
		t.Fatalf("blocked Add after room freed: %v", err)
	}
	// Close while an Add is blocked: the Add gets ErrClosed, Close drains the rest.
	blocked := make(chan error, 1)
	go func() { blocked <- b.Add(ctx, 4) }()
	time.Sleep(10 * time.Millisecond)
	sctx, cancel3 := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel3()
	if err := b.Close(sctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close with stuck flush: %v", err)
	}
	if err := <-blocked; !errors.Is(err, ErrClosed) {
		t.Fatalf("Add blocked across Close: %v", err)
	}
	close(g.release)
	if err := b.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(g.got) != "[0 1 3]" {
		t.Errorf("delivered %v, want [0 1 3]", g.got)
	}
	st := b.Stats()
	if st.Rejected != 5 || st.Added != 3 || st.Delivered != 3 {
		t.Errorf("stats rejected=%d added=%d delivered=%d, want 5 3 3", st.Rejected, st.Added, st.Delivered)
	}
}

func TestPanicContained(t *testing.T) {
	var mu sync.Mutex
	var dead [][]int
	var handled []error
	b, err := New(func(_ context.Context, items []int) error {
		if items[0] == 13 {
			panic("unlucky")
		}
		return nil
	}, WithMaxItems(1),
		WithDeadLetter(func(_ context.Context, items []int, err error) {
			mu.Lock()
			dead = append(dead, append([]int(nil), items...))
			mu.Unlock()
			panic("dead letter panics too")
		}),
		WithErrorHandler(func(err error) { mu.Lock(); handled = append(handled, err); mu.Unlock() }))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	f13, err := b.Submit(ctx, 13)
	if err != nil {
		t.Fatal(err)
	}
	err = f13.Wait(ctx)
	var pe *PanicError
	if !errors.Is(err, ErrPanic) || !errors.As(err, &pe) || pe.Value != "unlucky" || !strings.Contains(string(pe.Stack), "panic") {
		t.Fatalf("panicking batch error: %v", err)
	}
	// The shard survives and keeps delivering.
	f1, _ := b.Submit(ctx, 1)
	if err := f1.Wait(ctx); err != nil {
		t.Fatalf("after panic: %v", err)
	}
	if err := b.Close(ctx); err != nil {
		t.Fatal(err)
	}
	st := b.Stats()
	if st.Panics != 1 || st.FailedBatches != 1 || st.Failed != 1 || st.Delivered != 1 || st.DeadLetterPanics != 1 {
		t.Errorf("stats %+v", st)
	}
	if len(dead) != 1 || dead[0][0] != 13 || len(handled) != 1 || !errors.Is(handled[0], ErrPanic) {
		t.Errorf("dead letters %v, handled %v", dead, handled)
	}
}

func TestRetryThenSuccessAndDeadLetter(t *testing.T) {
	errBoom := errors.New("boom")
	var mu sync.Mutex
	calls := map[int]int{}
	var dead []int
	var deadErr error
	b, err := New(func(_ context.Context, items []int) error {
		mu.Lock()
		defer mu.Unlock()
		calls[items[0]]++
		switch {
		case items[0] == 1 && calls[1] < 3:
			return errBoom // succeeds on the third attempt
		case items[0] == 2:
			return errBoom // always fails
		case items[0] == 3:
			return Permanent(errBoom) // never retried
		}
		return nil
	}, WithMaxItems(1), WithRetry(3, time.Millisecond, 4*time.Millisecond),
		WithDeadLetter(func(_ context.Context, items []int, err error) {
			mu.Lock()
			dead = append(dead, items...)
			deadErr = err
			mu.Unlock()
		}))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var fs []Future
	for i := 1; i <= 4; i++ {
		f, err := b.Submit(ctx, i)
		if err != nil {
			t.Fatal(err)
		}
		fs = append(fs, f)
	}
	want := []error{nil, errBoom, errBoom, nil}
	for i, f := range fs {
		if err := f.Wait(ctx); !errors.Is(err, want[i]) || (want[i] == nil && err != nil) {
			t.Errorf("item %d: %v, want %v", i+1, err, want[i])
		}
	}
	if err := b.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if calls[1] != 3 || calls[2] != 3 || calls[3] != 1 || calls[4] != 1 {
		t.Errorf("calls %v", calls)
	}
	if fmt.Sprint(dead) != "[2 3]" || !errors.Is(deadErr, errBoom) {
		t.Errorf("dead letters %v (%v)", dead, deadErr)
	}
	st := b.Stats()
	if st.Retries != 4 || st.FailedBatches != 2 || st.Delivered != 2 || st.Failed != 2 {
		t.Errorf("stats %+v", st)
	}
	for _, d := range []time.Duration{backoff(time.Millisecond, 4*time.Millisecond, 1), backoff(time.Millisecond, 4*time.Millisecond, 10)} {
		if d < 500*time.Microsecond || d > 4*time.Millisecond {
			t.Errorf("backoff %v out of range", d)
		}
	}
}

func TestFlushTimeoutContext(t *testing.T) {
	b, err := New(func(ctx context.Context, items []int) error {
		<-ctx.Done()
		return ctx.Err()
	}, WithFlushTimeout(5*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	f, _ := b.Submit(ctx, 1)
	if err := b.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := f.Wait(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("flush timeout: %v", err)
	}
	if err := b.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestItemErrors: per-item results. Odd items fail transiently on the first
// attempt, item 9 fails permanently; on the retry (odd items but 9 only) item 3
// fails again. Each Future reports its own item's error, only failed items are
// retried and dead-lettered.
func TestItemErrors(t *testing.T) {
	errTransient, errBad := errors.New("transient"), errors.New("bad")
	var mu sync.Mutex
	var calls [][]int
	var dead []int
	var deadErr error
	b, err := New(func(_ context.Context, items []int) error {
		mu.Lock()
		calls = append(calls, append([]int(nil), items...))
		attempt := len(calls)
		mu.Unlock()
		ie := make(ItemErrors, len(items))
		for j, v := range items {
			switch {
			case v == 9:
				ie[j] = Permanent(errBad)
			case attempt == 1 && v%2 == 1, attempt == 2 && v == 3:
				ie[j] = errTransient
			}
		}
		return ie
	}, WithMaxItems(10), WithRetry(2, 0, 0), WithDeadLetter(func(_ context.Context, items []int, err error) {
		dead = append([]int(nil), items...)
		deadErr = err
	}))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var fs []Future
	for i := range 10 {
		f, err := b.Submit(ctx, i)
		if err != nil {
			t.Fatal(err)
		}
		fs = append(fs, f)
	}
	for i, f := range fs {
		err := f.Wait(ctx)
		switch i {
		case 3:
			if !errors.Is(err, errTransient) {
				t.Errorf("item 3: %v", err)
			}
		case 9:
			if !errors.Is(err, errBad) {
				t.Errorf("item 9: %v", err)
			}
		default:
			if err != nil {
				t.Errorf("item %d: %v", i, err)
			}
		}
	}
	if err := b.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(calls) != "[[0 1 2 3 4 5 6 7 8 9] [1 3 5 7]]" {
		t.Errorf("calls %v", calls)
	}
	var ie ItemErrors
	if fmt.Sprint(dead) != "[3 9]" || !errors.As(deadErr, &ie) || len(ie) != 2 || !errors.Is(ie[0], errTransient) || !errors.Is(ie[1], errBad) {
		t.Errorf("dead letter %v %v", dead, deadErr)
	}
	if !errors.Is(deadErr, errBad) || !strings.Contains(deadErr.Error(), "2 of 2 items failed") {
		t.Errorf("ItemErrors unwrap/message: %v", deadErr)
	}
	st := b.Stats()
	if st.Delivered != 8 || st.Failed != 2 || st.Retries != 1 || st.FailedBatches != 1 || st.Batches != 1 {
		t.Errorf("stats %+v", st)
	}
}

// TestItemErrorsWrongLengthAndAllNil: a mis-sized ItemErrors fails the whole
// batch (and is not compared, it is uncomparable); an all-nil one is success.
func TestItemErrorsWrongLengthAndAllNil(t *testing.T) {
	b, err := New(func(_ context.Context, items []int) error {
		if items[0] == 0 {
			return ItemErrors{errors.New("x")}
		}
		return make(ItemErrors, len(items))
	}, WithMaxItems(2), WithDeadLetter(func(context.Context, []int, error) {}))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	f0, _ := b.Submit(ctx, 0)
	f1, _ := b.Submit(ctx, 5)
	f2, _ := b.Submit(ctx, 1)
	f3, _ := b.Submit(ctx, 2)
	var ie ItemErrors
	if err := f0.Wait(ctx); !errors.As(err, &ie) || len(ie) != 1 {
		t.Errorf("f0: %v", err)
	}
	if err := f1.Wait(ctx); !errors.As(err, &ie) {
		t.Errorf("f1: %v", err)
	}
	if f2.Wait(ctx) != nil || f3.Wait(ctx) != nil {
		t.Errorf("all-nil ItemErrors: %v %v", f2.Err(), f3.Err())
	}
	if err := b.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if st := b.Stats(); st.Failed != 2 || st.Delivered != 2 {
		t.Errorf("stats %+v", st)
	}
}
