// Package ratelimit limits events per key — per user, per IP, per hot SKU — in
// one process (Local) or across every instance of a service through Redis
// (Limiter), with a local fallback while Redis is down and net/http middleware.
//
// # The problem
//
// A flash sale throttles by user ("one request per user per 2 s") and by hot
// item. The usual tools each break somewhere: a per-key map of x/time/rate
// limiters costs well over 100 bytes per key and grows without bound; a Redis
// fixed window allows twice the limit across a window edge; go-redis/redis_rate
// has no wait, no fallback and a hard-coded prefix; limiters that fall back to a
// local limiter when Redis fails let N instances allow N times the rate, and some
// take time from each client's clock.
//
// # The algorithm and the guarantee
//
// Both limiters run GCRA (the generic cell rate algorithm, a token bucket stored
// as one number): a key's state is its TAT, the time at which its bucket would be
// full again. A Limit earns one event every Interval and allows Burst back to
// back. Over any window of length W a key is allowed at most
//
//	Burst + floor(W / Interval)
//
// events, whatever the concurrency — the tests check this bound exactly against a
// simulated clock (Local) and against the tier in force (Limiter). A refused
// request takes nothing and reports RetryAfter, the exact time until it would be
// allowed; ResetAfter is the time until the bucket is full. Intervals are rounded
// up to a microsecond, so a limit never allows more than it states.
// PerSecond(n), PerMinute(n) and Per(n, d) have burst n; Every(d) has burst 1;
// WithBurst changes it.
//
// Local keeps one int64 per key in 64 mutex-sharded maps keyed by a 64-bit hash
// of the key (a collision can only make two keys share a bucket: stricter, never
// looser). A key whose TAT has passed is indistinguishable from an absent key, so
// Local evicts such keys without losing anything, amortised over inserts, and
// holds at most WithMaxKeys keys: at the cap with nothing evictable it refuses new
// keys (fail closed) instead of forgetting a key that is still in debt.
//
// The time is read before the shard lock is taken, yet a late goroutine with an
// older reading cannot mint tokens (the x/time/rate failure of golang/go#65508):
// TAT only moves forward and an older now is only compared against it, which can
// make that one decision stricter, never looser.
//
// Limiter runs each decision as one Lua script on one key, timed by the Redis
// server's clock (TIME), so every instance shares each key's limit exactly and no
// client clock matters. Concurrent calls are combined: a caller that finds a free
// lane sends everything queued in one pipeline, so under load one round trip
// carries many decisions (WithPipelining, default 2 lanes) while a lone caller pays one plain round
// trip. WithBatchScript goes further and runs each pipeline as one multi-key
// script per hash slot.
//
// Per-key overrides (SetOverride, WithOverrides) give a hot SKU or a VIP its own
// limit on top of the default; a key's stored TAT stays valid when its limit
// changes.
//
// # Key layout
//
// One Redis string per key:
//
//	<prefix>ratelimit:<key>   TAT in microseconds since the Unix epoch (server clock)
//
// The prefix defaults to "surge:" (WithPrefix). Each key expires exactly when its
// bucket is full again, so expiry loses nothing and idle keys cost nothing. The
// default script touches only KEYS[1]: it is safe on Redis Cluster and behind
// proxies that route by key. WithBatchScript's script touches several keys, all
// in one hash slot on a *redis.ClusterClient (grouped by slot) and any keys on a
// *redis.Client; do not enable it behind a proxy that routes a script by its first
// key. A user key containing {...} picks its own slot, which is harmless: no
// script needs two of a key's entries together.
//
// # Failure modes
//
//   - Redis unreachable, no fallback: AllowN returns an error wrapping
//     ErrUnavailable. The middleware answers 503 (WithFailOpen lets requests
//     through instead).
//   - Redis unreachable with WithFallback(instances): decisions move to a local
//     limiter at limit/instances (interval × instances, burst / instances, at
//     least 1), per key, marked Result.Fallback, and the WithOnStateChange callback
//     runs. Once per probe interval (WithProbeInterval, default 1s) one decision
//     tries Redis; when it succeeds the limiter returns to Redis and the callback
//     runs again. During the outage all instances together stay within the limit,
//     but the local buckets start full and know nothing of what Redis had already
//     allowed, so the first moments of an outage can add up to one burst per
//     instance; with a burst smaller than instances the rounding up to 1 can also
//     exceed it. A request of n larger than the fallback's burst is refused.
//   - The Redis/fallback state is limiter-wide: on a cluster, one unreachable
//     master sends every key to the fallback until a probe succeeds, and a probe
//     that lands on a healthy master switches back, so a partial outage can flap
//     (each switch is reported and counted).
//   - Server errors other than unavailability (LOADING, CLUSTERDOWN, TRYAGAIN,
//     MASTERDOWN, READONLY and BUSY count as unavailability) are returned.
//   - A context that ends while a call waits in the combiner's queue removes it;
//     a call already sent waits for its reply, bounded by the client's timeouts.
//   - Redis failover: the replica has the TATs that were replicated; a decision
//     acknowledged just before the failover may be lost, allowing at most those
//     few extra events. Redis must run with maxmemory-policy noeviction, like the
//     rest of surge (an evicted TAT gives a key a full bucket).
//   - Local at its key cap refuses new keys with Overflows counted in Stats.
//
// Wait and WaitN sleep RetryAfter between tries, never past the context deadline
// or WithMaxWait (default 5s): when the wait cannot fit they return ErrLimited at
// once instead of sleeping in vain.
package ratelimit
