package main

import (
	"context"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// naive is the baseline every tutorial writes: GET the stock, DECR it if positive,
// INSERT the order row, all inside the request. It is mounted only in -demo mode,
// where it is measured against the surge pipeline in the same run. It oversells
// (GET and DECR are not atomic together) and pays a database write per request.
type naive struct {
	rdb      redis.UniversalClient
	store    *Store
	prefix   string
	accepted atomic.Int64
	seq      atomic.Int64
}

func newNaive(rdb redis.UniversalClient, store *Store, prefix string) *naive {
	return &naive{rdb: rdb, store: store, prefix: prefix}
}

func (n *naive) key(sale string) string { return n.prefix + "naive:{" + sale + "}:stock" }

func (n *naive) load(ctx context.Context, sale string, qty int64) error {
	return n.rdb.Set(ctx, n.key(sale), qty, 0).Err()
}

func (n *naive) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	sale, user := r.PathValue("id"), r.Header.Get("X-User-ID")
	left, err := n.rdb.Get(ctx, n.key(sale)).Int64()
	if err != nil {
		writeErr(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	if left <= 0 {
		writeErr(w, http.StatusGone, "sold_out")
		return
	}
	if err := n.rdb.Decr(ctx, n.key(sale)).Err(); err != nil {
		writeErr(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	id := sale + "." + randHex(12)
	err = n.store.Persist(ctx, []Event{{Type: "reserve", Sale: "naive-" + sale, Op: id, User: user, Qty: 1, At: time.Now()}})
	if err != nil {
		writeErr(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	n.accepted.Add(1)
	writeJSON(w, http.StatusAccepted, BuyResult{OrderID: id, Status: "pending"})
}
