// Package idempotency makes a retried request change nothing: the first call with
// a key runs, a concurrent duplicate is told "in progress" (or waits for the
// outcome), a later duplicate gets the stored outcome replayed, and the same key
// with a different payload is refused.
//
// # The problem
//
// A flash-sale buyer double-clicks, a mobile client retries after a timeout, a
// payment callback arrives twice. Without a shared record, each copy creates an
// order. Common middleware gets the details wrong: no in-flight lock (two copies
// run at once), the lock released before the response is stored (a copy slips in
// between), or a changed payload under the same key silently answered with the old
// response. This package follows the IETF draft "The Idempotency-Key HTTP Header
// Field" (draft-ietf-httpapi-idempotency-key-header) and also works without HTTP.
//
// # API
//
//   - Store.Do(ctx, Key{Scope, ID}, fingerprint, fn): the non-HTTP core.
//   - Store.Middleware(...): net/http middleware (400 missing/malformed key, 409
//     concurrent, 422 mismatch, 413 body too large, replay with
//     "Idempotent-Replayed: true").
//   - Store.IssueToken / Store.RedeemToken: the seckill pre-order token
//     (userId → preOrderId → payOrderId): opening the order page twice shows one
//     token, and redeeming it runs the order function once.
//   - ParseKeyHeader: the Idempotency-Key field value parser (RFC 8941 sf-string).
//
// # The guarantee
//
// One atomic Lua script (claim) decides every call: it creates the record with the
// caller's fingerprint and a lease, or answers busy / done / mismatch. Hence, for
// one key within its retention:
//
//   - While the owner is alive and can reach Redis, fn runs exactly once: the
//     owner renews its lease every lease/3 (heartbeat) and no one else can claim.
//   - The outcome is stored by a second script (complete) that checks the caller
//     still owns the record, in the same step that ends the lease, so there is no
//     window between "lock released" and "response stored".
//   - A duplicate with the same fingerprint gets the stored value (Replayed=true);
//     a different fingerprint gets ErrMismatch, also while the first still runs.
//   - If the owner crashes (or stalls past its lease), the lease lapses and the
//     next duplicate takes the key over and runs fn: exactly one successor, since
//     takeover is the same atomic claim. The stalled owner learns it lost the lease
//     (fn's context is cancelled with cause ErrLeaseLost as soon as, by its own
//     clock, the lease may have lapsed) and its late outcome is refused.
//
// What is stored: successes always; failures according to the policy
// (WithPolicy). DefaultPolicy stores failures marked Permanent (deterministic:
// "sold out", "card declined") and releases the key on every other error, panic,
// or result larger than WithMaxResultBytes, so that a retry runs again. The HTTP
// middleware stores every status below 500 except 408, 409, 425 and 429.
//
// Keys are scoped: Key.Scope (a user, an API client, a tenant) is part of the
// record's name, so two users' identical keys never collide.
//
// Expiry policy (publish it to clients): a completed outcome is replayed for
// WithRetention (default 24h) counted from completion; an unfinished claim lives
// as long as its lease is renewed (default lease 15s); an issued, unredeemed
// pre-order token lives WithTokenTTL (default 30m). After retention the key is
// forgotten and a reuse runs again.
//
// # Key layout
//
// With prefix P (default "surge:"), scope S and id I, each escaped so that '%', '{',
// '}' and ':' cannot end the hash tag early or fake a separator:
//
//	P idem:{k:S:I}:r   hash: s state (p pending, d done), f fingerprint, o owner id,
//	                   r result, e/m stored-failure flag and message
//	P idem:{k:S:I}:l   string: the lease (value owner id, PX lease)
//	P idem:{t:S:I}:r   pre-order token record: as above plus k (the token) and state
//	                   i (issued); S is the user, I what is ordered
//	P idem:{t:S:I}:l   its lease
//
// Each script touches only the two keys of one operation, which share one hash
// tag, so everything works on Redis Cluster. The prefix may not contain braces.
//
// # Failure modes
//
//   - Redis unreachable at claim: Do returns the error and fn does not run; the
//     middleware answers 503 (fail closed).
//   - Redis unreachable after fn ran: the outcome cannot be stored; Do returns fn's
//     value with the error. The record stays pending until its lease lapses; after
//     that a retry runs fn again. Only a fencing check in the downstream system
//     (e.g. a unique order id derived from the key) closes this gap.
//   - Owner stalled longer than the lease (GC pause, partition, frozen Redis): a
//     successor may run while the stalled fn is still finishing; the lease is a
//     liveness mechanism, not a fence. fn should honour its context.
//   - Redis failover with asynchronous replication can lose a just-written claim
//     or outcome; Redis must run with maxmemory-policy noeviction, because an
//     evicted record is a forgotten key.
//   - miniredis does not expire keys by wall-clock time, so lease takeover is only
//     exercised on real servers (the fault tests start their own redis-server).
package idempotency
