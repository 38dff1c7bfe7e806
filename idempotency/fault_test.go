package idempotency

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/surgekit/surge/internal/redistest"
)

// The owner's Redis freezes (SIGSTOP) for longer than the lease while the owner is
// mid-work: its heartbeats cannot get through, so by its own clock it loses the
// lease and is told so; the server-side lease lapses. After the thaw, many
// duplicates race: exactly one takes over and runs, the others get "in progress" or
// (with a wait) the successor's result, and the owner's late outcome is not stored.
func TestPausedOwnerExactlyOneSuccessor(t *testing.T) {
	t.Parallel()
	srv := redistest.Server(t)
	rdb := srv.Client()
	const lease = 600 * time.Millisecond
	s := newStoreOn(t, rdb, WithLease(lease))
	ctx := context.Background()
	k := Key{Scope: "u", ID: "paused"}

	var ownerRuns atomic.Int32
	started := make(chan struct{})
	ownerErr := make(chan error, 1)
	go func() {
		_, err := s.Do(ctx, k, "fp", func(ctx context.Context) ([]byte, error) {
			ownerRuns.Add(1)
			close(started)
			<-ctx.Done() // a well-behaved owner stops when told the lease is gone
			return []byte("owner"), context.Cause(ctx)
		})
		ownerErr <- err
	}()
	<-started
	thawed := srv.Pause(3 * lease)

	select {
	case err := <-ownerErr:
		if !errors.Is(err, ErrLeaseLost) {
			t.Fatalf("owner: %v, want ErrLeaseLost", err)
		}
	case <-time.After(10 * lease):
		t.Fatal("owner was never told it lost the lease")
	}
	<-thawed

	var successorRuns, values, inProgress atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := s.Do(ctx, k, "fp", func(context.Context) ([]byte, error) {
				successorRuns.Add(1)
				time.Sleep(100 * time.Millisecond)
				return []byte("successor"), nil
			})
			switch {
			case err == nil && string(r.Value) == "successor":
				values.Add(1)
			case errors.Is(err, ErrInProgress):
				inProgress.Add(1)
			default:
				t.Errorf("duplicate: %+v %v", r, err)
			}
		}()
	}
	wg.Wait()
	if ownerRuns.Load() != 1 || successorRuns.Load() != 1 {
		t.Fatalf("owner ran %d, successors ran %d; want 1 and 1", ownerRuns.Load(), successorRuns.Load())
	}
	if values.Load() < 1 || values.Load()+inProgress.Load() != 50 {
		t.Fatalf("values=%d inProgress=%d", values.Load(), inProgress.Load())
	}
	r, err := s.Do(ctx, k, "fp", value("third"))
	if err != nil || !r.Replayed || string(r.Value) != "successor" {
		t.Fatalf("after: %+v %v", r, err)
	}
	if st := s.Stats(); st.LeaseLost != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// An owner that crashed (it claimed, then never renewed, completed or released) is
// replaced after its lease lapses, by exactly one of many concurrent duplicates.
func TestCrashedOwnerTakeover(t *testing.T) {
	t.Parallel()
	srv := redistest.Server(t)
	rdb := srv.Client()
	// The successor's lease is long next to its 50 ms of work so that a starved CI
	// machine cannot make the successor itself lose its lease (a second takeover).
	const lease = 2 * time.Second
	s := newStoreOn(t, rdb, WithLease(lease))
	ctx := context.Background()
	k := Key{ID: "crashed"}
	rec, leaseKey := s.cfg.recordKeys("k", k)
	// The crashed process's claim, exactly as Do makes it.
	// (Its lease is generous so that a slow machine cannot let it lapse before the
	// in-progress check below.)
	const deadLease = 1500 * time.Millisecond
	rep, err := claimScript.Run(ctx, rdb, []string{rec, leaseKey}, "fp", "dead-owner", ms(deadLease), ms(time.Hour), "k").Slice()
	if err != nil || rep[0] != "claimed" {
		t.Fatalf("claim: %v %v", rep, err)
	}
	if _, err := s.Do(ctx, k, "fp", value("x")); !errors.Is(err, ErrInProgress) {
		t.Fatalf("while the lease lives: %v", err)
	}
	time.Sleep(deadLease + 100*time.Millisecond)

	var runs atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.Do(ctx, k, "fp", func(context.Context) ([]byte, error) {
				runs.Add(1)
				time.Sleep(50 * time.Millisecond)
				return []byte("new"), nil
			})
			if err != nil && !errors.Is(err, ErrInProgress) {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if runs.Load() != 1 || s.Stats().Takeovers != 1 {
		t.Fatalf("runs=%d stats=%+v", runs.Load(), s.Stats())
	}
	// The dead owner's late completion is refused.
	n, err := completeScript.Run(ctx, rdb, []string{rec, leaseKey}, "dead-owner", "late", "0", "", ms(time.Hour)).Int64()
	if err != nil || n != 0 {
		t.Fatalf("late complete: %d %v", n, err)
	}
	r, err := s.Do(ctx, k, "fp", value("x"))
	if err != nil || string(r.Value) != "new" {
		t.Fatalf("%+v %v", r, err)
	}
}

// The heartbeat keeps a live owner's lease: work lasting three leases is never
// taken over.
func TestHeartbeatKeepsLease(t *testing.T) {
	t.Parallel()
	srv := redistest.Server(t)
	const lease = 500 * time.Millisecond
	s := newStoreOn(t, srv.Client(), WithLease(lease))
	ctx := context.Background()
	k := Key{ID: "long"}
	var runs atomic.Int32
	done := make(chan error, 1)
	started := make(chan struct{})
	go func() {
		_, err := s.Do(ctx, k, "fp", func(ctx context.Context) ([]byte, error) {
			runs.Add(1)
			close(started)
			select {
			case <-time.After(3 * lease):
				return []byte("long"), nil
			case <-ctx.Done():
				return nil, context.Cause(ctx)
			}
		})
		done <- err
	}()
	<-started
	for deadline := time.Now().Add(3 * lease); time.Now().Before(deadline); time.Sleep(lease / 4) {
		if _, err := s.Do(ctx, k, "fp", value("dup")); err != nil && !errors.Is(err, ErrInProgress) {
			t.Fatal(err)
		}
	}
	if err := <-done; err != nil {
		t.Fatalf("owner: %v", err)
	}
	if runs.Load() != 1 || s.Stats().Takeovers != 0 || s.Stats().Heartbeats < 3 {
		t.Fatalf("runs=%d stats=%+v", runs.Load(), s.Stats())
	}
}

// Redis down at claim time: fn does not run and the error is returned.
func TestRedisDownAtClaim(t *testing.T) {
	t.Parallel()
	srv := redistest.Server(t)
	s := newStoreOn(t, srv.Client())
	srv.Kill()
	var runs atomic.Int32
	_, err := s.Do(context.Background(), Key{ID: "k"}, "fp", func(context.Context) ([]byte, error) {
		runs.Add(1)
		return nil, nil
	})
	if err == nil || runs.Load() != 0 {
		t.Fatalf("err=%v runs=%d", err, runs.Load())
	}
	srv.Start()
	if _, err := s.Do(context.Background(), Key{ID: "k"}, "fp", value("ok")); err != nil {
		t.Fatalf("after restart: %v", err)
	}
}

// An owner that ignores its cancelled context and finishes after a successor took
// over gets ErrLeaseLost, and the successor's outcome is the one replayed.
func TestStalledOwnerLateOutcomeRefused(t *testing.T) {
	t.Parallel()
	srv := redistest.Server(t)
	const lease = 400 * time.Millisecond
	s := newStoreOn(t, srv.Client(), WithLease(lease))
	ctx := context.Background()
	k := Key{ID: "stalled"}
	started, successorDone := make(chan struct{}), make(chan struct{})
	ownerErr := make(chan error, 1)
	go func() {
		r, err := s.Do(ctx, k, "fp", func(context.Context) ([]byte, error) {
			close(started)
			<-successorDone // stalled well past its lease, deaf to its context
			return []byte("late owner"), nil
		})
		if string(r.Value) != "late owner" {
			t.Errorf("owner lost its own value: %+v", r)
		}
		ownerErr <- err
	}()
	<-started
	<-srv.Pause(3 * lease)
	r, err := s.Do(ctx, k, "fp", value("successor"))
	close(successorDone)
	if err != nil || r.Replayed || string(r.Value) != "successor" {
		t.Fatalf("successor: %+v %v", r, err)
	}
	if err := <-ownerErr; !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("late owner: %v, want ErrLeaseLost", err)
	}
	r, err = s.Do(ctx, k, "fp", value("x"))
	if err != nil || string(r.Value) != "successor" {
		t.Fatalf("replay: %+v %v", r, err)
	}
	if st := s.Stats(); st.Takeovers != 1 || st.LeaseLost != 1 || st.Stored != 1 {
		t.Fatalf("stats %+v", st)
	}
}
