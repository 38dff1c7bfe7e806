package ratelimit

import (
	"flag"
	"hash/maphash"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/time/rate"

	"github.com/surgekit/surge/internal/redistest"
)

var benchKeys = flag.Int("ratelimit.keys", 100_000, "keys for BenchmarkLocalMemory (the README figure uses 1000000)")

// xrateMap is the usual per-key x/time/rate limiter: one *rate.Limiter per key in
// a map. It is sharded like Local so that the comparison isolates the per-key
// state, and it uses x/time/rate correctly (one AllowN with an explicit time).
type xrateMap struct {
	seed   maphash.Seed
	l      rate.Limit
	burst  int
	shards [localShards]struct {
		mu sync.Mutex
		m  map[string]*rate.Limiter
		_  [40]byte
	}
}

func newXrateMap(l Limit) *xrateMap {
	x := &xrateMap{seed: maphash.MakeSeed(), l: rate.Every(l.Interval), burst: l.Burst}
	for i := range x.shards {
		x.shards[i].m = map[string]*rate.Limiter{}
	}
	return x
}

func (x *xrateMap) allow(key string) bool {
	s := &x.shards[maphash.String(x.seed, key)>>(64-6)]
	s.mu.Lock()
	lim, ok := s.m[key]
	if !ok {
		lim = rate.NewLimiter(x.l, x.burst)
		s.m[key] = lim
	}
	s.mu.Unlock()
	return lim.AllowN(time.Now(), 1)
}

// runParallel spreads ops calls of f over workers goroutines and returns the
// wall time.
func runParallel(workers, ops int, f func(i int)) time.Duration {
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= ops {
					return
				}
				f(i)
			}
		}()
	}
	wg.Wait()
	return time.Since(start)
}

// BenchmarkLocalVsXRate measures one local decision of surge's Local and of an
// x/time/rate per-key map in the same run, on 10,000 keys from 4×GOMAXPROCS
// goroutines, and reports the ratio.
func BenchmarkLocalVsXRate(b *testing.B) {
	const nkeys, ops = 10_000, 200_000
	keys := make([]string, nkeys)
	for i := range keys {
		keys[i] = "user:" + strconv.Itoa(i)
	}
	l := PerSecond(10)
	workers := 4 * runtime.GOMAXPROCS(0)
	var surge, xr time.Duration
	for i := 0; i < b.N; i++ {
		lo, _ := NewLocal(l)
		x := newXrateMap(l)
		surge += runParallel(workers, ops, func(i int) { _, _ = lo.Allow(bg, keys[i%nkeys]) })
		xr += runParallel(workers, ops, func(i int) { x.allow(keys[i%nkeys]) })
	}
	n := float64(b.N * ops)
	b.ReportMetric(float64(surge.Nanoseconds())/n, "surge-ns/decision")
	b.ReportMetric(float64(xr.Nanoseconds())/n, "xrate-ns/decision")
	b.ReportMetric(float64(xr)/float64(surge), "speedup")
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkLocalMemory reports the heap bytes per key of Local and of an
// x/time/rate per-key map holding -ratelimit.keys keys (default 100,000 so that
// a -benchtime 1x run stays quick; the README figure is for 1,000,000).
func BenchmarkLocalMemory(b *testing.B) {
	n := *benchKeys
	l := Every(time.Hour) // nothing refills during the run: every key stays held
	var surgeB, xrB float64
	for i := 0; i < b.N; i++ {
		base := heapInUse()
		lo, _ := NewLocal(l, WithMaxKeys(n))
		for k := 0; k < n; k++ {
			_, _ = lo.Allow(bg, "user:"+strconv.Itoa(k))
		}
		surgeB += float64(heapInUse()-base) / float64(n)
		if lo.Len() != n {
			b.Fatalf("held %d of %d keys", lo.Len(), n)
		}
		runtime.KeepAlive(lo)
		lo = nil

		base = heapInUse()
		x := newXrateMap(l)
		for k := 0; k < n; k++ {
			x.allow("user:" + strconv.Itoa(k))
		}
		xrB += float64(heapInUse()-base) / float64(n)
		runtime.KeepAlive(x)
	}
	b.ReportMetric(surgeB/float64(b.N), "surge-B/key")
	b.ReportMetric(xrB/float64(b.N), "xrate-B/key")
	b.ReportMetric(xrB/surgeB, "xrate/surge")
}

// BenchmarkRedisDecisions measures distributed decisions per second from 64
// goroutines on the tier in force, in the same run: the redis_rate-style baseline
// of one EVALSHA round trip per decision (the same script, WithPipelining(0)),
// surge's default (concurrent decisions pipelined, one EVALSHA each) and
// WithBatchScript (one multi-key script call per pipeline and slot); it reports
// both ratios.
func BenchmarkRedisDecisions(b *testing.B) {
	rdb := redistest.Client(b)
	const workers, nkeys = 64, 1000
	ops, rounds := 300, 1 // miniredis: just prove the benchmark runs
	if redistest.Real() {
		ops, rounds = 1000, 6
	}
	keys := make([]string, nkeys)
	for i := range keys {
		keys[i] = "user:" + strconv.Itoa(i)
	}
	l := PerSecond(1000)
	pipelined, err := New(rdb, l, WithPrefix(redistest.Prefix(b)))
	if err != nil {
		b.Fatal(err)
	}
	single, _ := New(rdb, l, WithPrefix(redistest.Prefix(b)), WithPipelining(0))
	batched, _ := New(rdb, l, WithPrefix(redistest.Prefix(b)), WithBatchScript(true))
	run := func(lim *Limiter) time.Duration {
		return runParallel(workers, ops, func(i int) {
			if _, err := lim.Allow(bg, keys[i%nkeys]); err != nil {
				b.Error(err)
			}
		})
	}
	_ = run(single) // load the script and warm the connections
	_ = run(pipelined)
	_ = run(batched)
	// Alternate short rounds so that every side sees the same machine load.
	var ts, tp, tb time.Duration
	for i := 0; i < b.N; i++ {
		for r := 0; r < rounds; r++ {
			ts += run(single)
			tp += run(pipelined)
			tb += run(batched)
		}
	}
	n := float64(b.N * rounds * ops)
	st := pipelined.Stats()
	b.ReportMetric(n/ts.Seconds(), "evalsha-decisions/s")
	b.ReportMetric(n/tp.Seconds(), "pipelined-decisions/s")
	b.ReportMetric(n/tb.Seconds(), "batchscript-decisions/s")
	b.ReportMetric(float64(ts)/float64(tp), "pipelined-speedup")
	b.ReportMetric(float64(ts)/float64(tb), "batchscript-speedup")
	b.ReportMetric(float64(st.PipelinedCalls)/float64(max(st.Pipelines, 1)), "decisions/pipeline")
}

// serverCPU is the CPU time (user + sys) a Redis server has used, from INFO cpu.
func serverCPU(b *testing.B, rdb *redis.Client) time.Duration {
	info, err := rdb.Info(bg, "cpu").Result()
	if err != nil {
		b.Fatal(err)
	}
	var total float64
	for _, line := range strings.Split(info, "\r\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok && (k == "used_cpu_user" || k == "used_cpu_sys") {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				b.Fatal(err)
			}
			total += f
		}
	}
	return time.Duration(total * float64(time.Second))
}

// BenchmarkRedisServerCPU runs on a private redis-server that no other client
// shares: one EVALSHA per decision, surge's default pipelining, and
// WithBatchScript, in alternating rounds of the same run from 64 goroutines. It
// reports the server's CPU time per decision (INFO cpu, independent of how loaded
// the machine is), the ratios of decisions per server CPU second
// (*-efficiency) and of wall-clock decisions per second (*-wall-speedup).
// Skipped when redis-server is not installed.
func BenchmarkRedisServerCPU(b *testing.B) {
	srv := redistest.Server(b)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), PoolSize: 128})
	defer rdb.Close()
	const workers, nkeys = 64, 1000
	ops, rounds := 2000, 3
	keys := make([]string, nkeys)
	for i := range keys {
		keys[i] = "user:" + strconv.Itoa(i)
	}
	l := PerSecond(1000)
	single, _ := New(rdb, l, WithPipelining(0))
	pipelined, _ := New(rdb, l)
	batched, _ := New(rdb, l, WithBatchScript(true))
	var wall [3]time.Duration
	run := func(lim *Limiter, w int) time.Duration {
		before := serverCPU(b, rdb)
		wall[w] += runParallel(workers, ops, func(i int) {
			if _, err := lim.Allow(bg, keys[i%nkeys]); err != nil {
				b.Error(err)
			}
		})
		return serverCPU(b, rdb) - before
	}
	run(single, 0)
	run(pipelined, 1)
	run(batched, 2)
	wall = [3]time.Duration{}
	var cs, cp, cb time.Duration
	for i := 0; i < b.N; i++ {
		for r := 0; r < rounds; r++ {
			cs += run(single, 0)
			cp += run(pipelined, 1)
			cb += run(batched, 2)
		}
	}
	n := float64(b.N * rounds * ops)
	b.ReportMetric(float64(wall[0])/float64(wall[1]), "pipelined-wall-speedup")
	b.ReportMetric(float64(wall[0])/float64(wall[2]), "batchscript-wall-speedup")
	b.ReportMetric(float64(cs.Microseconds())/n, "evalsha-server-us/decision")
	b.ReportMetric(float64(cp.Microseconds())/n, "pipelined-server-us/decision")
	b.ReportMetric(float64(cb.Microseconds())/n, "batchscript-server-us/decision")
	b.ReportMetric(float64(cs)/float64(max(cp, 1)), "pipelined-efficiency")
	b.ReportMetric(float64(cs)/float64(max(cb, 1)), "batchscript-efficiency")
}
