package simhash

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/redis/go-redis/v9"
)

// RedisIndex is the Index on Redis, shared by every process. Each block value
// is a SET of "<8-byte fingerprint><id>" members under its own key, so a query
// is one pipelined round of k+1 SMEMBERS and the candidates carry their full
// fingerprint. Every command touches one key, so the keys spread over a
// cluster freely (see doc.go for the layout).
type RedisIndex struct {
	rdb    redis.UniversalClient
	b      blocks
	prefix string

	adds, removes, queries, candidates, errs atomic.Int64
}

// RedisStats is a snapshot of a RedisIndex's counters.
type RedisStats struct {
	Adds, Removes, Queries, Candidates, Errors int64
}

// RedisOption configures a RedisIndex.
type RedisOption func(*RedisIndex)

// WithPrefix sets the key prefix (default "surge:"); use one prefix (or name)
// per corpus.
func WithPrefix(p string) RedisOption { return func(r *RedisIndex) { r.prefix = p } }

// NewRedisIndex returns an index for distance k (0..7) on rdb. It does no I/O.
func NewRedisIndex(rdb redis.UniversalClient, k int, opts ...RedisOption) (*RedisIndex, error) {
	b, err := newBlocks(k)
	if err != nil {
		return nil, err
	}
	r := &RedisIndex{rdb: rdb, b: b, prefix: "surge:"}
	for _, o := range opts {
		o(r)
	}
	if rdb == nil || r.prefix == "" || strings.ContainsAny(r.prefix, "{}") {
		return nil, ErrConfig
	}
	return r, nil
}

// K is the largest distance a query finds.
func (r *RedisIndex) K() int { return r.b.n - 1 }

func (r *RedisIndex) blockKey(i int, v uint64) string {
	return r.prefix + "sh:b:" + strconv.Itoa(r.b.n-1) + ":" + strconv.Itoa(i) + ":" + strconv.FormatUint(v, 16)
}

func (r *RedisIndex) idKey(id string) string {
	return r.prefix + "sh:id:" + strconv.Itoa(r.b.n-1) + ":" + id
}

func member(id string, fp Fingerprint) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(fp))
	return string(b[:]) + id
}

// Add stores fp under id, replacing its previous fingerprint. It reads the old
// fingerprint, then writes the id key and the k+1 block members in one
// pipeline; not atomic across keys (see doc.go).
func (r *RedisIndex) Add(ctx context.Context, id string, fp Fingerprint) error {
	if !validID(id) {
		return ErrInvalidID
	}
	if fp == Empty {
		return ErrEmpty
	}
	old, err := r.lookup(ctx, id)
	if err != nil {
		return err
	}
	if old == fp {
		return nil
	}
	pipe := r.rdb.Pipeline()
	if old != Empty {
		r.unlink(ctx, pipe, id, old)
	}
	pipe.Set(ctx, r.idKey(id), strconv.FormatUint(uint64(fp), 16), 0)
	m := member(id, fp)
	for i := range r.b.n {
		pipe.SAdd(ctx, r.blockKey(i, r.b.value(fp, i)), m)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		r.errs.Add(1)
		return fmt.Errorf("simhash: add: %w", err)
	}
	r.adds.Add(1)
	return nil
}

func (r *RedisIndex) unlink(ctx context.Context, pipe redis.Pipeliner, id string, fp Fingerprint) {
	m := member(id, fp)
	for i := range r.b.n {
		pipe.SRem(ctx, r.blockKey(i, r.b.value(fp, i)), m)
	}
}

func (r *RedisIndex) lookup(ctx context.Context, id string) (Fingerprint, error) {
	s, err := r.rdb.Get(ctx, r.idKey(id)).Result()
	if errors.Is(err, redis.Nil) {
		return Empty, nil
	}
	if err != nil {
		r.errs.Add(1)
		return Empty, fmt.Errorf("simhash: lookup: %w", err)
	}
	v, err := strconv.ParseUint(s, 16, 64)
	if err != nil {
		return Empty, fmt.Errorf("simhash: corrupt id record for %q", id)
	}
	return Fingerprint(v), nil
}

// Remove deletes id.
func (r *RedisIndex) Remove(ctx context.Context, id string) (bool, error) {
	if !validID(id) {
		return false, ErrInvalidID
	}
	fp, err := r.lookup(ctx, id)
	if err != nil || fp == Empty {
		return false, err
	}
	pipe := r.rdb.Pipeline()
	r.unlink(ctx, pipe, id, fp)
	pipe.Del(ctx, r.idKey(id))
	if _, err := pipe.Exec(ctx); err != nil {
		r.errs.Add(1)
		return false, fmt.Errorf("simhash: remove: %w", err)
	}
	r.removes.Add(1)
	return true, nil
}

// Query returns every entry within K bits of fp. Empty matches nothing.
func (r *RedisIndex) Query(ctx context.Context, fp Fingerprint) ([]Match, error) {
	r.queries.Add(1)
	if fp == Empty {
		return nil, nil
	}
	pipe := r.rdb.Pipeline()
	cmds := make([]*redis.StringSliceCmd, r.b.n)
	for i := range r.b.n {
		cmds[i] = pipe.SMembers(ctx, r.blockKey(i, r.b.value(fp, i)))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		r.errs.Add(1)
		return nil, fmt.Errorf("simhash: query: %w", err)
	}
	k := r.b.n - 1
	var out []Match
	for i, c := range cmds {
		ms := c.Val()
		r.candidates.Add(int64(len(ms)))
		for _, m := range ms {
			if len(m) <= 8 {
				continue // not written by Add
			}
			cf := Fingerprint(binary.BigEndian.Uint64([]byte(m[:8])))
			if d := Distance(fp, cf); d <= k && r.b.firstShared(fp, cf) == i {
				out = append(out, Match{ID: m[8:], Fingerprint: cf, Distance: d})
			}
		}
	}
	return out, nil
}

// Stats returns a snapshot of the counters.
func (r *RedisIndex) Stats() RedisStats {
	return RedisStats{Adds: r.adds.Load(), Removes: r.removes.Load(), Queries: r.queries.Load(),
		Candidates: r.candidates.Load(), Errors: r.errs.Load()}
}
