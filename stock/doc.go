// Package stock is Lua-atomic inventory on Redis for flash sales (秒杀).
//
// # The problem
//
// Public seckill code gets stock wrong in known ways: reading stock and writing it
// back later (GET then SET) oversells; checking stock before checking the journal
// makes a retried call whose first attempt did deduct come back as a failure; a
// journal that expires with the order timeout silently loses late returns; restocking
// with SET overwrites a live counter. This package is the version that is right.
//
// # The guarantee
//
// Every mutating call is one Lua script that reads the op's journal entry FIRST, then
// moves counters, writes the journal entry and appends to the outbox stream, all
// atomically. Therefore:
//
//   - Sold + Reserved never exceeds what was loaded: Available + Reserved + Sold ==
//     Total always, and Available never drops below the safety stock.
//   - An op id has exactly one outcome. A repeated Deduct/Reserve returns the recorded
//     outcome (Duplicate) and touches no stock; a refused op (sold out, over limit)
//     records nothing and may be retried.
//   - Revert of an op never seen writes a tombstone: if the op arrives later it is
//     refused (null compensation and anti-hanging, as DTM's barrier). CheckBack
//     answers Succeeded or Failed and the answer is final (it tombstones unknown ops).
//   - The outbox holds exactly the applied ops, in order: Redis state and the task log
//     never disagree. Reconcile proves it by replaying the outbox against the counters.
//
// An error that is not one of the sentinel errors (a timeout, a dropped connection, a
// canceled context) means the outcome is unknown: the op may or may not have been
// applied. Resolve it with CheckBack (final), Revert, or a Deduct with the same op id
// and Op.Retry set; never by assuming failure.
//
// # State machine of an op
//
//	unknown --Deduct--> D --Revert--> V
//	unknown --Reserve--> R --Confirm--> C --Revert--> V
//	                     R --Release--> L --Revert--> V
//	                     R --Revert--> V
//	unknown --Revert|Release|CheckBack--> T (tombstone: a late Deduct/Reserve is refused)
//	unknown --hot-SKU probe refused for lack of stock--> P (passed: final in that bucket)
//
// # Key layout
//
// Everything of a group shares the hash tag {group}, so every script touches one slot
// of a Redis Cluster. By default a SKU is its own group; WithGroupOf puts several SKUs
// under one tag so that one op may take them all atomically.
//
//	<prefix>stock:{g}:s:<sku>   hash  avail reserved sold total safety low limit
//	<prefix>stock:{g}:u:<sku>   hash  user → units held (only for SKUs with a user limit)
//	<prefix>stock:{g}:skus      set   SKU names of the group (for Reconcile)
//	<prefix>stock:{g}:j:<gen>   hash  op id → "state|user|unix time|sku=qty,sku=qty"
//	<prefix>stock:{g}:rb:<op>   string a hot SKU's stored Rebalance plan (g = bucket 0)
//	<prefix>stock:{g}:o         stream the outbox: one entry per script call, field op
//	                            id → "kind|user|time|items" (kind VD/VR/VC/VL = revert of D/R/C/L)
//
// The default prefix is "surge:". The settle and snapshot scripts build SKU and journal
// generation keys from a declared key of the group (the SKUs of an op are only known
// from its journal entry); they carry the same hash tag and so live in the same slot.
//
// # Journal retention
//
// Redis 7.0 cannot expire single hash fields, and a key per op costs a key, an EXPIRE
// and its memory overhead per op. The journal is therefore one hash per group and
// generation: gen = floor(server time / TTL). A script reads the current and the
// previous generation (two HMGETs for a whole batch), writes only the current one (one
// HSET for a whole batch) and sets its EXPIREAT to the end of the next generation. An
// entry is thus found for at least TTL and at most 2×TTL after its last write (every
// transition rewrites it into the current generation). New validates that the TTL
// outlives the order timeout plus the check-back horizon. All processes must use the
// same TTL (it selects the generation keys). Server time is used (TIME; Redis ≥ 7
// replicates script effects, 6.2 is switched to effect replication).
//
// # Scaling
//
// WithCombiner merges concurrent calls of a group into one script call (smart
// batching: immediate when idle, accumulated while a call is in flight, capped); the
// journal write, its expiry and the outbox XADD are paid once per batch. WithSoldOutGate
// answers a sold-out SKU locally (ErrSoldOut+ErrGated; a retry with Op.Retry bypasses it
// so the journal answers). Stock.Hot splits one SKU into buckets named "<sku>#<j>",
// each its own group, with j chosen so that the buckets' slots are evenly spaced over
// the cluster's 16384 slots; an op starts at the bucket picked by a hash of its id and
// probes the others in a fixed order, each refusal journaled as P, so the op is applied
// in at most one bucket and Revert/CheckBack, walking the same order, cannot overtake
// it. See README.md for measured numbers.
//
// # Outbox consumers
//
// Consume reads a group's outbox with a consumer group and acknowledges an entry only
// after the callback accepted every op in it; entries left pending by a crashed
// consumer or a failed callback are reclaimed with XAUTOCLAIM after MinIdle. Delivery
// is at least once: persist idempotently by op id. A callback that always fails for
// an entry gets it again every MinIdle, forever; alert on it.
//
// # Failure modes
//
//   - Redis must run with maxmemory-policy noeviction: an evicted journal entry lets a
//     retried op deduct twice and a late op pass its tombstone.
//   - A journal entry older than 2×TTL is gone: a retry or a late op after that is new.
//   - A failover to a replica that missed the last writes (asynchronous replication)
//     can lose acknowledged ops; use WAIT/AOF policies suited to your risk, and run
//     Reconcile. With AOF appendfsync always, a crash loses nothing acknowledged.
//   - The outbox is never trimmed by this package (Reconcile replays all of it). Trim
//     entries every consumer group has acknowledged, and keep a copy of the totals.
//   - Reconcile reads the whole outbox and the live journal of a group.
package stock
