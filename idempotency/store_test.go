package idempotency

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/surgekit/surge/internal/redistest"
)

func newStore(t testing.TB, opts ...Option) *Store {
	t.Helper()
	return newStoreOn(t, redistest.Client(t), opts...)
}

func newStoreOn(t testing.TB, rdb redis.UniversalClient, opts ...Option) *Store {
	t.Helper()
	s, err := New(rdb, append([]Option{WithPrefix(redistest.Prefix(t))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func value(v string) func(context.Context) ([]byte, error) {
	return func(context.Context) ([]byte, error) { return []byte(v), nil }
}

func TestDoRunsOnceThenReplays(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	k := Key{Scope: "user:1", ID: "order-1"}
	var runs atomic.Int32
	fn := func(context.Context) ([]byte, error) { runs.Add(1); return []byte("order#77"), nil }
	r1, err := s.Do(ctx, k, "fp", fn)
	if err != nil || r1.Replayed || string(r1.Value) != "order#77" {
		t.Fatalf("first: %+v %v", r1, err)
	}
	for i := 0; i < 3; i++ {
		r, err := s.Do(ctx, k, "fp", fn)
		if err != nil || !r.Replayed || string(r.Value) != "order#77" {
			t.Fatalf("duplicate %d: %+v %v", i, r, err)
		}
	}
	if runs.Load() != 1 {
		t.Fatalf("fn ran %d times", runs.Load())
	}
	st := s.Stats()
	if st.Claims != 1 || st.Replays != 3 || st.Stored != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestEmptyResultReplays(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	k := Key{ID: "empty"}
	if _, err := s.Do(ctx, k, "fp", value("")); err != nil {
		t.Fatal(err)
	}
	r, err := s.Do(ctx, k, "fp", value("other"))
	if err != nil || !r.Replayed || len(r.Value) != 0 {
		t.Fatalf("%+v %v", r, err)
	}
}

func TestMismatch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	k := Key{ID: "k"}
	if _, err := s.Do(ctx, k, "fp-a", value("a")); err != nil {
		t.Fatal(err)
	}
	_, err := s.Do(ctx, k, "fp-b", func(context.Context) ([]byte, error) {
		t.Error("fn ran on a mismatch")
		return nil, nil
	})
	if !errors.Is(err, ErrMismatch) {
		t.Fatalf("err = %v, want ErrMismatch", err)
	}
	// mismatch while the first is still running is refused too
	k2 := Key{ID: "k2"}
	started, release := make(chan struct{}), make(chan struct{})
	go func() {
		_, _ = s.Do(ctx, k2, "fp-a", func(context.Context) ([]byte, error) {
			close(started)
			<-release
			return nil, nil
		})
	}()
	<-started
	if _, err := s.Do(ctx, k2, "fp-b", value("b")); !errors.Is(err, ErrMismatch) {
		t.Fatalf("in-flight mismatch: %v", err)
	}
	if _, err := s.Do(ctx, k2, "fp-a", value("b")); !errors.Is(err, ErrInProgress) {
		t.Fatalf("in-flight duplicate: %v", err)
	}
	close(release)
	if s.Stats().Mismatches != 2 {
		t.Fatalf("stats %+v", s.Stats())
	}
}

func TestScopesIsolated(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	// Equal IDs in different scopes, and scope/ID splits that would collide if the
	// parts were simply concatenated.
	keys := []Key{{"alice", "k"}, {"bob", "k"}, {"", "alice:k"}, {"alice:", "k"}, {"a{b", "c}"}, {"a", "{b}c"}}
	for i, k := range keys {
		r, err := s.Do(ctx, k, "fp", value(fmt.Sprint(i)))
		if err != nil || r.Replayed || string(r.Value) != fmt.Sprint(i) {
			t.Fatalf("key %+v: %+v %v (collided with another scope)", k, r, err)
		}
	}
}

func TestConcurrentSameKeyRunsOnce(t *testing.T) {
	t.Parallel()
	for _, wait := range []time.Duration{0, 10 * time.Second} {
		t.Run(fmt.Sprintf("wait=%v", wait), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s := newStore(t, WithWait(wait))
			const n = 400
			var runs, gotValue, inProgress atomic.Int32
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := 0; i < n; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					r, err := s.Do(ctx, Key{Scope: "u", ID: "same"}, "fp", func(context.Context) ([]byte, error) {
						runs.Add(1)
						time.Sleep(100 * time.Millisecond)
						return []byte("result-1"), nil
					})
					switch {
					case err == nil && string(r.Value) == "result-1":
						gotValue.Add(1)
					case errors.Is(err, ErrInProgress) && wait == 0:
						inProgress.Add(1)
					default:
						t.Errorf("caller got %+v %v", r, err)
					}
				}()
			}
			close(start)
			wg.Wait()
			if runs.Load() != 1 {
				t.Fatalf("fn ran %d times, want 1", runs.Load())
			}
			if gotValue.Load()+inProgress.Load() != n || gotValue.Load() < 1 {
				t.Fatalf("value=%d inProgress=%d", gotValue.Load(), inProgress.Load())
			}
			if wait > 0 && gotValue.Load() != n {
				t.Fatalf("with wait every caller must get the value, %d did", gotValue.Load())
			}
			st := s.Stats()
			if st.Claims != 1 || st.Takeovers != 0 || int(st.Replays+st.InProgress+st.Claims) != n {
				t.Fatalf("stats %+v", st)
			}
			r, err := s.Do(ctx, Key{Scope: "u", ID: "same"}, "fp", value("x"))
			if err != nil || !r.Replayed || string(r.Value) != "result-1" {
				t.Fatalf("after: %+v %v", r, err)
			}
		})
	}
}

func TestFailurePolicy(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	errSoldOut := errors.New("sold out")
	var runs atomic.Int32

	// Permanent failure: stored, replayed as *StoredFailure, fn not run again.
	k := Key{ID: "perm"}
	_, err := s.Do(ctx, k, "fp", func(context.Context) ([]byte, error) {
		runs.Add(1)
		return []byte("partial"), Permanent(errSoldOut)
	})
	if !errors.Is(err, errSoldOut) || errors.Is(err, ErrStoredFailure) {
		t.Fatalf("first: %v", err)
	}
	r, err := s.Do(ctx, k, "fp", value("ok"))
	var sf *StoredFailure
	if !errors.As(err, &sf) || !errors.Is(err, ErrStoredFailure) || sf.Message != "sold out" || !r.Replayed || string(r.Value) != "partial" {
		t.Fatalf("replay: %+v %v", r, err)
	}

	// Transient failure: released, next duplicate runs.
	k = Key{ID: "transient"}
	_, err = s.Do(ctx, k, "fp", func(context.Context) ([]byte, error) {
		runs.Add(1)
		return nil, errors.New("db timeout")
	})
	if err == nil || err.Error() != "db timeout" {
		t.Fatalf("transient: %v", err)
	}
	r, err = s.Do(ctx, k, "fp", value("second"))
	if err != nil || r.Replayed || string(r.Value) != "second" {
		t.Fatalf("after release: %+v %v", r, err)
	}

	// A custom policy can store everything.
	s2 := newStore(t, WithPolicy(func(error) Decision { return Keep }))
	k = Key{ID: "custom"}
	_, _ = s2.Do(ctx, k, "fp", func(context.Context) ([]byte, error) { return nil, errors.New("boom") })
	if _, err := s2.Do(ctx, k, "fp", value("x")); !errors.Is(err, ErrStoredFailure) {
		t.Fatalf("custom policy: %v", err)
	}
	st := s.Stats()
	if st.StoredFailures != 1 || st.Released != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestPanicReleasesKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	k := Key{ID: "panic"}
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("panic swallowed")
			}
		}()
		_, _ = s.Do(ctx, k, "fp", func(context.Context) ([]byte, error) { panic("handler bug") })
	}()
	r, err := s.Do(ctx, k, "fp", value("ok"))
	if err != nil || r.Replayed {
		t.Fatalf("after panic: %+v %v", r, err)
	}
}

func TestResultTooLarge(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t, WithMaxResultBytes(10))
	k := Key{ID: "big"}
	r, err := s.Do(ctx, k, "fp", value(strings.Repeat("x", 11)))
	if !errors.Is(err, ErrResultTooLarge) || len(r.Value) != 11 {
		t.Fatalf("%+v %v", r, err)
	}
	r, err = s.Do(ctx, k, "fp", value("small"))
	if err != nil || r.Replayed {
		t.Fatalf("key not released: %+v %v", r, err)
	}
}

func TestBadInputBeforeIO(t *testing.T) {
	t.Parallel()
	// Nothing listens on this port: any I/O would fail with a connection error.
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	t.Cleanup(func() { _ = rdb.Close() })
	s, err := New(rdb, WithMaxKeyBytes(8))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cases := []struct {
		k    Key
		fp   string
		fn   func(context.Context) ([]byte, error)
		want error
	}{
		{Key{ID: ""}, "fp", value(""), ErrEmptyKey},
		{Key{ID: "123456789"}, "fp", value(""), ErrKeyTooLong},
		{Key{Scope: "123456789", ID: "k"}, "fp", value(""), ErrScopeTooLong},
		{Key{ID: "k"}, "", value(""), ErrMissingFingerprint},
		{Key{ID: "k"}, strings.Repeat("f", 513), value(""), ErrFingerprintTooLong},
		{Key{ID: "k"}, "fp", nil, ErrNilFunc},
	}
	for _, c := range cases {
		_, err := s.Do(ctx, c.k, c.fp, c.fn)
		if !errors.Is(err, c.want) || !errors.Is(err, ErrInvalidInput) {
			t.Errorf("Do(%+v, %q): %v, want %v", c.k, c.fp, err, c.want)
		}
	}
	if _, err := s.IssueToken(ctx, Key{}); !errors.Is(err, ErrEmptyKey) {
		t.Errorf("IssueToken: %v", err)
	}
	if _, err := s.RedeemToken(ctx, Key{ID: "k"}, "", value("")); !errors.Is(err, ErrEmptyToken) {
		t.Errorf("RedeemToken: %v", err)
	}
	// And a real call does reach Redis (and fails), proving the above were pre-I/O.
	if _, err := s.Do(ctx, Key{ID: "k"}, "fp", value("")); err == nil || errors.Is(err, ErrInvalidInput) {
		t.Errorf("valid call on a dead server: %v", err)
	}
	if s.Stats().RedisErrors != 1 {
		t.Errorf("stats %+v", s.Stats())
	}
}

func TestBadOptions(t *testing.T) {
	t.Parallel()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer rdb.Close()
	for i, o := range []Option{WithPrefix("a{b"), WithLease(time.Millisecond), WithRetention(0),
		WithTokenTTL(-1), WithWait(-1), WithMaxKeyBytes(0), WithMaxResultBytes(-1), WithPolicy(nil)} {
		if _, err := New(rdb, o); !errors.Is(err, ErrBadOption) {
			t.Errorf("option %d: %v", i, err)
		}
	}
	if _, err := New(nil); !errors.Is(err, ErrBadOption) {
		t.Errorf("nil client: %v", err)
	}
}

func TestCloseDrains(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	started := make(chan struct{})
	var finished atomic.Bool
	go func() {
		_, _ = s.Do(ctx, Key{ID: "slow"}, "fp", func(context.Context) ([]byte, error) {
			close(started)
			time.Sleep(200 * time.Millisecond)
			finished.Store(true)
			return []byte("done"), nil
		})
	}()
	<-started
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if !finished.Load() {
		t.Fatal("Close returned before the running call finished")
	}
	if _, err := s.Do(ctx, Key{ID: "x"}, "fp", value("")); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
}

func TestCallerCancelStillStores(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	k := Key{ID: "cancel"}
	_, err := s.Do(ctx, k, "fp", func(context.Context) ([]byte, error) {
		cancel() // the client hung up after the work was done
		return []byte("charged"), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.Do(context.Background(), k, "fp", value("again"))
	if err != nil || !r.Replayed || string(r.Value) != "charged" {
		t.Fatalf("%+v %v", r, err)
	}
}

// A waiting duplicate whose owner fails transiently takes the released key and runs.
func TestWaiterRunsAfterTransientRelease(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t, WithWait(5*time.Second))
	k := Key{ID: "w"}
	started := make(chan struct{})
	go func() {
		_, _ = s.Do(ctx, k, "fp", func(context.Context) ([]byte, error) {
			close(started)
			time.Sleep(100 * time.Millisecond)
			return nil, errors.New("transient")
		})
	}()
	<-started
	r, err := s.Do(ctx, k, "fp", value("waiter"))
	if err != nil || r.Replayed || string(r.Value) != "waiter" {
		t.Fatalf("%+v %v", r, err)
	}
	if st := s.Stats(); st.Waits < 1 || st.Claims != 2 || st.Released != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// A waiter gives up with ErrInProgress at its bound, and on context cancellation.
func TestWaitBound(t *testing.T) {
	t.Parallel()
	s := newStore(t, WithWait(150*time.Millisecond))
	k := Key{ID: "b"}
	started, release := make(chan struct{}), make(chan struct{})
	defer close(release)
	go func() {
		_, _ = s.Do(context.Background(), k, "fp", func(context.Context) ([]byte, error) {
			close(started)
			<-release
			return nil, nil
		})
	}()
	<-started
	if _, err := s.Do(context.Background(), k, "fp", value("x")); !errors.Is(err, ErrInProgress) {
		t.Fatalf("bound: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if _, err := s.Do(ctx, k, "fp", value("x")); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("ctx: %v", err)
	}
}
