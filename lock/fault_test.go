package lock

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/surgekit/surge/internal/redistest"
)

// TestFaultHolderLosesBeforeOthersGetIn: the holder cannot confirm its
// lease (server frozen by SIGSTOP, or the holder itself stalls past the TTL);
// its lock context must be cancelled before any other owner obtains the
// lock, and the next owner's fencing token must be larger.
func TestFaultHolderLosesBeforeOthersGetIn(t *testing.T) {
	for _, mode := range []string{"server frozen, watchdog on", "holder stalls, no watchdog"} {
		t.Run(mode, func(t *testing.T) {
			srv := redistest.Server(t)
			p := redistest.Prefix(t)
			holder, err := New(patientClient(t, srv), WithPrefix(p))
			if err != nil {
				t.Fatal(err)
			}
			other, err := New(patientClient(t, srv), WithPrefix(p))
			if err != nil {
				t.Fatal(err)
			}
			ctx := ctxT(t)
			var opts []AcquireOption
			if mode == "server frozen, watchdog on" {
				opts = append(opts, WithWatchdog(100*time.Millisecond))
			}
			l1, err := holder.Acquire(ctx, "res", 300*time.Millisecond, opts...)
			if err != nil {
				t.Fatal(err)
			}
			if mode == "server frozen, watchdog on" {
				srv.Pause(700 * time.Millisecond)
			}
			// The other owner polls from now on; with the server frozen its
			// attempts fail with timeouts until it thaws.
			var l2 *Lock
			for deadline := time.Now().Add(10 * time.Second); ; {
				l2, err = other.Acquire(ctx, "res", time.Second)
				if err == nil {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("other owner never got the lock: %v", err)
				}
				time.Sleep(5 * time.Millisecond)
			}
			// The moment the other owner is in, the holder must already know.
			if l1.Context().Err() == nil {
				t.Fatal("another owner obtained the lock while the holder's context was still live")
			}
			if !errors.Is(context.Cause(l1.Context()), ErrLost) {
				t.Fatalf("holder cause %v", context.Cause(l1.Context()))
			}
			if l2.Fence() <= l1.Fence() {
				t.Fatalf("new fence %d not above %d", l2.Fence(), l1.Fence())
			}
			if err := l1.Release(ctx); !errors.Is(err, ErrNotHeld) {
				t.Fatalf("stale holder's release: %v", err)
			}
			if err := l2.Release(ctx); err != nil {
				t.Fatalf("new holder's release (the stale one must not have deleted it): %v", err)
			}
			if holder.Stats().Lost != 1 {
				t.Fatalf("holder stats %+v", holder.Stats())
			}
		})
	}
}

func startServers(t *testing.T, n int) []*redistest.RedisServer {
	out := make([]*redistest.RedisServer, n)
	for i := range out {
		out[i] = redistest.Server(t) // no persistence: a restart forgets everything
	}
	return out
}

// TestFaultRedlockQuorum: with 2 of 5 masters stopped Redlock still grants
// (with rising fences); with 3 stopped it refuses with ErrNoQuorum.
func TestFaultRedlockQuorum(t *testing.T) {
	srv := startServers(t, 5)
	c := serversClient(t, srv)
	ctx := ctxT(t)
	last := int64(0)
	cycle := func(stopped int) {
		t.Helper()
		l, err := c.Acquire(ctx, "q", 5*time.Second)
		if err != nil {
			t.Fatalf("%d stopped: %v", stopped, err)
		}
		if l.Fence() <= last {
			t.Fatalf("%d stopped: fence %d not above %d", stopped, l.Fence(), last)
		}
		last = l.Fence()
		if err := l.Refresh(ctx, 5*time.Second); err != nil {
			t.Fatalf("%d stopped: refresh: %v", stopped, err)
		}
		if d, err := l.TTL(ctx); err != nil || d <= 0 {
			t.Fatalf("%d stopped: ttl %v %v", stopped, d, err)
		}
		if err := l.Release(ctx); err != nil {
			t.Fatalf("%d stopped: release: %v", stopped, err)
		}
	}
	cycle(0)
	srv[1].Stop()
	cycle(1)
	srv[3].Stop()
	cycle(2)
	srv[4].Stop()
	_, err := c.Acquire(ctx, "q", 5*time.Second, WithRetry(LimitRetry(LinearBackoff(10*time.Millisecond), 2)))
	if !errors.Is(err, ErrNoQuorum) {
		t.Fatalf("3 of 5 stopped: %v, want ErrNoQuorum", err)
	}
	// And it is refused, not half-granted: the two live masters hold nothing.
	for _, i := range []int{0, 2} {
		if n, err := srv[i].Client().Exists(ctx, c.keysFor("q").lock).Result(); err != nil || n != 0 {
			t.Fatalf("master %d kept a partial lock: %d %v", i, n, err)
		}
	}
}

// TestFaultRedlockFencing exercises the two mechanisms behind Redlock fencing
// tokens (doc.go): the server-time floor, which survives a master restarted
// without persistence, and the write-back, which carries the token to every
// master of the granting majority so that the next majority (which shares at
// least one of them) issues a larger one.
func TestFaultRedlockFencing(t *testing.T) {
	srv := startServers(t, 5)
	c := serversClient(t, srv)
	ctx := ctxT(t)
	k := c.keysFor("f")
	grant := func(up string) int64 {
		t.Helper()
		l, err := c.Acquire(ctx, "f", 10*time.Second)
		if err != nil {
			t.Fatalf("grant on %s: %v", up, err)
		}
		if err := l.Release(ctx); err != nil {
			t.Fatal(err)
		}
		return l.Fence()
	}

	// 1. Restart without persistence. G1 on {0,1,2}; then 0 crashes and
	// restarts empty, 1 and 2 go down, 3 and 4 come back empty: G2's
	// majority {0,3,4} has no memory of G1 at all. Plain per-master INCR
	// would give G2 the token 1.
	srv[3].Stop()
	srv[4].Stop()
	f1 := grant("{0,1,2}")
	srv[0].Kill()
	srv[0].Start()
	srv[1].Stop()
	srv[2].Stop()
	srv[3].Start()
	srv[4].Start()
	f2 := grant("{0,3,4} (all restarted empty)")
	if f2 <= f1 {
		t.Fatalf("after restart without persistence: fence %d not above %d", f2, f1)
	}

	// 2. Write-back. Master 4's counter is far ahead (as after a clock that
	// ran fast); G3 on {0,3,4} takes its value. Then G4 runs on {0,1,2},
	// which shares only master 0 with G3: only the write-back to master 0
	// makes G4's token larger than G3's.
	far := int64(1) << 52
	if err := srv[4].Client().Set(ctx, k.fence, far, 0).Err(); err != nil {
		t.Fatal(err)
	}
	f3 := grant("{0,3,4}")
	if f3 != far+1 {
		t.Fatalf("G3 fence %d, want %d (the maximum of the majority)", f3, far+1)
	}
	srv[3].Stop()
	srv[4].Stop()
	srv[1].Start()
	srv[2].Start()
	f4 := grant("{0,1,2}")
	if f4 <= f3 {
		t.Fatalf("majorities sharing one master: fence %d not above %d", f4, f3)
	}
	if v, err := srv[0].Client().Get(ctx, k.fence).Int64(); err != nil || v != f4 {
		t.Fatalf("master 0 counter %d %v, want %d", v, err, f4)
	}
}

// TestReplicaConfirmation: with a real replica attached, WAIT reports it.
func TestReplicaConfirmation(t *testing.T) {
	// No diskless-sync delay: the replica syncs at once instead of after 5s.
	master := redistest.Server(t, redistest.WithArgs("--repl-diskless-sync-delay", "0"))
	host, port, _ := strings.Cut(master.Addr(), ":")
	replica := redistest.Server(t, redistest.WithArgs("--replicaof", host, port))
	ctx := ctxT(t)
	// Default timeouts, not Server.Client's 500ms: nothing here is a fault,
	// and a loaded machine must not turn a slow reply into a failure.
	mc := redis.NewClient(&redis.Options{Addr: master.Addr()})
	rc := redis.NewClient(&redis.Options{Addr: replica.Addr()})
	t.Cleanup(func() { _ = mc.Close(); _ = rc.Close() })
	for deadline := time.Now().Add(10 * time.Second); ; {
		info, _ := rc.Info(ctx, "replication").Result()
		if strings.Contains(info, "master_link_status:up") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica never synced: %s", info)
		}
		time.Sleep(20 * time.Millisecond)
	}
	c, err := New(mc, WithPrefix(redistest.Prefix(t)))
	if err != nil {
		t.Fatal(err)
	}
	l, err := c.Acquire(ctx, "r", 5*time.Second, WithReplicas(1, 2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if l.Replicas() != 1 {
		t.Fatalf("replicas %d, want 1", l.Replicas())
	}
	// The replica has the lock and its fencing counter.
	if v, err := rc.Get(ctx, c.keysFor("r").lock).Result(); err != nil || v != l.Token() {
		t.Fatalf("replica lock %q %v", v, err)
	}
	if err := l.Release(ctx); err != nil {
		t.Fatal(err)
	}
}
