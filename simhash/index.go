package simhash

import "context"

// Match is one indexed fingerprint found by a query.
type Match struct {
	ID          string
	Fingerprint Fingerprint
	Distance    int
}

// Index finds every stored fingerprint within K bits of a query. MemoryIndex
// and RedisIndex implement it with the same semantics.
type Index interface {
	// Add stores fp under id, replacing what id had.
	Add(ctx context.Context, id string, fp Fingerprint) error
	// Remove deletes id; it reports whether id was present.
	Remove(ctx context.Context, id string) (bool, error)
	// Query returns every entry within K bits of fp (each once, any order).
	Query(ctx context.Context, fp Fingerprint) ([]Match, error)
	// K is the largest distance a query finds.
	K() int
}

// blocks splits 64 bits into k+1 contiguous blocks. By the pigeonhole
// principle, two fingerprints at distance <= k agree exactly on at least one
// block, so looking up the query's value of each block finds every match.
type blocks struct {
	n     int
	shift [8]uint
	mask  [8]uint64
}

func newBlocks(k int) (blocks, error) {
	if k < 0 || k > 7 {
		return blocks{}, ErrConfig
	}
	b := blocks{n: k + 1}
	var off uint
	for i := range b.n {
		w := uint(64 / b.n)
		if i < 64%b.n {
			w++
		}
		b.shift[i] = off
		b.mask[i] = 1<<w - 1
		off += w
	}
	return b, nil
}

func (b *blocks) value(fp Fingerprint, i int) uint64 {
	return uint64(fp) >> b.shift[i] & b.mask[i]
}

// firstShared is the index of the first block on which a and b agree (n when
// none). A candidate found in the bucket of block i is reported only when i is
// its first shared block, so each match is reported once without a seen-set.
func (b *blocks) firstShared(a, c Fingerprint) int {
	for i := range b.n {
		if b.value(a, i) == b.value(c, i) {
			return i
		}
	}
	return b.n
}

func validID(id string) bool { return len(id) > 0 && len(id) <= 512 }
