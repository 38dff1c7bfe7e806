package main

import (
	"net/http"
	"sort"

	"github.com/surgekit/surge/batcher"
	"github.com/surgekit/surge/idempotency"
	"github.com/surgekit/surge/ratelimit"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics is the service's private Prometheus registry (no global state): HTTP
// counters and latency, buy outcomes, and every component's Stats() snapshot
// exported at scrape time by statsCollector.
type metrics struct {
	reg       *prometheus.Registry
	requests  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	buys      *prometheus.CounterVec
	batchSize prometheus.Histogram
}

func newMetrics(s *Service) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "seckill_http_requests_total", Help: "HTTP requests by route and status code.",
		}, []string{"route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "seckill_http_request_seconds", Help: "HTTP request latency by route.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route"}),
		buys: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "seckill_buy_total", Help: "Buy attempts by result (accepted, duplicate or a rejection reason).",
		}, []string{"result"}),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "seckill_persist_batch_events", Help: "Outbox events per SQL transaction.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 11),
		}),
	}
	m.reg.MustRegister(m.requests, m.latency, m.buys, m.batchSize,
		collectors.NewGoCollector(), &statsCollector{s: s})
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// statsCollector turns component snapshots into seckill_component_stat{component,stat}.
type statsCollector struct{ s *Service }

var statDesc = prometheus.NewDesc("seckill_component_stat",
	"Stats() snapshot of each surge component used by the service.", []string{"component", "stat"}, nil)

func (c *statsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- statDesc }

func (c *statsCollector) Collect(ch chan<- prometheus.Metric) {
	for comp, stats := range c.s.Stats() {
		keys := make([]string, 0, len(stats))
		for k := range stats {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			ch <- prometheus.MustNewConstMetric(statDesc, prometheus.UntypedValue, float64(stats[k]), comp, k)
		}
	}
}

// Stats gathers every component's snapshot, keyed by component.
func (s *Service) Stats() map[string]map[string]int64 {
	return map[string]map[string]int64{
		"stock":       s.inv.Stats(),
		"ratelimit":   rateStats(s.limiterStats()),
		"idempotency": idemStats(s.idem.Stats()),
		"batcher":     batchStats(s.orders.Stats()),
		"cache":       cacheStats(s.sales),
		"persist": {
			"batches": s.persistBatches.Load(), "events": s.persistEvents.Load(), "errors": s.persistErrors.Load(),
		},
		"release": {
			"due": s.releasesDue.Load(), "released": s.releasesDone.Load(), "errors": s.releaseErrors.Load(),
		},
	}
}

func rateStats(r ratelimit.Stats) map[string]int64 {
	fb := int64(0)
	if r.Fallback {
		fb = 1
	}
	return map[string]int64{
		"allowed": int64(r.Allowed), "limited": int64(r.Limited), "errors": int64(r.Errors),
		"keys": int64(r.Keys), "evictions": int64(r.Evictions), "overflows": int64(r.Overflows),
		"fallback": fb, "fallback_switches": int64(r.FallbackSwitches),
	}
}

func idemStats(i idempotency.Stats) map[string]int64 {
	return map[string]int64{
		"claims": i.Claims, "takeovers": i.Takeovers, "replays": i.Replays, "in_progress": i.InProgress,
		"mismatches": i.Mismatches, "waits": i.Waits, "stored": i.Stored, "stored_failures": i.StoredFailures,
		"released": i.Released, "lease_lost": i.LeaseLost, "tokens_issued": i.TokensIssued,
		"tokens_unknown": i.TokensUnknown, "redis_errors": i.RedisErrors,
	}
}

func batchStats(b batcher.Stats) map[string]int64 {
	return map[string]int64{
		"added": int64(b.Added), "rejected": int64(b.Rejected), "delivered": int64(b.Delivered),
		"failed": int64(b.Failed), "batches": int64(b.Batches), "failed_batches": int64(b.FailedBatches),
		"retries": int64(b.Retries), "panics": int64(b.Panics), "queue_depth": int64(b.QueueDepth),
		"flush_latency_max_us":  b.FlushLatencyMax.Microseconds(),
		"flush_latency_mean_us": b.FlushLatencyMean.Microseconds(),
	}
}

func cacheStats(c *saleCache) map[string]int64 {
	l2 := c.l2.Stats()
	return map[string]int64{
		"local_hits": c.hits.Load(), "local_misses": c.misses.Load(),
		"hits": l2.Hits, "misses": l2.Misses, "loads": l2.Loads, "shared_loads": l2.SharedLoads,
		"not_found_hits": l2.NotFoundHits, "fills": l2.Fills, "fills_refused": l2.FillsRefused,
		"leases_granted": l2.LeasesGranted, "invalidations": l2.Invalidations, "errors": l2.Errors,
	}
}
