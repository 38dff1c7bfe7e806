package cache_test

import (
	"context"
	"errors"
	"math"
	"strconv"
	"testing"

	"github.com/surgekit/surge/cache"
	"github.com/surgekit/surge/internal/redistest"
)

func TestBloomSize(t *testing.T) {
	m, k, err := cache.BloomSize(1_000_000, 0.01)
	if err != nil {
		t.Fatal(err)
	}
	// Textbook values: 9,585,059 bits and 7 hashes.
	if m != 9585059 || k != 7 {
		t.Fatalf("m=%d k=%d", m, k)
	}
	for _, bad := range []struct {
		n uint64
		p float64
	}{{0, 0.1}, {10, 0}, {10, 1}, {10, math.NaN()}, {10, -1}, {math.MaxUint64, 1e-300}} {
		if _, _, err := cache.BloomSize(bad.n, bad.p); !errors.Is(err, cache.ErrInvalidOption) {
			t.Errorf("BloomSize(%d, %v) = %v", bad.n, bad.p, err)
		}
	}
}

func checkFilter(t *testing.T, f cache.Filter, n int, p float64) {
	t.Helper()
	ctx := context.Background()
	keys := make([]string, n)
	for i := range keys {
		keys[i] = "id" + strconv.Itoa(i)
	}
	if err := f.Add(ctx, keys...); err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		ok, err := f.MayContain(ctx, k)
		if err != nil || !ok {
			t.Fatalf("false negative for %s: %v", k, err)
		}
	}
	fp := 0
	const probes = 1500
	for i := 0; i < probes; i++ {
		ok, err := f.MayContain(ctx, "absent"+strconv.Itoa(i))
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			fp++
		}
	}
	rate := float64(fp) / probes
	t.Logf("%T: %d keys, false-positive rate %.4f (target %.4f)", f, n, rate, p)
	if rate > 3*p {
		t.Fatalf("false-positive rate %.4f > 3×%.4f", rate, p)
	}
}

func TestLocalBloom(t *testing.T) {
	m, k, _ := cache.BloomSize(5000, 0.01)
	b, err := cache.NewLocalBloom(m, k)
	if err != nil {
		t.Fatal(err)
	}
	checkFilter(t, b, 5000, 0.01)
	if _, err := cache.NewLocalBloom(0, 3); !errors.Is(err, cache.ErrInvalidOption) {
		t.Fatal(err)
	}
}

// The Redis filter is sharded: with 4096-bit shards a 2000-key filter spans
// several keys (so no key grows past the limit and shards spread over slots).
func TestRedisBloomSharded(t *testing.T) {
	rdb := redistest.Client(t)
	m, k, _ := cache.BloomSize(2000, 0.01)
	b, err := cache.NewRedisBloom(rdb, "skus", m, k, cache.WithPrefix(redistest.Prefix(t)), cache.WithShardBits(4096))
	if err != nil {
		t.Fatal(err)
	}
	if b.Shards() < 4 {
		t.Fatalf("only %d shards", b.Shards())
	}
	checkFilter(t, b, 2000, 0.01)
	// Another process with the same parameters sees the same set.
	b2, _ := cache.NewRedisBloom(rdb, "skus", m, k, cache.WithPrefix(redistest.Prefix(t)), cache.WithShardBits(4096))
	if ok, err := b2.MayContain(context.Background(), "id42"); err != nil || !ok {
		t.Fatalf("shared filter: %v %v", ok, err)
	}
	if _, err := cache.NewRedisBloom(rdb, "a{b", m, k); !errors.Is(err, cache.ErrInvalidKey) {
		t.Fatal(err)
	}
}

// With a filter in front, ids proven absent never reach the source or Redis
// placeholders at all.
func TestGetWithFilter(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Client(t)
	src := newSource(100)
	m, k, _ := cache.BloomSize(100, 0.001)
	f, _ := cache.NewLocalBloom(m, k)
	for i := 0; i < 100; i++ {
		_ = f.Add(ctx, "sku"+strconv.Itoa(i))
	}
	c := newCache(t, rdb, cache.WithFilter(f))
	for i := 0; i < 1000; i++ {
		_, err := c.Get(ctx, "attack"+strconv.Itoa(i), src.load)
		if !errors.Is(err, cache.ErrNotFound) {
			t.Fatal(err)
		}
	}
	if v, err := c.Get(ctx, "sku7", src.load); err != nil || v.Price != 107 {
		t.Fatalf("%+v %v", v, err)
	}
	st := c.Stats()
	if st.FilterRejects+st.Loads != 1001 || st.FilterRejects < 990 {
		t.Fatalf("stats %+v", st)
	}
}

// GetMany on a cluster: keys spread over all slots, pipelined per node.
func TestGetMany(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Client(t)
	src := newSource(300)
	c := newCache(t, rdb, cache.WithStrategy(cache.Lease))
	var keys []string
	for i := 0; i < 300; i += 2 {
		keys = append(keys, "sku"+strconv.Itoa(i))
	}
	// Warm half of them.
	for _, k := range keys[:len(keys)/2] {
		if _, err := c.Get(ctx, k, src.load); err != nil {
			t.Fatal(err)
		}
	}
	keys = append(keys, "ghost1", "ghost2", "sku0")
	got, err := c.GetMany(ctx, keys, src.load)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 150 {
		t.Fatalf("got %d values", len(got))
	}
	for i := 0; i < 300; i += 2 {
		if v := got["sku"+strconv.Itoa(i)]; v.Price != 100+i {
			t.Fatalf("sku%d = %+v", i, v)
		}
	}
	if n := src.total.Load(); n != 150+2 {
		t.Fatalf("source reads %d, want 152 (each key once)", n)
	}
	if _, err := c.GetMany(ctx, []string{"ok", "b{ad"}, src.load); !errors.Is(err, cache.ErrInvalidKey) {
		t.Fatal(err)
	}
}
