// Package lock provides distributed locks on Redis that tell the holder the
// truth about whether it still holds them: a single-node lock (one Redis, a
// Sentinel group or a Redis Cluster) and Redlock over N independent masters
// (built on github.com/go-redsync/redsync/v4), behind one API.
//
// # The problem
//
// A Redis lock is a lease: it ends when its TTL runs out, whether or not the
// holder is done. The usual libraries leave the holder guessing. redsync has
// no renewal, reports a cancelled context as a generic failure and its Mutex
// is not safe for concurrent use; most single-node libraries have no
// watchdog; none tells the holder the moment its lock is gone. Work that
// continues after that moment is work done without the lock.
//
// # The API
//
//	locks, _ := lock.New(rdb)                  // or lock.NewRedlock(masters)
//	l, err := locks.Acquire(ctx, "order:42", 10*time.Second,
//		lock.WithRetry(lock.ExponentialBackoff(5*time.Millisecond, 200*time.Millisecond)),
//		lock.WithWait(3*time.Second), // give up waiting after 3s, whatever the lease
//		lock.WithWatchdog(0))         // refresh every TTL/3
//	if err != nil { ... }                      // errors.Is(err, lock.ErrNotObtained)
//	defer l.Release(ctx)                       // runs even if ctx is cancelled
//	doWork(l.Context(), l.Fence())             // stop when the context ends
//
// Acquire returns a *Lock. Its Context is cancelled, with a cause
// (context.Cause), when the lock must no longer be relied on:
//
//   - ErrLost: the watchdog (or Refresh) found the lock gone, or the lease
//     could not be confirmed before its local validity ended. Without a
//     watchdog the context ends at the validity of the lease.
//   - ErrMaxHold: the maximum hold time (WithMaxHold) is over; refreshes never
//     extend the lease past it.
//   - ErrReleased, ErrClosed: Release or Client.Close.
//
// The lock context keeps the values of the Acquire context but not its
// cancellation: the lock outlives the request that took it until Release.
//
// # The guarantee
//
// Mutual exclusion: while a Lock's context is live, no other owner holds the
// lock, provided clocks run at roughly the same rate (the drift allowance,
// WithDriftFactor, default 1% of the TTL + 2ms) and the lock keys are not lost
// (Redis with maxmemory-policy noeviction; for a single node, a failover to
// a replica that missed the write can lose the lock — see WithReplicas).
// The local validity is measured from the moment the request was sent, so it
// ends before the key can expire on the server: the holder's context is
// cancelled before anyone else can get in (TestFaultHolderLosesBeforeOthersGetIn
// freezes the server, and stalls the holder, to check exactly that).
//
// Lock.Context().Err() is exact at the instant of the call: it compares the
// clock with the lease deadline itself rather than trusting that the timer
// goroutine has already run (on a loaded machine it can run milliseconds
// late; Done closes when it does). A context can only tell a holder that checks it. A holder paused between
// its check and its write (GC, swap, a slow network) can still write after
// the lock is gone; that is what fencing tokens are for.
//
// # Fencing tokens
//
// Every successful acquisition returns Lock.Fence, a token larger than the
// token of every earlier grant of the same name. Pass it to the resource you
// protect and have the resource reject a write whose token is smaller than
// the largest it has seen (Kleppmann, "How to do distributed locking", 2016).
//
// Single node: the acquire script INCRs a counter next to the lock, in the
// same hash tag, only when SET NX succeeds. Tokens are 1, 2, 3, ... and as
// durable as the Redis data (use AOF if tokens must survive a restart).
//
// Redlock: each master keeps a counter; on a grant it sets it to
// max(counter+1, its clock in µs) and returns it. The grant's token is the
// maximum over the granting majority, then written back (redlock_fence.lua)
// to every master of that majority while each still holds the lock, and the
// grant only succeeds once a majority confirmed the write-back. Two
// successive grants' majorities share at least one master; on it the later
// grant's SET NX can only happen after the earlier lock left that master,
// which is after the write-back, so the later token is larger. The clock
// floor keeps this true when a master restarts WITHOUT persistence and comes
// back with no counter: it resumes at its clock, past every token issued
// before, provided the masters' clocks differ by less than the time a crashed
// master stays down (Redlock already requires a crashed master to stay down
// for a TTL). TestFaultRedlockFencing checks both mechanisms.
//
// What Redlock tokens do not give: they are not contiguous (they are µs
// timestamps); a master whose clock jumps far ahead raises every later token
// (harmless for ordering); if clocks differ by more than the restart delay a
// restart without persistence can issue a smaller token; and they are only
// as good as the resource's check — Redlock itself, as Kleppmann shows, relies
// on bounded pauses and clock drift for mutual exclusion, which is why the
// token, not the lock, must guard the write. The write-back costs one more
// parallel round trip per acquisition; WithoutFencing skips it (Fence is 0).
//
// # Key layout
//
// For a lock named N with prefix P (default "surge:"):
//
//	P lock:{N}          string, the owner token, PX = lease (deleted on release)
//	P lock:{N}:fence    string, the fencing counter (no TTL: it must outlive the lock)
//
// Both keys share the hash tag {N}, so every script touches one cluster slot.
// A lock name must not contain '{' or '}' (it would change the tag) and the
// prefix must not contain braces either; both are rejected with an
// *ArgumentError. Redlock uses the same two keys on every master. The fencing
// counter is one small key per lock name that stays forever; names should
// come from a bounded set (an order id is fine, a random string per call is
// not).
//
// # Failure modes
//
//   - Redis unreachable (single node): Acquire returns the go-redis error at
//     once (no retry on errors, only on contention); the watchdog keeps trying
//     until the validity ends, then cancels the context with ErrLost.
//   - Redlock: every master gets a time budget per operation (acquire and
//     refresh: 5% of the TTL, at least 100ms or TTL/3; release and TTL: 500ms),
//     so a dead master cannot stall an operation for longer. Give the master
//     clients MaxRetries: -1 and DialerRetries: 1: by default go-redis retries
//     a refused dial five times, which spends that budget on every operation.
//   - Redlock: a minority of masters down is tolerated; with a majority down
//     Acquire fails with ErrNoQuorum (retried by the Retry strategy, since a
//     node blip is transient). Partial grants are released.
//   - The caller's context is cancelled: Acquire returns an error matching
//     both ErrNotObtained and ctx.Err(); a lock already held is not affected,
//     and Release still runs (on a detached context, bounded by
//     WithReleaseTimeout) so the lock is freed at once instead of at its TTL.
//   - Release after the lease expired or was taken over returns ErrNotHeld and
//     deletes nothing (compare-and-delete); Refresh never re-creates an expired
//     lock (unlike redsync's WithSetNXOnExtend).
//   - WithReplicas runs WAIT on the acquiring connection and reports the count
//     in Lock.Replicas; it does not fail the acquisition (WAIT does not make
//     Redis replication synchronous, a failover can still lose the lock).
//
// Bad input (empty name, a brace in the name or prefix, TTL ≤ 0 or below
// MinTTL, a watchdog interval above TTL/2, ...) returns an *ArgumentError
// matching ErrInvalidArgument before any I/O.
//
// # Concurrency
//
// A Client and its Locks are safe for concurrent use. Redlock builds a fresh
// redsync mutex for every operation. A watchdog is one goroutine per lock,
// started only by WithWatchdog and stopped by Release or Client.Close, which
// also releases every lock the Client still holds. Call Release on every
// Lock, also after it was lost: the Client tracks a Lock until then.
package lock
