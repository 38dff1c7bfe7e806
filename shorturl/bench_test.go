package shorturl

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/surgekit/surge/internal/cputime"
	"github.com/surgekit/surge/internal/redistest"
)

// BenchmarkCodeGeneration measures codes per second from one goroutine (one
// core) with segment allocation, against the naive way: one INCR per code, in
// the same run. Each iteration is a batch of both, so -benchtime 1x is quick.
func BenchmarkCodeGeneration(b *testing.B) {
	perm, _ := NewPermutation([]byte("bench"), 8)
	for _, bc := range []struct {
		name string
		opts []Option
	}{{"sequential", nil}, {"permuted", []Option{WithPermutation(perm)}}} {
		b.Run(bc.name, func(b *testing.B) {
			rdb := redistest.Client(b)
			opts := append([]Option{WithPrefix(redistest.Prefix(b)), WithSegmentSize(1<<16, 1<<20, time.Second)}, bc.opts...)
			s, err := New(rdb, opts...)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			ctx := context.Background()
			if _, err := s.NextCode(ctx); err != nil { // first segment
				b.Fatal(err)
			}
			naiveKey := redistest.Prefix(b) + "naive"
			const surgeBatch, naiveBatch = 200_000, 200
			var surgeDur, surgeCPU, naiveDur time.Duration
			var sink int
			for b.Loop() {
				t0 := time.Now()
				surgeCPU += cputime.Thread(func() {
					for range surgeBatch {
						c, err := s.NextCode(ctx)
						if err != nil {
							b.Fatal(err)
						}
						sink += len(c)
					}
				})
				t1 := time.Now()
				for range naiveBatch {
					v, err := rdb.Incr(ctx, naiveKey).Result()
					if err != nil {
						b.Fatal(err)
					}
					sink += len(Encode(uint64(v)))
				}
				surgeDur += t1.Sub(t0)
				naiveDur += time.Since(t1)
			}
			surge := float64(b.N*surgeBatch) / surgeDur.Seconds()
			naive := float64(b.N*naiveBatch) / naiveDur.Seconds()
			b.ReportMetric(surge, "codes/s")
			// Per core: the same codes over the thread's CPU time (the machine may
			// be shared, and wall time then measures the scheduler).
			b.ReportMetric(float64(b.N*surgeBatch)/max(surgeCPU.Seconds(), 1e-9), "cpu-codes/s")
			b.ReportMetric(naive, "incr-codes/s")
			b.ReportMetric(surge/naive, "x-vs-incr")
			b.ReportMetric(float64(s.Stats().Allocator.Waits), "waits")
			_ = sink
		})
	}
}

// BenchmarkResolve compares a redirect through the Handler (validation, one
// GET, record parsing, in-memory click count, headers) with a bare GET.
func BenchmarkResolve(b *testing.B) {
	rdb := redistest.Client(b)
	s, err := New(rdb, WithPrefix(redistest.Prefix(b)))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	l, err := s.Shorten(ctx, "https://example.com/some/long/path?utm_source=bench")
	if err != nil {
		b.Fatal(err)
	}
	h, err := NewHandler(s)
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close()
	req := httptest.NewRequest("GET", "/"+l.Code, nil)
	key := s.linkKey(l.Code)
	const batch = 200
	var hDur, gDur time.Duration
	for b.Loop() {
		t0 := time.Now()
		for range batch {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != 302 {
				b.Fatal(w.Code)
			}
		}
		t1 := time.Now()
		for range batch {
			if err := rdb.Get(ctx, key).Err(); err != nil {
				b.Fatal(err)
			}
		}
		hDur += t1.Sub(t0)
		gDur += time.Since(t1)
	}
	n := float64(b.N * batch)
	b.ReportMetric(float64(hDur.Nanoseconds())/n, "handler-ns/op")
	b.ReportMetric(float64(gDur.Nanoseconds())/n, "get-ns/op")
	b.ReportMetric(float64(hDur)/float64(gDur), "handler/get")
}
