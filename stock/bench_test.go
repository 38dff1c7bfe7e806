package stock

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"
)

// BenchmarkCombinedVsNaive measures journaled deductions on one hot SKU from many
// goroutines: one EVALSHA per request (the naive baseline) against the combiner, in
// the same run, and reports both throughputs and their ratio. Each b.N iteration is
// 2000 deductions per mode by 200 goroutines. For longer runs with latency and Redis
// CPU per op, use ./stock/cmd/stockbench.
func BenchmarkCombinedVsNaive(b *testing.B) {
	ctx := context.Background()
	naive, _ := newStock(b)
	comb, _ := newStock(b, WithCombiner(256, 10*time.Second))
	for _, s := range []*Stock{naive, comb} {
		if _, err := s.Load(ctx, "load", "hot", 1<<40, SKUConfig{}); err != nil {
			b.Fatal(err)
		}
	}
	const workers, per = 200, 10
	run := func(s *Stock, round int) time.Duration {
		start := time.Now()
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range per {
					id := strconv.Itoa(round) + "-" + strconv.Itoa(w) + "-" + strconv.Itoa(i)
					if _, err := s.Deduct(ctx, one(id, "", "hot", 1)); err != nil {
						b.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		return time.Since(start)
	}
	var tn, tc time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tn += run(naive, i)
		tc += run(comb, i)
	}
	ops := float64(b.N * workers * per)
	b.ReportMetric(ops/tn.Seconds(), "naive-ops/s")
	b.ReportMetric(ops/tc.Seconds(), "combined-ops/s")
	b.ReportMetric(tn.Seconds()/tc.Seconds(), "ratio")
	st := comb.Stats()
	b.ReportMetric(float64(st.BatchedOps)/float64(st.ScriptCalls), "avg-batch")
}
