package cache

import (
	"context"
	"fmt"
	"hash/fnv"
	"math"
	"strconv"
	"sync"

	"github.com/bits-and-blooms/bitset"
	"github.com/redis/go-redis/v9"
)

// Filter answers "may this key exist in the source?". False must be certain
// (no false negatives); true may be wrong. Add every key the source gets.
type Filter interface {
	MayContain(ctx context.Context, key string) (bool, error)
	Add(ctx context.Context, keys ...string) error
}

// BloomSize returns the bit count m and hash count k of a Bloom filter that
// holds n keys with false-positive rate p: m = ceil(-n ln p / ln²2),
// k = round(m/n · ln 2), k ≥ 1.
func BloomSize(n uint64, p float64) (m uint64, k uint, err error) {
	if n == 0 || !(p > 0 && p < 1) {
		return 0, 0, fmt.Errorf("%w: bloom n=%d p=%v (need n>0, 0<p<1)", ErrInvalidOption, n, p)
	}
	mf := math.Ceil(-float64(n) * math.Log(p) / (math.Ln2 * math.Ln2))
	if mf > 1<<50 {
		return 0, 0, fmt.Errorf("%w: bloom of %v bits is too large", ErrInvalidOption, mf)
	}
	m = uint64(mf)
	k = uint(math.Round(float64(m) / float64(n) * math.Ln2))
	if k < 1 {
		k = 1
	}
	return m, k, nil
}

// bloomHashes returns the two base hashes of key for double hashing
// (Kirsch–Mitzenmacher: h_i = h1 + i·h2). FNV-1a is stable across processes
// and versions, which a shared Redis filter needs.
func bloomHashes(key string) (uint64, uint64) {
	h := fnv.New64a()
	_, _ = h.Write([]byte(key))
	// FNV-1a alone spreads short, similar keys poorly over its high bits
	// (used to pick the Redis shard), so both hashes go through the
	// splitmix64 finaliser; h2 is forced odd so the probe sequence cycles.
	h1 := mix64(h.Sum64())
	return h1, mix64(h1+0x9e3779b97f4a7c15) | 1
}

func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func validateBloom(m uint64, k uint) error {
	if m < 8 || m > 1<<50 || k < 1 || k > 64 {
		return fmt.Errorf("%w: bloom m=%d k=%d (need 8 ≤ m ≤ 2^50, 1 ≤ k ≤ 64)", ErrInvalidOption, m, k)
	}
	return nil
}

// LocalBloom is an in-process Bloom filter on bits-and-blooms/bitset.
type LocalBloom struct {
	mu   sync.RWMutex
	bits *bitset.BitSet
	m    uint64
	k    uint
}

// NewLocalBloom returns an empty in-process filter of m bits and k hashes
// (see BloomSize).
func NewLocalBloom(m uint64, k uint) (*LocalBloom, error) {
	if err := validateBloom(m, k); err != nil {
		return nil, err
	}
	return &LocalBloom{bits: bitset.New(uint(m)), m: m, k: k}, nil
}

// Add inserts keys.
func (b *LocalBloom) Add(_ context.Context, keys ...string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, key := range keys {
		h1, h2 := bloomHashes(key)
		for i := uint64(0); i < uint64(b.k); i++ {
			b.bits.Set(uint((h1 + i*h2) % b.m))
		}
	}
	return nil
}

// MayContain reports whether key may have been added.
func (b *LocalBloom) MayContain(_ context.Context, key string) (bool, error) {
	h1, h2 := bloomHashes(key)
	b.mu.RLock()
	defer b.mu.RUnlock()
	for i := uint64(0); i < uint64(b.k); i++ {
		if !b.bits.Test(uint((h1 + i*h2) % b.m)) {
			return false, nil
		}
	}
	return true, nil
}

// RedisBloom is a Bloom filter shared by all processes, stored as sharded
// Redis bitmaps "<prefix>bloom:{<name>:<i>}". Each key's k bits live in one
// shard chosen by its hash (a blocked Bloom filter), so Add and MayContain
// cost one pipelined round trip, no bitmap exceeds WithShardBits
// (default 1 MiB), and the shards spread over the cluster's slots.
type RedisBloom struct {
	rdb       redis.UniversalClient
	keys      []string
	shardBits uint64
	k         uint
}

// NewRedisBloom returns a shared filter called name of about m bits and k
// hashes (see BloomSize). All processes must use the same name, m, k,
// prefix and shard size. Blocking makes the real false-positive rate
// slightly higher than BloomSize's p; size with a little headroom.
func NewRedisBloom(rdb redis.UniversalClient, name string, m uint64, k uint, opts ...Option) (*RedisBloom, error) {
	if rdb == nil {
		return nil, fmt.Errorf("%w: nil redis client", ErrInvalidOption)
	}
	if err := validateBloom(m, k); err != nil {
		return nil, err
	}
	if err := validateKey(name); err != nil {
		return nil, fmt.Errorf("bloom name: %w", err)
	}
	cfg, err := build(opts)
	if err != nil {
		return nil, err
	}
	shards := (m + cfg.shardBits - 1) / cfg.shardBits
	if shards > 1<<16 {
		return nil, fmt.Errorf("%w: %d shards; raise WithShardBits", ErrInvalidOption, shards)
	}
	per := (m + shards - 1) / shards
	b := &RedisBloom{rdb: rdb, shardBits: per, k: k}
	for i := uint64(0); i < shards; i++ {
		b.keys = append(b.keys, cfg.prefix+"bloom:{"+name+":"+strconv.FormatUint(i, 10)+"}")
	}
	return b, nil
}

// Shards returns the number of bitmap shards.
func (b *RedisBloom) Shards() int { return len(b.keys) }

// locate returns key's shard and its k bit offsets within the shard. The
// shard uses the high half of h1, the offsets the whole double hash.
func (b *RedisBloom) locate(key string) (int, []int64) {
	h1, h2 := bloomHashes(key)
	shard := int((h1 >> 32) % uint64(len(b.keys)))
	offs := make([]int64, b.k)
	for i := range offs {
		offs[i] = int64((h1 + uint64(i)*h2) % b.shardBits)
	}
	return shard, offs
}

// Add inserts keys with one pipeline of SETBITs (go-redis splits it per
// node on a cluster; every command touches one shard key).
func (b *RedisBloom) Add(ctx context.Context, keys ...string) error {
	for len(keys) > 0 {
		n := min(len(keys), 1024)
		pipe := b.rdb.Pipeline()
		for _, key := range keys[:n] {
			shard, offs := b.locate(key)
			for _, o := range offs {
				pipe.SetBit(ctx, b.keys[shard], o, 1)
			}
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return fmt.Errorf("cache: bloom add: %w", err)
		}
		keys = keys[n:]
	}
	return nil
}

// MayContain reports whether key may have been added: k GETBITs on one
// shard in one pipeline (one round trip).
func (b *RedisBloom) MayContain(ctx context.Context, key string) (bool, error) {
	shard, offs := b.locate(key)
	pipe := b.rdb.Pipeline()
	cmds := make([]*redis.IntCmd, len(offs))
	for i, o := range offs {
		cmds[i] = pipe.GetBit(ctx, b.keys[shard], o)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return false, fmt.Errorf("cache: bloom check: %w", err)
	}
	for _, c := range cmds {
		if c.Val() == 0 {
			return false, nil
		}
	}
	return true, nil
}
