package idempotency

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/surgekit/surge/internal/redistest"
)

// benchOps are the operations compared, each on a fresh key per call:
//
//	surge:     one full idempotent call (claim script, fn, complete script,
//	           heartbeat goroutine start/stop): two round trips
//	setnx:     SET key 1 NX PX — the plain "did anyone take this key": one round
//	           trip, no in-flight state, no stored result, no fingerprint
//	setnx+set: SET NX then SET of the result — the naive lock-and-store: two round trips
//	replay:    a duplicate answered from the store: one claim round trip
//
// The operations are interleaved in one loop (not run phase after phase) so that a
// noisy shared machine slows all of them alike; their mean latencies and ratios are
// reported with b.ReportMetric.
type benchOps struct {
	names []string
	ops   []func(i int64) error
	nanos []atomic.Int64
}

func newBenchOps(b *testing.B) *benchOps {
	ctx := context.Background()
	rdb := redistest.Client(b)
	s := newStoreOn(b, rdb)
	p := redistest.Prefix(b)
	payload := []byte(`{"order":123456,"status":"created"}`)
	fn := func(context.Context) ([]byte, error) { return payload, nil }
	replayKey := Key{Scope: "bench", ID: "replay"}
	if _, err := s.Do(ctx, replayKey, "fp", fn); err != nil {
		b.Fatal(err)
	}
	o := &benchOps{names: []string{"surge", "setnx", "setnx+set", "replay"}}
	o.ops = []func(int64) error{
		func(i int64) error {
			_, err := s.Do(ctx, Key{Scope: "bench", ID: strconv.FormatInt(i, 10)}, "fp", fn)
			return err
		},
		func(i int64) error {
			return rdb.SetNX(ctx, p+"{n"+strconv.FormatInt(i, 10)+"}", "1", time.Hour).Err()
		},
		func(i int64) error {
			k := p + "{s" + strconv.FormatInt(i, 10) + "}"
			if err := rdb.SetNX(ctx, k, "1", time.Hour).Err(); err != nil {
				return err
			}
			return rdb.Set(ctx, k+":r", payload, time.Hour).Err()
		},
		func(int64) error {
			_, err := s.Do(ctx, replayKey, "fp", fn)
			return err
		},
	}
	o.nanos = make([]atomic.Int64, len(o.ops))
	return o
}

func (o *benchOps) round(i int64) error {
	for j, op := range o.ops {
		start := time.Now()
		if err := op(i); err != nil {
			return err
		}
		o.nanos[j].Add(time.Since(start).Nanoseconds())
	}
	return nil
}

func (o *benchOps) report(b *testing.B) {
	ns := make([]float64, len(o.ops))
	for j := range o.ops {
		ns[j] = float64(o.nanos[j].Load()) / float64(b.N)
		b.ReportMetric(ns[j], o.names[j]+"-ns/op")
	}
	b.ReportMetric(ns[0]/ns[1], "surge/setnx")
	b.ReportMetric(ns[0]/ns[2], "surge/setnx+set")
}

// BenchmarkClaimComplete: one caller, interleaved (see benchOps).
func BenchmarkClaimComplete(b *testing.B) {
	o := newBenchOps(b)
	var seq int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		seq++
		if err := o.round(seq); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	o.report(b)
}

// BenchmarkClaimCompleteParallel: GOMAXPROCS×4 concurrent callers, interleaved; the
// per-op latencies include queueing on the shared client and server.
func BenchmarkClaimCompleteParallel(b *testing.B) {
	o := newBenchOps(b)
	var seq atomic.Int64
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := o.round(seq.Add(1)); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	o.report(b)
}
