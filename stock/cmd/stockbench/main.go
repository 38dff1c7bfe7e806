// Command stockbench measures journaled stock deductions on a real Redis: one EVALSHA
// per request (the naive baseline every public seckill uses) against surge's combiner,
// in the same run, and prints ops/s, p50/p99 latency, Redis CPU µs per op and the ratio.
//
//	go run ./stock/cmd/stockbench -duration 5s -conc 512   # starts a private redis-server
//
// With -cluster it instead spreads a bucketed hot SKU over a Redis Cluster and prints
// each master's share of the script calls (evenness).
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/surgekit/surge/stock"
)

func main() {
	addr := flag.String("addr", "", "standalone Redis to use (never a production server); empty: start a private redis-server")
	dur := flag.Duration("duration", 5*time.Second, "time per mode")
	conc := flag.Int("conc", 512, "concurrent callers")
	batch := flag.Int("batch", 256, "combiner max batch")
	skus := flag.Int("skus", 1, "hot SKUs (groups) the callers spread over")
	cluster := flag.String("cluster", "", "comma-separated cluster seeds: measure bucket evenness instead")
	buckets := flag.Int("buckets", 12, "hot-SKU buckets (with -cluster)")
	flag.Parse()
	if *cluster != "" {
		evenness(strings.Split(*cluster, ","), *dur, *conc, *batch, *buckets)
		return
	}

	if *addr == "" {
		a, stop := spawn()
		defer stop()
		*addr = a
	}
	rdb := redis.NewClient(&redis.Options{Addr: *addr, PoolSize: *conc + 16})
	defer rdb.Close()
	ctx := context.Background()
	if err := rdb.Ping(ctx).Err(); err != nil {
		log.Fatal(err)
	}
	prefix := "stockbench:" + strconv.FormatInt(time.Now().UnixNano(), 36) + ":"
	defer cleanup(rdb, prefix)

	fmt.Printf("redis %s\n", *addr)
	naive := run(ctx, rdb, prefix+"n:", *dur, *conc, *skus, 0)
	comb := run(ctx, rdb, prefix+"c:", *dur, *conc, *skus, *batch)
	fmt.Printf("%-10s %12s %10s %10s %13s %13s %10s\n", "mode", "ops/s", "p50", "p99", "cpu µs/op", "script µs/op", "avg batch")
	for _, r := range []result{naive, comb} {
		fmt.Printf("%-10s %12.0f %10v %10v %13.2f %13.2f %10.1f\n", r.name, r.opsPerSec, r.p50, r.p99, r.cpuPerOp, r.scriptPerOp, r.avgBatch)
	}
	fmt.Printf("ratio combined/naive: %.1fx (conc %d, batch %d, skus %d, %s each)\n",
		comb.opsPerSec/naive.opsPerSec, *conc, *batch, *skus, *dur)
}

type result struct {
	name                             string
	opsPerSec, cpuPerOp, scriptPerOp float64
	p50, p99                         time.Duration
	avgBatch                         float64
}

func run(ctx context.Context, rdb *redis.Client, prefix string, dur time.Duration, conc, skus, batch int) result {
	opts := []stock.Option{stock.WithPrefix(prefix)}
	name := "naive"
	if batch > 0 {
		opts = append(opts, stock.WithCombiner(batch, 10*time.Second))
		name = "combined"
	}
	s, err := stock.New(rdb, opts...)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	for i := range skus {
		if _, err := s.Load(ctx, "load", "hot"+strconv.Itoa(i), 1<<40, stock.SKUConfig{}); err != nil {
			log.Fatal(err)
		}
	}
	cpu0, us0 := serverCPU(ctx, rdb), scriptUsec(ctx, rdb)
	var ops atomic.Int64
	lat := make([][]time.Duration, conc)
	deadline := time.Now().Add(dur)
	start := time.Now()
	var wg sync.WaitGroup
	for g := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sku := "hot" + strconv.Itoa(g%skus)
			for i := 0; time.Now().Before(deadline); i++ {
				t0 := time.Now()
				_, err := s.Deduct(ctx, stock.Op{ID: strconv.Itoa(g) + "-" + strconv.Itoa(i),
					Items: []stock.Item{{SKU: sku, Qty: 1}}})
				if err != nil {
					log.Fatal(err)
				}
				lat[g] = append(lat[g], time.Since(t0))
				ops.Add(1)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu1, us1 := serverCPU(ctx, rdb), scriptUsec(ctx, rdb)
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	slices.Sort(all)
	st := s.Stats()
	n := float64(ops.Load())
	return result{
		name: name, opsPerSec: n / elapsed.Seconds(), cpuPerOp: (cpu1 - cpu0) * 1e6 / n,
		scriptPerOp: float64(us1-us0) / n,
		p50:         all[len(all)/2].Round(time.Microsecond), p99: all[len(all)*99/100].Round(time.Microsecond),
		avgBatch: float64(st.BatchedOps) / float64(st.ScriptCalls),
	}
}

// serverCPU is the Redis server's user+sys CPU seconds (INFO cpu).
func serverCPU(ctx context.Context, rdb *redis.Client) float64 {
	info, err := rdb.Info(ctx, "cpu").Result()
	if err != nil {
		log.Fatal(err)
	}
	var total float64
	for _, line := range strings.Split(info, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if ok && (k == "used_cpu_sys" || k == "used_cpu_user") {
			f, _ := strconv.ParseFloat(v, 64)
			total += f
		}
	}
	return total
}

func cleanup(rdb *redis.Client, prefix string) {
	ctx := context.Background()
	iter := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	for iter.Next(ctx) {
		rdb.Unlink(ctx, iter.Val())
	}
	if err := iter.Err(); err != nil {
		fmt.Fprintln(os.Stderr, "cleanup:", err)
	}
}

// evenness deducts a bucketed hot SKU on a cluster and prints each master's share of
// the stock script calls (INFO commandstats deltas) and max/mean.
func evenness(addrs []string, dur time.Duration, conc, batch, buckets int) {
	ctx := context.Background()
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, PoolSize: conc + 16})
	defer rdb.Close()
	if err := rdb.Ping(ctx).Err(); err != nil {
		log.Fatal(err)
	}
	prefix := "stockbench:" + strconv.FormatInt(time.Now().UnixNano(), 36) + ":"
	defer func() {
		_ = rdb.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
			cleanup(m, prefix)
			return nil
		})
	}()
	s, err := stock.New(rdb, stock.WithPrefix(prefix), stock.WithCombiner(batch, 10*time.Second))
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	h, err := s.Hot("hot", buckets)
	if err != nil {
		log.Fatal(err)
	}
	if err := h.Load(ctx, "load", 1<<40, stock.SKUConfig{}); err != nil {
		log.Fatal(err)
	}
	before := scriptCalls(ctx, rdb)
	var ops atomic.Int64
	deadline := time.Now().Add(dur)
	start := time.Now()
	var wg sync.WaitGroup
	for g := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; time.Now().Before(deadline); i++ {
				_, err := h.Deduct(ctx, stock.Op{ID: strconv.Itoa(g) + "-" + strconv.Itoa(i),
					Items: []stock.Item{{SKU: "hot", Qty: 1}}})
				if err != nil {
					log.Fatal(err)
				}
				ops.Add(1)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	after := scriptCalls(ctx, rdb)
	sum, per, err := h.Levels(ctx)
	if err != nil {
		log.Fatal(err)
	}
	var total, max float64
	var addrsSeen []string
	for a := range after {
		addrsSeen = append(addrsSeen, a)
	}
	slices.Sort(addrsSeen)
	for _, a := range addrsSeen {
		d := float64(after[a] - before[a])
		total += d
		if d > max {
			max = d
		}
	}
	fmt.Printf("%d ops in %v (%.0f ops/s), %d buckets, sold %d\n", ops.Load(), elapsed.Round(time.Millisecond),
		float64(ops.Load())/elapsed.Seconds(), buckets, sum.Sold)
	fmt.Printf("%-18s %12s %8s\n", "master", "script calls", "share")
	for _, a := range addrsSeen {
		d := float64(after[a] - before[a])
		fmt.Printf("%-18s %12.0f %7.1f%%\n", a, d, 100*d/total)
	}
	mean := total / float64(len(addrsSeen))
	fmt.Printf("max/mean (script calls, includes any other traffic on the cluster) = %.3f\n", max/mean)
	// Exact attribution: units sold per bucket, summed per master owning its slot.
	byMaster := map[string]int64{}
	for i, l := range per {
		m, err := rdb.MasterForKey(ctx, "{"+h.Bucket(i)+"}")
		if err != nil {
			log.Fatal(err)
		}
		byMaster[m.Options().Addr] += l.Sold
	}
	var smaxM int64
	for _, a := range addrsSeen {
		fmt.Printf("%-18s %12d units sold %7.1f%%\n", a, byMaster[a], 100*float64(byMaster[a])/float64(sum.Sold))
		smaxM = max64(smaxM, byMaster[a])
	}
	fmt.Printf("max/mean (units sold per master) = %.3f\n", float64(smaxM)/(float64(sum.Sold)/float64(len(addrsSeen))))
	var smin, smax int64 = 1 << 62, 0
	for _, l := range per {
		smin, smax = min(smin, l.Sold), max64(smax, l.Sold)
	}
	fmt.Printf("sold per bucket: min %d max %d\n", smin, smax)
}

func max64(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}

// scriptCalls returns, per master address, the EVAL+EVALSHA calls so far.
func scriptCalls(ctx context.Context, rdb *redis.ClusterClient) map[string]int64 {
	var mu sync.Mutex
	out := map[string]int64{}
	err := rdb.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
		info, err := m.Info(ctx, "commandstats").Result()
		if err != nil {
			return err
		}
		var n int64
		for _, line := range strings.Split(info, "\n") {
			line = strings.TrimSpace(line)
			if strings.HasPrefix(line, "cmdstat_evalsha:") || strings.HasPrefix(line, "cmdstat_eval:") {
				_, rest, _ := strings.Cut(line, "calls=")
				v, _, _ := strings.Cut(rest, ",")
				c, _ := strconv.ParseInt(v, 10, 64)
				n += c
			}
		}
		mu.Lock()
		out[m.Options().Addr] = n
		mu.Unlock()
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
	return out
}

// scriptUsec is the total time Redis spent in EVAL/EVALSHA (INFO commandstats usec).
func scriptUsec(ctx context.Context, rdb *redis.Client) int64 {
	info, err := rdb.Info(ctx, "commandstats").Result()
	if err != nil {
		log.Fatal(err)
	}
	var n int64
	for _, line := range strings.Split(info, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "cmdstat_evalsha:") || strings.HasPrefix(line, "cmdstat_eval:") {
			_, rest, _ := strings.Cut(line, "usec=")
			v, _, _ := strings.Cut(rest, ",")
			c, _ := strconv.ParseInt(v, 10, 64)
			n += c
		}
	}
	return n
}

// spawn starts a private redis-server (no persistence, noeviction) on a free port so
// that the CPU numbers are this benchmark's alone.
func spawn() (string, func()) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	dir, err := os.MkdirTemp("", "stockbench")
	if err != nil {
		log.Fatal(err)
	}
	cmd := exec.Command("redis-server", "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", dir, "--maxmemory-policy", "noeviction")
	if err := cmd.Start(); err != nil {
		log.Fatalf("start redis-server (or pass -addr): %v", err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	for i := 0; c.Ping(context.Background()).Err() != nil; i++ {
		if i > 200 {
			log.Fatal("redis-server did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return addr, func() { _ = cmd.Process.Kill(); _ = cmd.Wait(); _ = os.RemoveAll(dir) }
}
