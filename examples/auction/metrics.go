package main

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics is the service's private Prometheus registry (no global state).
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	bids     *prometheus.CounterVec
	closed   prometheus.Counter
}

func newMetrics(s *Service) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "auction_http_requests_total", Help: "HTTP requests by route and status code.",
		}, []string{"route", "code"}),
		bids: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "auction_bids_total", Help: "Bids by result (accepted, too_low, closed, not_found, replayed, rate_limited, error).",
		}, []string{"result"}),
		closed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "auction_closed_total", Help: "Auctions closed by this instance.",
		}),
	}
	gauge := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f)
	}
	m.reg.MustRegister(m.requests, m.bids, m.closed, collectors.NewGoCollector(),
		gauge("auction_sse_streams", "Open Server-Sent Events streams.", func() float64 { return float64(s.hub.n.Load()) }),
		gauge("auction_cache_hits", "cache.Stats().Hits", func() float64 { return float64(s.cache.Stats().Hits) }),
		gauge("auction_cache_loads", "cache.Stats().Loads (SQL reads by the cache)", func() float64 { return float64(s.cache.Stats().Loads) }),
		gauge("auction_cache_invalidations", "cache.Stats().Invalidations", func() float64 { return float64(s.cache.Stats().Invalidations) }),
		gauge("auction_lock_acquired", "lock.Stats().Acquired", func() float64 { return float64(s.locks.Stats().Acquired) }),
		gauge("auction_lock_contended", "lock.Stats().Contended", func() float64 { return float64(s.locks.Stats().Contended) }),
		gauge("auction_lock_lost", "lock.Stats().Lost", func() float64 { return float64(s.locks.Stats().Lost) }),
	)
	return m
}

func (m *metrics) handler() http.Handler { return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}) }
