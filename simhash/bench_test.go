package simhash

import (
	"context"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/surgekit/surge/internal/cputime"
	"github.com/surgekit/surge/internal/redistest"
)

// naive is the textbook simhash: tokens as strings, hash/fnv, 64 adds per
// feature, word shingles built by concatenation. Same features as Hasher.
func naive(tk *Tokenizer, text string) Fingerprint {
	var v [64]int
	toks := tk.Tokens(text)
	feat := func(s string) {
		f := fnv.New64a()
		f.Write([]byte(s))
		h := f.Sum64()
		for i := range 64 {
			if h>>i&1 == 1 {
				v[i]++
			} else {
				v[i]--
			}
		}
	}
	for i, t := range toks {
		if i > 0 {
			feat(toks[i-1] + " " + t)
		}
	}
	var fp uint64
	for i := range 64 {
		if v[i] > 0 {
			fp |= 1 << i
		}
	}
	return Fingerprint(fp)
}

// BenchmarkFingerprint measures fingerprint throughput on 64 KB documents,
// against the naive implementation in the same run.
func BenchmarkFingerprint(b *testing.B) {
	for _, cjk := range []bool{false, true} {
		name := map[bool]string{false: "english", true: "chinese"}[cjk]
		b.Run(name, func(b *testing.B) {
			g := newGen(5, cjk)
			text := ""
			for len(text) < 64<<10 {
				text += g.doc(10, 20).text(cjk)
			}
			h, _ := New()
			var fast, slow, fastCPU, slowCPU time.Duration
			var sink Fingerprint
			for b.Loop() {
				t0 := time.Now()
				fastCPU += cputime.Thread(func() {
					for range 10 {
						sink ^= h.Fingerprint(text)
					}
				})
				t1 := time.Now()
				slowCPU += cputime.Thread(func() { sink ^= naive(h.tok, text) })
				fast += t1.Sub(t0)
				slow += time.Since(t1)
			}
			mb := float64(len(text)) / 1e6 * float64(b.N)
			b.ReportMetric(10*mb/fast.Seconds(), "wall-MB/s")
			b.ReportMetric(10*mb/max(fastCPU.Seconds(), 1e-9), "cpu-MB/s")
			b.ReportMetric(mb/max(slowCPU.Seconds(), 1e-9), "naive-cpu-MB/s")
			b.ReportMetric(10*slow.Seconds()/fast.Seconds(), "x-vs-naive")
			_ = sink
		})
	}
}

// benchIndexSize is the index size of BenchmarkIndexLookup: 2^18 by default so
// that -benchtime 1x stays quick; SIMHASH_BENCH_ENTRIES=1048576 gives the 1M
// setting of Manku et al. (the build takes a few seconds, once per process).
func benchIndexSize() int {
	if n, err := strconv.Atoi(os.Getenv("SIMHASH_BENCH_ENTRIES")); err == nil && n > 0 {
		return n
	}
	return 1 << 18
}

var bigIndex = sync.OnceValues(func() (*MemoryIndex, []Fingerprint) {
	t0 := time.Now()
	defer func() {
		fmt.Fprintf(os.Stderr, "simhash: built a %d-entry index in %v\n", benchIndexSize(), time.Since(t0))
	}()
	idx, _ := NewMemoryIndex(3)
	rng := rand.New(rand.NewPCG(11, 12))
	fps := make([]Fingerprint, benchIndexSize())
	for i := range fps {
		fps[i] = Fingerprint(rng.Uint64() | 1)
		_ = idx.Add(context.Background(), strconv.Itoa(i), fps[i])
	}
	return idx, fps
})

// BenchmarkIndexLookup: all fingerprints within 3 bits among benchIndexSize(),
// via the pigeonhole index and via a linear scan, in the same run.
func BenchmarkIndexLookup(b *testing.B) {
	idx, fps := bigIndex()
	rng := rand.New(rand.NewPCG(1, 1))
	queries := make([]Fingerprint, 1000)
	for i := range queries {
		queries[i] = flip(rng, fps[rng.IntN(len(fps))], rng.IntN(4))
	}
	var buf []Match
	var fast, slow time.Duration // thread CPU time: the machine may be shared
	found := 0
	for b.Loop() {
		fast += cputime.Thread(func() {
			for _, q := range queries {
				buf = idx.AppendQuery(buf[:0], q)
				found += len(buf)
			}
		})
		slow += cputime.Thread(func() {
			q := queries[0]
			for _, fp := range fps {
				if Distance(q, fp) <= 3 {
					found++
				}
			}
		})
	}
	if found < b.N*len(queries) {
		b.Fatalf("queries lost their own entries: %d", found)
	}
	perIndex := float64(fast.Nanoseconds()) / float64(b.N*len(queries))
	perScan := float64(slow.Nanoseconds()) / float64(b.N)
	b.ReportMetric(perIndex, "index-cpu-ns/query")
	b.ReportMetric(perScan, "scan-cpu-ns/query")
	b.ReportMetric(perScan/perIndex, "x-vs-scan")
}

// BenchmarkRedisLookup: a RedisIndex query (one pipelined round of 4
// SMEMBERS) against the naive Redis way: HGETALL of every fingerprint and a
// scan, over 1000 entries (kept small so that -benchtime 1x stays fast; the
// naive cost grows with the corpus, the index cost does not), on the tier in force.
func BenchmarkRedisLookup(b *testing.B) {
	rdb := redistest.Client(b)
	ctx := context.Background()
	idx, _ := NewRedisIndex(rdb, 3, WithPrefix(redistest.Prefix(b)))
	rng := rand.New(rand.NewPCG(2, 2))
	const n = 1000
	fps := make([]Fingerprint, n)
	hashKey := redistest.Prefix(b) + "naive"
	pipe := rdb.Pipeline()
	for i := range fps {
		fps[i] = Fingerprint(rng.Uint64() | 1)
		pipe.HSet(ctx, hashKey, strconv.Itoa(i), strconv.FormatUint(uint64(fps[i]), 16))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		b.Fatal(err)
	}
	for i, fp := range fps {
		if err := idx.Add(ctx, strconv.Itoa(i), fp); err != nil {
			b.Fatal(err)
		}
	}
	var fast, slow time.Duration
	const batch = 20
	for b.Loop() {
		t0 := time.Now()
		for i := range batch {
			ms, err := idx.Query(ctx, flip(rng, fps[i], 2))
			if err != nil || len(ms) == 0 {
				b.Fatal(err, len(ms))
			}
		}
		t1 := time.Now()
		for i := range batch {
			if nearHGetAll(ctx, b, rdb, hashKey, flip(rng, fps[i], 2)) == 0 {
				b.Fatal("naive lost the entry")
			}
		}
		fast += t1.Sub(t0)
		slow += time.Since(t1)
	}
	ops := float64(b.N * batch)
	b.ReportMetric(float64(fast.Microseconds())/ops, "index-µs/query")
	b.ReportMetric(float64(slow.Microseconds())/ops, "hgetall-µs/query")
	b.ReportMetric(slow.Seconds()/fast.Seconds(), "x-vs-hgetall")
}

func nearHGetAll(ctx context.Context, b *testing.B, rdb redis.UniversalClient, key string, q Fingerprint) int {
	all, err := rdb.HGetAll(ctx, key).Result()
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	for _, v := range all {
		fp, _ := strconv.ParseUint(v, 16, 64)
		if Distance(q, Fingerprint(fp)) <= 3 {
			n++
		}
	}
	return n
}
