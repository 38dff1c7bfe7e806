// Package cache is a consistent cache-aside layer over Redis for flash-sale
// traffic: generic Cache[T] with a pluggable codec, in-process singleflight,
// TTL jitter, not-found placeholders, Bloom filters, and five write
// strategies whose staleness is measured, not assumed.
//
// # The problem
//
// A hot cache meets four failures. Breakdown: a hot key expires and every
// request reads the database at once. Avalanche: many keys written together
// expire together. Penetration: requests for ids that do not exist always
// miss and always reach the database. And the stale-set race: a reader reads
// version 1 from the source, a writer commits version 2 and deletes the
// cache entry, then the slow reader fills version 1 — which now stays until
// the TTL. Most cache-aside libraries carry that race; this package shows it
// (the baseline strategy in the consistency harness) and closes it (Lease,
// WriteThrough).
//
// # What Get does
//
// Get(ctx, key, load) reads Redis; on a miss it consults the optional Filter
// (ErrNotFound without a load when the filter proves the key absent), then
// joins or leads the key's in-process flight. The leader's load runs in its
// own goroutine on a context detached from every caller and bounded by
// WithLoadTimeout, so one cancelled caller (even the leader) fails only
// itself. Unlike a plain singleflight, a caller shares a flight's result only
// if it joined before the flight sent the operation that fixed the value
// (the source read, the Redis read, or the lease-checked fill): a caller
// that arrived later, perhaps after a write was acknowledged, reads Redis
// again instead (Stats.Rejoins). A loader reports absence with ErrNotFound;
// the absence is cached as a framed placeholder (0x00-prefixed, while every
// real value is 0x01-prefixed, so no codec output can collide with it)
// written with SET NX and a short jittered TTL. Every TTL is jittered
// symmetrically (WithJitter) and never below 1ms.
//
// # Write strategies and their guarantees
//
// "Acknowledged" below means Update/WriteThrough returned nil. A stale read
// is a read returning a version older than one acknowledged before the read
// began.
//
//   - DeleteAfterUpdate (baseline): fill with SET; Update writes the source
//     then deletes. Guarantee: none beyond the TTL. A reader that read the
//     source before the write and fills after the delete leaves a stale
//     value for up to one TTL.
//   - SetNXBackfill: fill with SET NX, so a fill never overwrites a value
//     that is already cached (e.g. one set by another path). It does NOT
//     close the stale-set race against delete-style writers: after the
//     writer's delete the key is empty, and the slow reader's NX fill of the
//     old version succeeds.
//   - DoubleDelete: Update deletes, writes the source, deletes again, and
//     schedules a durable delete after WithDoubleDeleteDelay in Redis (a
//     sorted set), executed by a DeleteWorker the application starts and
//     closes. The scheduled delete survives the writer's crash; a worker
//     that dies after claiming is replaced after WithVisibility; failures are
//     retried with exponential backoff and, after WithRetry attempts,
//     reported to WithFailureHandler and kept in a failed list. Guarantee: a
//     stale fill lives at most about the delay (plus worker lag), provided
//     the read that produced it took less than the delay. It still serves
//     stale reads inside that window.
//   - Lease (strong): a miss takes a lease token (SET NX PX) before reading
//     the source; Update writes the source then deletes the value and the
//     lease in one DEL; a fill succeeds only while the lease key still holds
//     the reader's token. Other readers that find the key leased — in any
//     process — poll for the holder's fill for up to the lease wait, then
//     read the source themselves without filling. Guarantee: once Update
//     returns, no read that begins afterwards returns an older version, and
//     the cache never keeps a value older than the source after quiescence;
//     a thundering herd costs one source read cluster-wide while the holder
//     is faster than the lease wait. Cost: two scripts per miss instead of
//     GET+SET; a lease whose holder died blocks fills for the lease TTL (its
//     waiters fall back to the source).
//   - WriteThrough (the auction pattern, with Lease readers): under a
//     distributed lock (WithLocker; surge's lock package or any Locker) it
//     invalidates, runs the write on the lock's context, reloads, and
//     rebuilds the entry with a fenced set: refused if a newer fencing token
//     already rebuilt it, and voiding any reader lease. Guarantee: Lease's,
//     plus a writer whose lock expired while paused cannot overwrite a newer
//     writer's rebuild. A write that fails or outlives its lock leaves the
//     entry invalidated (ErrLockLost), never stale. The source write itself
//     is only protected by the lock if the source checks the fencing token
//     (pass HeldLock.Fence() to it).
//
// # Optional L1 tier
//
// WithL1(n, ttl) keeps up to n values in process for up to ttl (random
// eviction). This Cache's invalidations drop the local entry and PUBLISH the
// key on "P cache:l1"; instances that called StartL1Sync drop theirs on
// receipt, and clear their whole L1 whenever the subscription is
// (re)established. A value read from a lower tier is not stored in L1 if any
// invalidation arrived during that read. The L1 weakens every guarantee
// above: an L1 hit can be stale for the pub/sub delivery delay, and for up
// to ttl if a message is lost (pub/sub is at-most-once) or if the writer's
// invalidation came from a DeleteWorker (which does not publish). Close stops
// the subscriber.
//
// The consistency harness (cache/internal/harness, run by the tests and by
// cache/cmd/consistency) measures all five; see README.md for the table.
//
// # Key layout
//
// With prefix P (WithPrefix, default "surge:") and user key K (non-empty, at
// most MaxKeyLen bytes, no '{' or '}'):
//
//	P cache:{K}          the value: 0x01+codec bytes, or the not-found placeholder
//	P cache:{K}:lease    the lease token of the reader allowed to fill
//	P cache:{K}:fence    the last fencing token that rebuilt the value (WriteThrough)
//	P cache:{dd}:due       sorted set: value key -> due time (unix ms), DoubleDelete
//	P cache:{dd}:inflight  sorted set: claimed deletes -> claim deadline
//	P cache:{dd}:tries     hash: value key -> attempts
//	P cache:{dd}:failed    list: the latest 1000 deletes given up
//	P bloom:{NAME:i}     shard i of a RedisBloom bitmap (at most WithShardBits bits)
//	P cache:lock:K       the lock name passed to the Locker by WriteThrough
//	P cache:l1           pub/sub channel of L1 invalidations (message = K)
//
// All scripts touch one hash tag: an entry's scripts use {K}, the double
// delete scripts use {dd}, and the worker's DEL of a value key is a separate
// single-key command. The {dd} keys all live in one slot per cluster; at
// very high write rates that slot is a hot spot (shard by running several
// prefixes). Redis must run with maxmemory-policy noeviction or at least
// never evict the {dd} keys, leases and fences.
//
// # Failure modes
//
//   - Redis unreachable: Get returns the Redis error (it does not fall back
//     to the source, which would turn a Redis outage into a database
//     stampede). A failed fill does not fail the read.
//   - Loader error: returned to every caller sharing the flight; nothing is
//     cached; a Lease is released at once. A loader panic becomes
//     ErrLoaderPanic.
//   - Filter error: fail open (the source is read), counted in Stats.
//   - Invalidation error after a successful write: Update returns it; the
//     write is not undone and the old value may live until its TTL (with
//     DoubleDelete, the scheduled delete is then not recorded either).
//   - Clock skew: DoubleDelete due times use the writer's and the worker's
//     clocks; skew between them shifts the delay by the skew.
//   - Values shared by a flight are the same T for every caller: copy maps,
//     slices and pointers before mutating them.
package cache
