package lock

import (
	"context"
	"crypto/rand"
	"slices"
	"testing"
	"time"

	"github.com/go-redsync/redsync/v4"
	rsredis "github.com/go-redsync/redsync/v4/redis"
	rsgoredis "github.com/go-redsync/redsync/v4/redis/goredis/v9"
	"github.com/redis/go-redis/v9"
	"github.com/surgekit/surge/internal/redistest"
)

// rawRelease is the floor's compare-and-delete.
var rawRelease = redis.NewScript(`if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`)

// BenchmarkSingleVsFloor: one uncontended acquire+release per op, surge
// single-node against the floor (a random token, SET NX PX, Lua
// compare-and-delete), interleaved in the same loop so both see the same
// machine. Reports both median latencies and surge/floor.
func BenchmarkSingleVsFloor(b *testing.B) {
	rdb := redistest.Client(b)
	p := redistest.Prefix(b)
	c, err := New(rdb, WithPrefix(p))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	rawKey := p + "raw"
	floor := func() {
		tok := rand.Text()
		ok, err := rdb.SetNX(ctx, rawKey, tok, 10*time.Second).Result()
		if err != nil || !ok {
			b.Fatalf("floor acquire: %v %v", ok, err)
		}
		if n, err := rawRelease.Run(ctx, rdb, []string{rawKey}, tok).Int(); err != nil || n != 1 {
			b.Fatalf("floor release: %v %v", n, err)
		}
	}
	surge := func() {
		l, err := c.Acquire(ctx, "bench", 10*time.Second)
		if err != nil {
			b.Fatal(err)
		}
		if err := l.Release(ctx); err != nil {
			b.Fatal(err)
		}
	}
	floor() // load scripts, warm the pools
	surge()
	a, s := interleave(b, floor, surge)
	b.ReportMetric(a, "floor-p50-ns")
	b.ReportMetric(s, "surge-p50-ns")
	b.ReportMetric(s/a, "surge/floor")
}

// BenchmarkRedlockVsRedsync: one uncontended acquire+release over 5 masters
// per op: plain redsync (its go-redis v9 pool, one try), surge Redlock with
// fencing (one more round trip: the write-back) and without. Interleaved.
func BenchmarkRedlockVsRedsync(b *testing.B) {
	nodes := redistest.Nodes(b, 5)
	p := redistest.Prefix(b)
	u := make([]redis.UniversalClient, len(nodes))
	pools := make([]rsredis.Pool, len(nodes))
	for i, n := range nodes {
		u[i] = n
		pools[i] = rsgoredis.NewPool(n)
	}
	fenced, err := NewRedlock(u, WithPrefix(p))
	if err != nil {
		b.Fatal(err)
	}
	defer fenced.Close()
	unfenced, err := NewRedlock(u, WithPrefix(p), WithoutFencing())
	if err != nil {
		b.Fatal(err)
	}
	defer unfenced.Close()
	rs := redsync.New(pools...)
	ctx := context.Background()
	plain := func() {
		m := rs.NewMutex(p+"redsync", redsync.WithExpiry(10*time.Second), redsync.WithTries(1))
		if err := m.LockContext(ctx); err != nil {
			b.Fatal(err)
		}
		if ok, err := m.UnlockContext(ctx); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
	run := func(c *Client, name string) func() {
		return func() {
			l, err := c.Acquire(ctx, name, 10*time.Second)
			if err != nil {
				b.Fatal(err)
			}
			if err := l.Release(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
	f, nf := run(fenced, "fenced"), run(unfenced, "unfenced")
	plain()
	f()
	nf()
	r, s, s2 := interleave3(b, plain, f, nf)
	b.ReportMetric(r, "redsync-p50-ns")
	b.ReportMetric(s, "fenced-p50-ns")
	b.ReportMetric(s2, "unfenced-p50-ns")
	b.ReportMetric(s/r, "fenced/redsync")
	b.ReportMetric(s2/r, "unfenced/redsync")
}

// interleave runs x and y alternately (swapping which goes first) and
// returns the median ns per call of each: on a shared, loaded machine the
// median resists the scheduling spikes that dominate a mean.
func interleave(b *testing.B, x, y func()) (float64, float64) {
	tx := make([]time.Duration, 0, b.N)
	ty := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%2 == 0 {
			tx = append(tx, timed(x))
			ty = append(ty, timed(y))
		} else {
			ty = append(ty, timed(y))
			tx = append(tx, timed(x))
		}
	}
	return median(tx), median(ty)
}

func interleave3(b *testing.B, x, y, z func()) (float64, float64, float64) {
	var t [3][]time.Duration
	fs := [3]func(){x, y, z}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j := range 3 {
			k := (i + j) % 3
			t[k] = append(t[k], timed(fs[k]))
		}
	}
	return median(t[0]), median(t[1]), median(t[2])
}

func median(d []time.Duration) float64 {
	slices.Sort(d)
	return float64(d[len(d)/2])
}

func timed(f func()) time.Duration {
	s := time.Now()
	f()
	return time.Since(s)
}
