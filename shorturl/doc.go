// Package shorturl makes short links that are unique by construction: base62
// codes over IDs from Redis INCRBY segments, optionally passed through a keyed
// permutation so they are not sequential, stored with SET NX, with custom
// aliases, expiry, per-owner dedupe and a redirect http.Handler that counts
// clicks without a Redis write per hit.
//
// # The problem
//
// Shorteners race (EXISTS then SET), retry random codes without bound, or leak
// sequential IDs; snowflake IDs are 11 base62 characters long; segment
// allocators (Meituan Leaf's segment mode) are fast but forget that a Redis
// failover can move a counter backwards and hand out the same IDs again.
//
// # The guarantee
//
//   - Allocator.Next never returns the same ID twice, across goroutines,
//     allocators and processes sharing a counter, as long as the counter never
//     goes below the high-water mark (see failure modes). IDs start at 1, are
//     below 2^53, and have gaps (unused parts of segments are abandoned).
//   - Next costs one atomic add. A segment of between min and max IDs is
//     reserved with one script call; the next one is prefetched in the
//     background after 20% of the current one is used (double buffer), and the
//     size doubles or halves so that one segment lasts about the target time.
//   - A segment is never placed below the high-water mark: the largest of the
//     mark stored next to the counter, this allocator's own last segment end,
//     and the MarkStore (WithMarkStore). A counter found below it is moved past
//     it (Stats.Backwards, Stats.SkippedIDs).
//   - A Permutation is a bijection of [0, 62^width) (a 6-round Feistel network
//     with cycle walking), so permuted codes stay unique and are exactly width
//     characters. It hides order from casual enumeration; it is not a cipher.
//   - A code is written with SET NX and is never overwritten. An alias that
//     holds a future generated code makes Shorten skip that ID.
//   - Of concurrent Claims of one alias exactly one wins.
//   - With WithDedupe, concurrent Shorten calls of one owner and URL return one
//     code (losing codes are deleted).
//   - Expired links answer ErrExpired (HTTP 410) for the tombstone period, then
//     ErrNotFound (404).
//
// # Key layout
//
// With the default prefix "surge:" (each key is alone in its script, so only
// the counter pair must share a slot):
//
//	surge:su:{<name>}:ctr      counter (string, INCRBY)            hash tag {<name>}
//	surge:su:{<name>}:hwm      high-water mark (string)            hash tag {<name>}
//	surge:su:l:{<code>}        "<expiry unix ms>\n<url>", SET NX; TTL = link TTL + tombstone
//	surge:su:c:{<code>}        click count (INCRBY from the handler's flush)
//	surge:su:d:<hash>          dedupe entry: code of the owner's link for a URL; TTL = link TTL
//
// <name> is WithCounterName (default "ids"); <hash> is 128 bits of SHA-256 of
// owner and URL.
//
// # Failure modes
//
//   - Redis down: Next keeps handing out the IDs already reserved (the current
//     and prefetched segments), then returns errors; it never invents IDs.
//     Resolve and the handler fail (503); clicks stay in memory and are retried
//     by the next flush.
//   - Failover with asynchronous replication can lose the last INCRBYs. The
//     counter and its mark live on the same node and are lost together, so the
//     mark in Redis only catches a counter key that was reset or restored
//     alone. Each allocator also remembers its own last segment end. To survive
//     the loss of both keys with several allocators, give them a shared
//     MarkStore that is durable elsewhere (a SQL row, a file, a Redis with
//     appendfsync always): every segment end is saved there before use.
//   - Clock: expiry is decided with the application's clock (WithClock), so
//     servers with skewed clocks disagree about a link for the size of the skew.
//   - A click flush whose reply is lost after Redis applied it is retried and
//     counted twice; clicks pending in a process that crashes are lost.
//   - Permanent redirects (Permanent) are cached by clients for max-age: those
//     clicks are not seen, and expiry or changes reach them late.
//
// Redis must run with maxmemory-policy noeviction: an evicted counter or mark
// is a counter that moved backwards.
package shorturl
