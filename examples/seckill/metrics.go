package main

import (
	"net/http"
	"sort"

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
		"stock": s.inv.Stats(),
		"gate":  {"local_rejects": s.gate.hits.Load()},
		"ratelimit": {
			"allowed": s.limiter.allowed.Load(), "rejected": s.limiter.rejected.Load(),
		},
		"cache": {"hits": s.sales.hits.Load(), "misses": s.sales.misses.Load()},
		"persist": {
			"batches": s.persistBatches.Load(), "events": s.persistEvents.Load(), "errors": s.persistErrors.Load(),
		},
		"release": {
			"due": s.releasesDue.Load(), "released": s.releasesDone.Load(), "errors": s.releaseErrors.Load(),
		},
	}
}
